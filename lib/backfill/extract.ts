import { arraysReadByCombine } from "../combine/coordinates.js";
import { boundedAll } from "../concurrency.js";
import { randomBytes } from "node:crypto";
import { CombineError, Hdf5FormatError } from "../errors.js";
import type { ByteSource, SourceVersion } from "../source/byteSource.js";
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { firstRangeOffset, type KerchunkRefs } from "../model/kerchunkRefs.js";
import { BlockCache } from "../source/blockCache.js";
import { LayoutHints } from "../source/layoutHints.js";
import { referenceUrl } from "../source/localFile.js";
import { translateFile } from "../translateFile.js";
import type { ExtractSummary } from "./model/steps.js";
import { joinKey, type Storage } from "../storage/storage.js";
import { bundledStagingKey, bundleMemberName, isStagingBundle, stagingBundleKey, stagingFolder, stagingKey } from "./names.js";
import type { ReferenceSet } from "../model/referenceSet.js";
import { serializeStaged, stagedReferenceSet } from "./staged.js";
import { parseStagedBundle, serializeStagedBundle, type BundleMember } from "./stagedBundle.js";

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
 * A day's staged files (its staging `folder` in the output storage), from one listing (one request
 * on S3) and a read of each bundle in it (there are bundles only when an earlier attempt staged
 * some): where one step extracts several files of a day, it asks once which an earlier attempt
 * staged, not once per file (a HEAD each, a round trip before the file's first read). By each
 * file's own stagingKey: the key to report for it (that object, or its member key in a bundle). A
 * bundle that cannot be read as one, or that is gone by the time it is read, names no file here:
 * its files are extracted again.
 */
export async function stagedFiles(outputStorage: Storage, folder: string): Promise<ReadonlyMap<string, string>> {
  const found = new Map<string, string>();
  const bundles: string[] = [];
  for await (const object of outputStorage.list(`${folder}/`)) {
    if (isStagingBundle(object.key)) bundles.push(object.key);
    else found.set(object.key, object.key);
  }
  for (const bundle of bundles) {
    let members: Map<string, string>;
    try {
      members = parseStagedBundle(await outputStorage.read(bundle), outputStorage.url(bundle));
    } catch (error) {
      // Unreadable, or gone since the listing (a concurrent run's combine removed the day's
      // staging): it names no file, and its files are extracted again.
      if (error instanceof CombineError || !(await outputStorage.exists(bundle))) continue;
      throw error;
    }
    for (const name of members.keys()) found.set(joinKey(folder, name), bundledStagingKey(bundle, name));
  }
  return found;
}

/** How one file's extraction is run by `extractDayFiles`: `extract` does it; the wrapper may time or report it. */
export type AroundExtraction = (sourceKey: string, extract: () => Promise<ExtractSummary>) => Promise<ExtractSummary>;

/**
 * How long the files a step extracted wait to be staged together: a crash loses at most this much
 * of its work (the next attempt extracts those files again); more files a bundle, fewer objects.
 */
const BUNDLE_FLUSH_MS = 10_000;
/** The most staged text a step holds before writing it (a day of full-size files stages about 10 MB). */
const BUNDLE_MAX_CHARS = 64 * 1024 * 1024;

/**
 * The files one step extracted, staged together: each file's member key is known when it is added
 * (the bundle being filled), and the bundle is written when BUNDLE_FLUSH_MS have passed since the
 * last, when it holds BUNDLE_MAX_CHARS, and when the step ends. Bundles are written one at a time.
 */
class StagingBundler {
  private members: BundleMember[] = [];
  private chars = 0;
  private key: string;
  private since = performance.now();
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly spec: ResolvedDatasetSpec,
    private readonly dayId: string,
  ) {
    this.key = this.nextKey();
  }

  private nextKey(): string {
    return stagingBundleKey(this.spec, this.dayId, randomBytes(8).toString("hex"));
  }

  /** Stage a file's text (`stagedKey`: its own stagingKey); its key in the bundle. Waits when that fills the bundle. */
  async add(stagedKey: string, text: string): Promise<string> {
    this.members.push({ name: bundleMemberName(stagedKey), text });
    this.chars += text.length;
    const key = bundledStagingKey(this.key, stagedKey);
    if (this.chars >= BUNDLE_MAX_CHARS || performance.now() - this.since >= BUNDLE_FLUSH_MS) await this.flush();
    return key;
  }

  /** Write what waits (nothing when nothing does); resolves once every bundle begun is written. */
  flush(): Promise<void> {
    if (this.members.length > 0) {
      const [key, members] = [this.key, this.members];
      this.members = [];
      this.chars = 0;
      this.key = this.nextKey();
      this.since = performance.now();
      this.writing = this.writing.then(async () => {
        const outputStorage = openStorage(this.spec.output.storage);
        try {
          await outputStorage.write(key, serializeStagedBundle(members));
        } finally {
          await outputStorage.close();
        }
      });
    }
    return this.writing;
  }
}

/**
 * The extractions of a step that combines its day itself (a batch's small day, `backfillDirect`'s
 * day, reference-file output): held in memory by their staging keys and combined from there,
 * never written to the staging and read back. They are staged (one bundle) only when the step
 * does not get to combine them (`stage`: a file or the combine failed), so that the day's retry
 * or its day workflow still extracts only the files that did not finish.
 */
export class HeldExtractions {
  private readonly held = new Map<string, Extraction>();

  constructor(
    private readonly spec: ResolvedDatasetSpec,
    private readonly dayId: string,
  ) {}

  hold(stagedKey: string, extraction: Extraction): void {
    this.held.set(stagedKey, extraction);
  }

  holds(stagedKey: string): boolean {
    return this.held.has(stagedKey);
  }

  /** The combine's input for a staged key held here, named by its source file; undefined for one staged by an earlier attempt. */
  referenceSet(stagedKey: string): ReferenceSet | undefined {
    const extraction = this.held.get(stagedKey);
    return extraction && stagedReferenceSet(extraction.refs, extraction.url, extraction.carried);
  }

  /** Stage every extraction held (one bundle), and hold none any more. */
  async stage(): Promise<void> {
    const bundler = new StagingBundler(this.spec, this.dayId);
    for (const [key, extraction] of this.held) await bundler.add(key, stagedText(extraction));
    this.held.clear();
    await bundler.flush();
  }
}

/**
 * Extract several files of a day, `atOnce` at a time, the staged ones reused: how every step that
 * extracts more than one file goes (an extraction activity, a batch of small days, `backfillDirect`).
 * The day's staging is listed once first (`stagedFiles`); the files extracted are staged in bundles
 * (`StagingBundler`), or, with `held`, held in memory for the step's own combine (whose caller
 * stages them when that does not happen). When a file fails, the files that finished are staged
 * before the error goes on, so a retry redoes only the others; a cancelled step writes nothing
 * more. Summaries come in the order of `sourceKeys`.
 */
export async function extractDayFiles(
  spec: ResolvedDatasetSpec,
  dayId: string,
  sourceKeys: readonly string[],
  atOnce: number,
  options: { signal?: AbortSignal; around?: AroundExtraction; held?: HeldExtractions } = {},
): Promise<ExtractSummary[]> {
  const { signal, around = (_key, extract) => extract(), held } = options;
  const outputStorage = openStorage(spec.output.storage);
  const staged = await stagedFiles(outputStorage, stagingFolder(spec, dayId)).finally(() => outputStorage.close());
  const bundler = new StagingBundler(spec, dayId);
  try {
    const summaries = await boundedAll(sourceKeys, atOnce, (key) =>
      around(key, async () => {
        const own = stagingKey(spec, dayId, key);
        const found = staged.get(own);
        if (found !== undefined) return reusedSummary(spec, key, found);
        const { summary, extraction } = await translateToExtraction(spec, key, signal);
        signal?.throwIfAborted();
        if (held) {
          held.hold(own, extraction);
          return { ...summary, staged: own };
        }
        return { ...summary, staged: await bundler.add(own, stagedText(extraction)) };
      }),
    );
    await bundler.flush();
    return summaries;
  } catch (error) {
    if (!signal?.aborted) await (held ? held.stage() : bundler.flush()).catch(() => undefined);
    throw error;
  }
}

export interface ExtractOptions {
  /** Aborted when the activity is cancelled: stops the extraction before the translation and before the write. */
  signal?: AbortSignal;
}

/** The summary of a file found staged (nothing read). */
async function reusedSummary(spec: ResolvedDatasetSpec, sourceKey: string, staged: string): Promise<ExtractSummary> {
  const sourceStorage = openStorage(spec.source.storage);
  try {
    return { source: referenceUrl(sourceStorage.url(sourceKey)), staged, reused: true, chunks: 0, requests: 0, bytesRead: 0, skippedVariables: [] };
  } finally {
    await sourceStorage.close();
  }
}

/**
 * Translate one source file, and stage its references on its own (`stagingKey`). Idempotent: when
 * the staged refs exist (an earlier attempt finished), nothing is read again.
 */
export async function extractToStaging(spec: ResolvedDatasetSpec, dayId: string, sourceKey: string, options: ExtractOptions = {}): Promise<ExtractSummary> {
  const { signal } = options;
  const outputStorage = openStorage(spec.output.storage);
  const staged = stagingKey(spec, dayId, sourceKey);
  try {
    if (await outputStorage.exists(staged)) return reusedSummary(spec, sourceKey, staged);
    const { summary, extraction } = await translateToExtraction(spec, sourceKey, signal);
    signal?.throwIfAborted();
    await outputStorage.write(staged, new TextEncoder().encode(stagedText(extraction)));
    return { ...summary, staged };
  } finally {
    await outputStorage.close();
  }
}

/** One file's extraction as made: its references, the version of the file read, and the coordinate chunks' bytes carried (`chunkBytesOf`). */
interface Extraction {
  refs: KerchunkRefs;
  url: string;
  version: SourceVersion | undefined;
  carried: Map<string, Uint8Array>;
}

/** An extraction's staged JSON (lib/backfill/staged.ts). */
const stagedText = (extraction: Extraction): string => serializeStaged(extraction.refs, extraction.url, extraction.version, extraction.carried);

/** Translate one source file, with the summary of what it read. */
async function translateToExtraction(spec: ResolvedDatasetSpec, sourceKey: string, signal: AbortSignal | undefined): Promise<{ summary: Omit<ExtractSummary, "staged">; extraction: Extraction }> {
  signal?.throwIfAborted();
  const sourceStorage = openStorage(spec.source.storage);
  const url = referenceUrl(sourceStorage.url(sourceKey));
  try {
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
    return {
      extraction: { refs: result.refs, url, version, carried },
      summary: {
        source: url,
        reused: false,
        chunks: result.chunkCount,
        requests: origin.stats?.requests ?? 0,
        bytesRead: origin.stats?.bytes ?? 0,
        skippedVariables: result.skipped.map((s) => `${s.variable}: ${s.reason}`),
      },
    };
  } finally {
    await sourceStorage.close();
  }
}
