/**
 * Where our round trips go: translates a local file through the same BlockCache as on S3, with
 * every real read delayed by a simulated latency, and prints the reads wave by wave together with
 * the parser functions that asked for the bytes (from async stack traces).
 *
 * usage: npx tsx bench/refs/readPattern.ts FILE [--latency 20] [--head-size BYTES] [--max-gap BYTES] [--block-size BYTES] [--tail-size BYTES] [--hint-from OTHER_FILE ...] [--as-worker]
 *
 * --hint-from first translates OTHER_FILE (a file of the same layout) and prefetches, in the first
 * round, the ranges it needed beyond its head, as the backfill does with the previous files of a
 * dataset (lib/source/layoutHints.ts). Given twice or more, the files are read in that order and
 * the hint is what LayoutHints learned from them all (the ranges the last two both needed).
 * --as-worker picks each file's head as the backfill does: the default head while the hint is
 * empty, a one-block head (HINTED_HEAD_SIZE) beside a hint.
 */
import { parseArgs } from "node:util";
import { HINTED_HEAD_SIZE } from "../../lib/backfill/extract.js";
import { firstRangeOffset } from "../../lib/model/kerchunkRefs.js";
import { translateHdf5 } from "../../lib/refs/translate.js";
import type { ByteSource } from "../../lib/source/byteSource.js";
import { BlockCache, type BlockCacheOptions } from "../../lib/source/blockCache.js";
import { LayoutHints } from "../../lib/source/layoutHints.js";
import { LocalFileSource } from "../../lib/source/localFile.js";
import { sleep } from "../../lib/servers/process.js";
import { sequentialRoundTrips } from "./countingProxy.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    latency: { type: "string", default: "20" },
    "head-size": { type: "string" },
    "max-gap": { type: "string" },
    "block-size": { type: "string" },
    "tail-size": { type: "string" },
    "hint-from": { type: "string", multiple: true },
    "as-worker": { type: "boolean", default: false },
    concurrency: { type: "string" },
    quiet: { type: "boolean", default: false },
  },
});
const latency = Number(values.latency);

interface Fetch {
  offset: number;
  length: number;
  start: number;
  end: number;
}
interface ParserRead {
  offset: number;
  length: number;
  at: number;
  callers: string;
}

/** The real source, slowed down: each read waits `latency` ms before answering. */
class SlowSource implements ByteSource {
  readonly fetches: Fetch[] = [];
  constructor(private readonly inner: LocalFileSource) {}
  get url(): string {
    return this.inner.url;
  }
  size(): Promise<number> {
    return this.inner.size();
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    const start = performance.now();
    await sleep(latency);
    const bytes = await this.inner.read(offset, length);
    this.fetches.push({ offset, length, start, end: performance.now() });
    return bytes;
  }
}

/** What the parser asked the cache for, and from where. */
class TracingSource implements ByteSource {
  readonly reads: ParserRead[] = [];
  constructor(private readonly cache: BlockCache) {}
  get url(): string {
    return this.cache.url;
  }
  size(): Promise<number> {
    return this.cache.size();
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    const frames = (new Error().stack ?? "")
      .split("\n")
      .slice(2)
      .map((line) => /at (?:async )?([\w.<>$]+) \(.*\/lib\/(hdf5|refs)\//.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    this.reads.push({ offset, length, at: performance.now(), callers: [...new Set(frames)].slice(0, 4).join(" < ") });
    return this.cache.read(offset, length);
  }
  /** Bytes the cache holds, at once (as the parsers get them in a worker); not a read of the file. */
  readNow(offset: number, length: number): Uint8Array | undefined {
    return this.cache.readNow(offset, length);
  }
  peek(offset: number, length: number): Uint8Array | undefined {
    return this.cache.peek(offset, length);
  }
}

const cacheOptions: BlockCacheOptions = {};
if (values["head-size"]) cacheOptions.headSize = Number(values["head-size"]);
if (values["max-gap"]) cacheOptions.maxGap = Number(values["max-gap"]);
if (values["block-size"]) cacheOptions.blockSize = Number(values["block-size"]);
if (values["tail-size"]) cacheOptions.tailSize = Number(values["tail-size"]);
if (values.concurrency) cacheOptions.concurrency = Number(values.concurrency);

// As the backfill reads a file with a hint (lib/backfill/extract.ts).
const hintedHead: BlockCacheOptions = values["as-worker"] ? { headSize: HINTED_HEAD_SIZE } : {};
if (values["hint-from"]) {
  const hints = new LayoutHints();
  for (const file of values["hint-from"]) {
    const other = new LocalFileSource(file);
    const prefetch = hints.get("bench");
    const otherCache = new BlockCache(other, { ...cacheOptions, ...(prefetch.length > 0 ? { prefetch, ...hintedHead } : {}) });
    const { refs } = await translateHdf5(otherCache, { inlineThreshold: 100 });
    await other.close();
    hints.learn("bench", otherCache.learnedRanges(), () => firstRangeOffset(refs));
  }
  cacheOptions.prefetch = hints.get("bench");
  if (cacheOptions.prefetch.length > 0) Object.assign(cacheOptions, hintedHead);
}

const local = new LocalFileSource(positionals[0]!);
const slow = new SlowSource(local);
const cache = new BlockCache(slow, cacheOptions);
const tracing = new TracingSource(cache);
const t0 = performance.now();
const result = await translateHdf5(tracing, { inlineThreshold: 100 });
const wall = performance.now() - t0;
await local.close();

// Waves: fetches grouped by the moment they were issued (a new wave starts after the previous ended).
const fetches = [...slow.fetches].sort((a, b) => a.start - b.start);
const waves: Fetch[][] = [];
let waveEnd = -Infinity;
for (const f of fetches) {
  if (f.start >= waveEnd || waves.length === 0) waves.push([]);
  waves[waves.length - 1]!.push(f);
  waveEnd = Math.max(f.start >= waveEnd ? f.end : waveEnd, f.end);
}
const size = await local.size();
const bytes = fetches.reduce((s, f) => s + f.length, 0);
const chain = sequentialRoundTrips(fetches.map((f) => ({ method: "GET", path: "", range: undefined, status: 206, bytes: f.length, start: f.start, end: f.end })));
console.log(
  `${positionals[0]}: ${result.chunkCount} chunks, ${fetches.length} reads, ${waves.length} waves, ${chain} sequential, ${bytes} bytes ` +
    `(${((100 * bytes) / size).toFixed(2)} % of ${size}), ${wall.toFixed(0)} ms at ${latency} ms per read`,
);
if (!values.quiet) {
  waves.forEach((wave, i) => {
    console.log(`wave ${i + 1}: ${wave.length} reads, ${wave.reduce((s, f) => s + f.length, 0)} bytes`);
    for (const f of wave) {
      // Parser reads answered from this fetch that were issued just before it (the ones that caused it).
      const causes = tracing.reads.filter((r) => r.offset < f.offset + f.length && r.offset + r.length > f.offset && r.at <= f.start + 1);
      const kinds = new Map<string, number>();
      for (const c of causes) kinds.set(c.callers, (kinds.get(c.callers) ?? 0) + 1);
      console.log(`  ${f.offset}+${f.length}: ${[...kinds].map(([k, n]) => `${n}x ${k || "?"}`).join("; ")}`);
    }
  });
}
if (!values.quiet) {
  console.log("all reads by start time (ms from the first):");
  const first = fetches[0]?.start ?? 0;
  for (const f of fetches) {
    const causes = tracing.reads.filter((r) => r.offset < f.offset + f.length && r.offset + r.length > f.offset && r.at <= f.start + 1);
    const callers = [...new Set(causes.map((c) => c.callers.split(" < ").slice(2).join(" < ")))].join("; ");
    console.log(`  ${(f.start - first).toFixed(0).padStart(4)}..${(f.end - first).toFixed(0).padStart(4)}  ${f.offset}+${f.length}  ${callers}`);
  }
}
