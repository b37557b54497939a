/**
 * The one way the census learns a file's metadata: `fileMetadata(spec, key)`. The file goes to
 * `translateFile`, which tells its format by its first bytes and hands it to that format's reader
 * (HDF5/netCDF-4 or netCDF-3, metadata only: inline threshold 0, so no chunk is read), and the
 * census's view is made from the references the reader produces.
 */
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import { BlockCache } from "../source/blockCache.js";
import { referenceUrl } from "../source/localFile.js";
import { translateFile } from "../translateFile.js";
import { metadataOfRefs, type FileMetadata } from "./signature.js";
import type { ReadCounts } from "./model/types.js";

export interface FileMetadataResult {
  metadata: FileMetadata;
  counts: ReadCounts;
}

/** One source file's metadata, and what reading it cost. Errors name the file. */
export async function fileMetadata(spec: ResolvedDatasetSpec, key: string): Promise<FileMetadataResult> {
  const storage = openStorage(spec.source.storage);
  const url = referenceUrl(storage.url(key));
  const origin = storage.source(key);
  try {
    const { refs } = await translateFile(new BlockCache(origin), { inlineThreshold: 0, url });
    const stats = origin.stats ?? { requests: 0, bytes: 0 };
    return { metadata: metadataOfRefs(refs, spec.combine.concatDims, url), counts: { filesRead: 1, outputsRead: 0, bytesRead: stats.bytes, requests: stats.requests } };
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
 * unchecked: a change of those inside such a day is not seen.)
 */
export async function dayOutputMetadata(spec: ResolvedDatasetSpec, outputKey: string): Promise<FileMetadataResult> {
  const storage = openStorage(spec.output.storage);
  try {
    const bytes = await storage.read(outputKey);
    const refs = JSON.parse(new TextDecoder().decode(bytes)) as KerchunkRefs;
    return {
      metadata: metadataOfRefs(refs, spec.combine.concatDims, storage.url(outputKey)),
      counts: { filesRead: 0, outputsRead: 1, bytesRead: bytes.length, requests: 1 },
    };
  } finally {
    await storage.close();
  }
}
