/**
 * The one way the census learns a file's metadata: `fileMetadata(spec, key)`. The file goes to
 * `translateFile`, which tells its format by its first bytes and hands it to that format's reader
 * (HDF5/netCDF-4 or netCDF-3, metadata only: inline threshold 0, so no chunk is read), and the
 * census's view is made from the references the reader produces.
 */
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { arrayMetadata } from "../model/arrayMetadata.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import { referenceSetOf } from "../model/referenceSet.js";
import { BlockCache } from "../source/blockCache.js";
import { referenceUrl } from "../source/localFile.js";
import { translateFile } from "../translateFile.js";
import { metadataOfRefs, type FileMetadata } from "./signature.js";
import type { ReadCounts } from "./model/types.js";

export interface FileMetadataResult {
  metadata: FileMetadata;
  counts: ReadCounts;
}

/**
 * Whether every variable along a concat dimension has chunk references at every step of it. Not
 * so where the combine held a union (drift "split": a variable absent from some of the day's files
 * has no references there), and then the day output does not stand for each of its files. (A
 * file with every chunk of a step unwritten looks the same: its day's files are read, which costs
 * reads, never a wrong era.)
 */
function everyStepReferenced(refs: KerchunkRefs, concatDims: readonly string[]): boolean {
  for (const entry of referenceSetOf(refs, "").arrays.values()) {
    if (concatDims.includes(entry.path)) continue;
    const { zarray, dimensionNames } = arrayMetadata(entry);
    const leaf = entry.path.length + 1;
    for (const dim of concatDims) {
      const axis = dimensionNames?.indexOf(dim) ?? -1;
      if (axis < 0) continue;
      const steps = new Set(entry.chunkKeys.map((key) => key.slice(leaf).split(".")[axis]));
      if (steps.size < Math.ceil(zarray.shape[axis]! / zarray.chunks[axis]!)) return false;
    }
  }
  return true;
}

/** One source file's metadata, and what reading it cost. Errors name the file. */
export async function fileMetadata(spec: ResolvedDatasetSpec, key: string): Promise<FileMetadataResult> {
  const storage = openStorage(spec.source.storage);
  const url = referenceUrl(storage.url(key));
  const origin = storage.source(key);
  try {
    const { refs } = await translateFile(new BlockCache(origin), { inlineThreshold: 0, url });
    const stats = origin.stats ?? { requests: 0, bytes: 0 };
    return { metadata: metadataOfRefs(refs, spec.combine, url), counts: { filesRead: 1, outputsRead: 0, bytesRead: stats.bytes, requests: stats.requests } };
  } finally {
    await origin.close?.();
    await storage.close();
  }
}

/**
 * A day's backfill output read instead of its files: the combine wrote it only if every file of the
 * day had the same arrays, dtypes, shapes apart from time, chunks, codecs, fill values and
 * decoding attributes (lib/combine/layout.ts), so its metadata is every file's. (Variables without
 * a time axis that are not `identicalDims`, like `crs`, are carried from the day's first file
 * unchecked: a change of those inside such a day is not seen.) A day whose output holds a union
 * of variables (`standsForFiles` false) is read file by file.
 */
export async function dayOutputMetadata(spec: ResolvedDatasetSpec, outputKey: string): Promise<FileMetadataResult & { standsForFiles: boolean }> {
  const storage = openStorage(spec.output.storage);
  try {
    const bytes = await storage.read(outputKey);
    const refs = JSON.parse(new TextDecoder().decode(bytes)) as KerchunkRefs;
    return {
      metadata: metadataOfRefs(refs, spec.combine, storage.url(outputKey)),
      counts: { filesRead: 0, outputsRead: 1, bytesRead: bytes.length, requests: 1 },
      standsForFiles: everyStepReferenced(refs, spec.combine.concatDims),
    };
  } finally {
    await storage.close();
  }
}
