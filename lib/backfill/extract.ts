import { arraysReadByCombine } from "../combine/coordinates.js";
import { boundedAll } from "../concurrency.js";
import { Hdf5FormatError } from "../errors.js";
import type { ByteSource } from "../source/byteSource.js";
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { firstRangeOffset, type KerchunkRefs } from "../model/kerchunkRefs.js";
import { BlockCache } from "../source/blockCache.js";
import { LayoutHints } from "../source/layoutHints.js";
import { referenceUrl } from "../source/localFile.js";
import { translateFile } from "../translateFile.js";
import type { ExtractSummary } from "./model/steps.js";
import { stagingFolder, stagingKey } from "./names.js";
import { serializeStaged } from "./staged.js";

/**
 * Every byte range must lie inside the source object: a reference past the end (a truncated or
 * replaced file) would read garbage or fail later, far from the cause.
 */
export function checkRangesWithin(refs: KerchunkRefs, url: string, size: number): void {
  for (const key in refs.refs) {
    const value = refs.refs[key];
    if (Array.isArray(value) && value.length === 3 && value[0] === url && value[1] + value[2] > size) {
      throw new Hdf5FormatError(url, `chunk ${key}`, `references bytes ${value[1]}..${value[1] + value[2]} past the end of the object (${size} bytes)`);
    }
  }
}

/**
 * The most chunk bytes a staged file carries: a few coordinate chunks (a time value, latitudes
 * and longitudes: 6.5 kB in the Himawari-like month, 112 kB in a file of the real product's
 * 9000 x 18000 grid; a 0.02-degree global grid's in float64 would be 216 kB). Beyond it the
 * combine reads them from the source, as without carrying: two or three more requests a file.
 */
const MAX_CARRIED_BYTES = 256 * 1024;

/**
 * The stored bytes of the chunks of `arrays` (the ones the day's combine reads from every file),
 * read through the extraction's cache, which usually holds them already (they sit among the
 * metadata the translation read, or in the ranges the previous file taught): nothing, or one
 * more read of this round. By chunk key; none when they add up to more than MAX_CARRIED_BYTES.
 */
async function chunkBytesOf(source: ByteSource, refs: KerchunkRefs, url: string, arrays: readonly string[]): Promise<Map<string, Uint8Array>> {
  const wanted: [string, number, number][] = [];
  let total = 0;
  if (arrays.length === 0) return new Map();
  const ofArrays = (key: string, slash: number): boolean => {
    for (let i = 0; i < arrays.length; i++) if (arrays[i]!.length === slash && key.startsWith(arrays[i]!)) return true;
    return false;
  };
  for (const key in refs.refs) {
    // A chunk of one of `arrays`: "<name>/<leaf>", the leaf not metadata (".zarray").
    const slash = key.lastIndexOf("/");
    if (slash < 0 || key.charCodeAt(slash + 1) === 46 || !ofArrays(key, slash)) continue;
    const value = refs.refs[key];
    if (!Array.isArray(value) || value.length !== 3 || value[0] !== url) continue;
    total += value[2];
    if (total > MAX_CARRIED_BYTES) return new Map();
    wanted.push([key, value[1], value[2]]);
  }
  // Usually all in the cache already: taken at once, without a promise each. (A loop rather than
  // array builtins: docs/benchmarks.md, "Deoptimizations".)
  const now = new Map<string, Uint8Array>();
  for (const [key, offset, length] of wanted) {
    const bytes = source.readNow?.(offset, length);
    if (bytes === undefined) break;
    now.set(key, bytes);
  }
  if (now.size === wanted.length) return now;
  return new Map(await Promise.all(wanted.map(async ([key, offset, length]) => [key, now.get(key) ?? (await source.read(offset, length))] as const)));
}

/**
 * Where the previous file of each dataset needed metadata, for this process (a worker): the next
 * file's first round of reads fetches those ranges beside its head (lib/source/layoutHints.ts).
 */
const layoutHints = new LayoutHints();
/** The head a file read with a layout hint starts from: one block (the superblock and root group's start). */
export const HINTED_HEAD_SIZE = 8 * 1024;

/**
 * The staged references of a day, in one listing (one request on S3): where one step extracts
 * several files of a day, it asks once which an earlier attempt staged, not once per file (a HEAD
 * each, a round trip before the file's first read).
 */
async function stagedKeys(spec: ResolvedDatasetSpec, dayId: string): Promise<ReadonlySet<string>> {
  const outputStorage = openStorage(spec.output.storage);
  try {
    const keys = new Set<string>();
    for await (const object of outputStorage.list(`${stagingFolder(spec, dayId)}/`)) keys.add(object.key);
    return keys;
  } finally {
    await outputStorage.close();
  }
}

/** How one file's extraction is run by `extractDayFiles`: `extract` does it; the wrapper may time or report it. */
export type AroundExtraction = (sourceKey: string, extract: () => Promise<ExtractSummary>) => Promise<ExtractSummary>;

/**
 * Extract several files of a day, `atOnce` at a time, the staged ones reused: how every step that
 * extracts more than one file goes (an extraction activity, a batch of small days, `backfillDirect`).
 * The day's staging is listed once first (`stagedKeys`). Summaries come in the order of `sourceKeys`.
 */
export async function extractDayFiles(
  spec: ResolvedDatasetSpec,
  dayId: string,
  sourceKeys: readonly string[],
  atOnce: number,
  options: { signal?: AbortSignal; around?: AroundExtraction } = {},
): Promise<ExtractSummary[]> {
  const { signal, around = (_key, extract) => extract() } = options;
  const staged = await stagedKeys(spec, dayId);
  return boundedAll(sourceKeys, atOnce, (key) => around(key, () => extractToStaging(spec, dayId, key, { signal, staged })));
}

export interface ExtractOptions {
  /** Aborted when the activity is cancelled: stops the extraction before the translation and before the write. */
  signal?: AbortSignal;
  /** The day's staged keys, listed once by `extractDayFiles`; without it, the file's own key is looked up. */
  staged?: ReadonlySet<string>;
}

/**
 * Translate one source file and stage its references. Idempotent: when the staged refs exist
 * (an earlier attempt finished), nothing is read again.
 */
export async function extractToStaging(spec: ResolvedDatasetSpec, dayId: string, sourceKey: string, options: ExtractOptions = {}): Promise<ExtractSummary> {
  const { signal } = options;
  const sourceStorage = openStorage(spec.source.storage);
  const outputStorage = openStorage(spec.output.storage);
  const staged = stagingKey(spec, dayId, sourceKey);
  const url = referenceUrl(sourceStorage.url(sourceKey));
  try {
    if (options.staged ? options.staged.has(staged) : await outputStorage.exists(staged)) {
      return { source: url, staged, reused: true, chunks: 0, requests: 0, bytesRead: 0, skippedVariables: [] };
    }
    signal?.throwIfAborted();
    const origin = sourceStorage.source(sourceKey);
    // With a hint, the first round reads the first block and the hinted ranges only (not the
    // default 256 KiB head): less to receive, copy and collect for a file that needs 50 KB.
    const hint = layoutHints.get(spec.name);
    const cached = new BlockCache(origin, hint.length > 0 ? { prefetch: hint, headSize: HINTED_HEAD_SIZE } : {});
    let result;
    let version;
    let carried;
    try {
      result = await translateFile(cached, { inlineThreshold: spec.refs.inlineThreshold, url });
      checkRangesWithin(result.refs, url, await cached.size());
      // Before learning the layout: the next file's first round then fetches these chunks too.
      carried = await chunkBytesOf(cached, result.refs, url, arraysReadByCombine(spec.combine));
      version = origin.version?.();
      const { refs } = result;
      layoutHints.learn(spec.name, cached.learnedRanges(), () => firstRangeOffset(refs));
    } finally {
      await origin.close?.();
    }
    signal?.throwIfAborted();
    await outputStorage.write(staged, new TextEncoder().encode(serializeStaged(result.refs, url, version, carried)));
    return {
      source: url,
      staged,
      reused: false,
      chunks: result.chunkCount,
      requests: origin.stats?.requests ?? 0,
      bytesRead: origin.stats?.bytes ?? 0,
      skippedVariables: result.skipped.map((s) => `${s.variable}: ${s.reason}`),
    };
  } finally {
    await Promise.all([sourceStorage.close(), outputStorage.close()]);
  }
}
