/**
 * The one way the census learns a file's metadata: `fileMetadata(spec, key)`. It reads the file's
 * first bytes to tell its format, hands the file to that format's reader (which reads metadata
 * only), and makes the census's view from the references the reader produces. A new format (the
 * netCDF-3 reader in lib/netcdf3) joins by replacing its entry in `readers`.
 */
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { UnsupportedFeatureError } from "../errors.js";
import { translateHdf5 } from "../refs/translate.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
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

/** Tried in order; the last takes what no other recognises, and says so in its own error when it is not its format. */
const readers: FormatReader[] = [
  // netCDF-3 ("CDF" then 1, 2 or 5): recognised, so the error says what is missing rather than "not HDF5".
  {
    recognises: (head) => startsWith(head, [0x43, 0x44, 0x46]) && [1, 2, 5].includes(head[3] ?? 0),
    refs: (source, url) => Promise.reject(new UnsupportedFeatureError(url, "(the whole file)", "netCDF-3 (classic) format: the census has no reader for it yet")),
  },
  // netCDF-4 is HDF5 (the HDF5 reader finds a superblock after a user block too). Inline
  // threshold 0: a census reads no chunk.
  {
    recognises: () => true,
    refs: async (source, url) => (await translateHdf5(source, { inlineThreshold: 0, url })).refs,
  },
];

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
    const reader = readers.find((r) => r.recognises(head))!;
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
