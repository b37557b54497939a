/**
 * The one way the census learns a file's metadata: `fileMetadata(spec, key)`. It reads the file's
 * first bytes to tell its format, hands the file to that format's reader (which reads metadata
 * only), and makes the census's view from the references the reader produces. A new format (the
 * netCDF-3 reader in lib/netcdf3) joins by adding one entry to `readers`.
 */
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { UnsupportedFeatureError } from "../errors.js";
import { translateHdf5 } from "../refs/translate.js";
import type { KerchunkRefs } from "../refs/types.js";
import { BlockCache } from "../source/blockCache.js";
import type { ByteSource } from "../source/byteSource.js";
import { referenceUrl } from "../source/localFile.js";
import { metadataOfRefs, type FileMetadata } from "./signature.js";
import type { ReadCounts } from "./model/types.js";

/** A format reader: a file's references (metadata only; chunk data is never needed here). */
interface FormatReader {
  /** True when the file's first bytes are this format's. */
  recognises(head: Uint8Array): boolean;
  refs(source: ByteSource, url: string): Promise<KerchunkRefs>;
}

const startsWith = (head: Uint8Array, magic: number[]): boolean => magic.every((byte, i) => head[i] === byte);

const readers: Record<string, FormatReader> = {
  // netCDF-4 files are HDF5 with the superblock at 0. Inline threshold 0: no chunk is read for a census.
  hdf5: {
    recognises: (head) => startsWith(head, [0x89, 0x48, 0x44, 0x46]),
    refs: async (source, url) => (await translateHdf5(source, { inlineThreshold: 0, url })).refs,
  },
};

/** netCDF-3 ("CDF\x01", "\x02", "\x05"): recognised, so the error says what is missing rather than "not HDF5". */
const isNetcdf3 = (head: Uint8Array): boolean => startsWith(head, [0x43, 0x44, 0x46]) && [1, 2, 5].includes(head[3] ?? 0);

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
    const cached = new BlockCache(origin);
    const size = await cached.size();
    const head = await cached.read(0, Math.min(8, size));
    const reader = Object.values(readers).find((r) => r.recognises(head));
    if (!reader) {
      const what = isNetcdf3(head) ? "netCDF-3 (classic) file: no census reader for it yet" : "file format (neither HDF5/netCDF-4 nor netCDF-3)";
      throw new UnsupportedFeatureError(url, "(file)", what);
    }
    const refs = await reader.refs(cached, url);
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
