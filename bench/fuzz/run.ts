/**
 * Hostile-HDF5 fuzz: mutated copies of the fixture files (h5py, netCDF4-python, the Himawari-like
 * archive file, and the open-world structures of h5_fidelity_fixtures.py: link cycles, external
 * and user-defined links, SOHM tables, a metadata cache image, external raw files, non-IEEE
 * floats, unfiltered edge chunks, zero-sized extents; and of h5_coverage_fixtures.py: third-party
 * filters, LZF chunks re-encoded, compounds with padding and nesting) go through translateHdf5 over an in-memory
 * source (half of them behind the BlockCache, as extraction reads them). Every case must end in a
 * typed error (Hdf5FormatError, UnsupportedFeatureError, SourceReadError) or a valid result, within
 * a per-case time bound (10 s) and memory bound (512 MiB of JavaScript heap and buffers above what
 * the worker held before the case, sampled during it), and without the process's RSS growing past
 * a bound.
 *
 * Mutations: bit flips (anywhere, and in the metadata region), byte runs overwritten, truncations,
 * 8-byte address/length fields (found as little-endian values that look like addresses) overwritten
 * with another field's address (cycles, structures of the wrong kind), 0, the undefined address,
 * past-the-end or absurd values, and blocks of the file duplicated over other places (cycles).
 *
 * Cases run in a worker thread; the main thread is the watchdog: a case over the time bound
 * terminates the worker (recorded as a hang) and a fresh worker goes on. Case N of seed S is the
 * same on every run: `--seed S --case N` replays one.
 *
 * usage: npx tsx bench/fuzz/run.ts [--seconds 60] [--seed 1] [--case-timeout-ms 10000]
 *          [--case-memory-mb 512] [--max-rss-mb 1536] [--case N] [--json out.json]
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Hdf5FormatError, SourceReadError, UnsupportedFeatureError } from "../../lib/errors.js";
import { translateHdf5 } from "../../lib/refs/translate.js";
import { repositoryRoot } from "../../lib/servers/process.js";
import { BlockCache } from "../../lib/source/blockCache.js";
import { MemorySource } from "../../lib/source/memory.js";
import type { ByteSource } from "../../lib/source/byteSource.js";

const run = promisify(execFile);

// ------------------------------------------------------------------------------------------------
// Shared: the seeded generator, the mutations, one case.

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Fixture {
  name: string;
  bytes: Uint8Array;
  /** Offsets of 8-byte little-endian values in the metadata region that look like addresses (0 < v < size). */
  addressFields: number[];
  /** Where the metadata most likely is (the file head). */
  metadataEnd: number;
}

const MUTATIONS = ["bitflip", "bitflip-meta", "overwrite-run", "truncate", "address-field", "length-field", "duplicate-block"] as const;
type Mutation = (typeof MUTATIONS)[number];

function readU64(bytes: Uint8Array, at: number): number {
  let v = 0;
  for (let i = 7; i >= 0; i--) v = v * 256 + bytes[at + i]!;
  return v;
}

function writeU64(bytes: Uint8Array, at: number, value: number | "undefined"): void {
  for (let i = 0; i < 8; i++) {
    if (value === "undefined") bytes[at + i] = 0xff;
    else {
      bytes[at + i] = value % 256;
      value = Math.floor(value / 256);
    }
  }
}

function findAddressFields(bytes: Uint8Array, metadataEnd: number): number[] {
  const found: number[] = [];
  for (let at = 0; at + 8 <= metadataEnd; at++) {
    const v = readU64(bytes, at);
    if (v >= 8 && v < bytes.length && bytes[at + 7] === 0 && bytes[at + 6] === 0) found.push(at);
  }
  return found;
}

/** Apply one case's mutation(s) to a copy of a fixture; returns the bytes and a description. */
function mutate(fixture: Fixture, random: () => number): { bytes: Uint8Array; mutation: Mutation; detail: string } {
  const pick = (n: number): number => Math.floor(random() * n);
  const mutation = MUTATIONS[pick(MUTATIONS.length)]!;
  const original = fixture.bytes;
  let bytes = original.slice();
  const size = bytes.length;
  const details: string[] = [];
  const rounds = 1 + pick(3);
  for (let r = 0; r < rounds; r++) {
    switch (mutation) {
      case "bitflip":
      case "bitflip-meta": {
        const end = mutation === "bitflip" ? size : fixture.metadataEnd;
        const at = pick(end);
        const bit = pick(8);
        bytes[at]! ^= 1 << bit;
        details.push(`bit ${bit} @${at}`);
        break;
      }
      case "overwrite-run": {
        const at = pick(fixture.metadataEnd);
        const length = 1 + pick(32);
        for (let i = at; i < Math.min(size, at + length); i++) bytes[i] = pick(256);
        details.push(`${length} random bytes @${at}`);
        break;
      }
      case "truncate": {
        const length = random() < 0.5 ? pick(fixture.metadataEnd) : pick(size);
        bytes = bytes.slice(0, length);
        details.push(`truncated to ${length}`);
        r = rounds;
        break;
      }
      case "address-field":
      case "length-field": {
        if (fixture.addressFields.length === 0) break;
        const at = fixture.addressFields[pick(fixture.addressFields.length)]!;
        if (at + 8 > bytes.length) break;
        const choices: (number | "undefined")[] =
          mutation === "address-field"
            ? [
                readU64(original, fixture.addressFields[pick(fixture.addressFields.length)]!), // another structure's address: cycles, wrong kinds
                readU64(original, at) + 8 * (1 + pick(64)), // a little off
                at - (at % 8), // itself
                0,
                size - 1 - pick(16),
                size + pick(1 << 20),
                "undefined",
              ]
            : [2 ** 32 + pick(1000), 2 ** 48 + pick(1000), 2 ** 53 - 1, size, size * 4, 1 + pick(1 << 16), 0];
        const value = choices[pick(choices.length)]!;
        writeU64(bytes, at, value);
        details.push(`u64 @${at} := ${value}`);
        break;
      }
      case "duplicate-block": {
        // Copy a metadata block over another place: structures that point back at themselves.
        const length = 8 << pick(8);
        const from = pick(Math.max(1, fixture.metadataEnd - length));
        const to = pick(Math.max(1, fixture.metadataEnd - length));
        bytes.copyWithin(to, from, Math.min(size, from + length));
        details.push(`${length} bytes @${from} copied to @${to}`);
        break;
      }
    }
  }
  return { bytes, mutation, detail: details.join(", ") };
}


interface CaseRequest {
  index: number;
}

interface CaseResult {
  index: number;
  fixture: string;
  mutation: Mutation;
  detail: string;
  cached: boolean;
  /** "valid", a typed error kind, or "untyped:<name>" (a failure of the fuzz). */
  outcome: string;
  message: string;
  ms: number;
  rss: number;
  /** Peak JavaScript heap and external buffers above the worker's level before the case (MiB). */
  memoryMiB: number;
  /** For a valid result: references past the end of the (mutated) file (extraction rejects those). */
  refsPastEnd: number;
  requests: number;
}

/** V8's full collection, made callable without --expose-gc on the command line (workers refuse it). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

async function runCase(fixtures: Fixture[], seed: number, index: number): Promise<CaseResult> {
  const random = mulberry32((seed * 0x9e3779b1) ^ (index * 0x85ebca6b));
  const fixture = fixtures[Math.floor(random() * fixtures.length)]!;
  const { bytes, mutation, detail } = mutate(fixture, random);
  const cached = random() < 0.5;
  const url = `mem://${fixture.name}#${index}`;
  const memory = new MemorySource(bytes, url);
  const source: ByteSource = cached ? new BlockCache(memory) : memory;
  // This worker's heap and external buffers (the isolate's, unlike RSS), sampled while the case runs.
  const used = (): number => {
    const h = getHeapStatistics() as ReturnType<typeof getHeapStatistics> & { external_memory?: number };
    return h.used_heap_size + (h.external_memory ?? 0);
  };
  // Collect the previous cases' garbage first, so the figure is this case's (an upper bound: it
  // includes this case's own garbage until the next collection).
  collectGarbage();
  const baseline = used();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, used());
  }, 5);
  const started = performance.now();
  let outcome = "valid";
  let message = "";
  let refsPastEnd = 0;
  try {
    const result = await translateHdf5(source, { inlineThreshold: 100 });
    for (const value of Object.values(result.refs.refs)) {
      // Only references into this file (external raw data files are other files).
      if (Array.isArray(value) && value.length === 3 && value[0] === url && value[1] + (value[2] as number) > bytes.length) refsPastEnd++;
    }
    message = `${Object.keys(result.refs.refs).length} refs, ${result.skipped.length} skipped`;
  } catch (error) {
    if (error instanceof Hdf5FormatError || error instanceof UnsupportedFeatureError || error instanceof SourceReadError) {
      outcome = error.kind;
    } else {
      outcome = `untyped:${(error as Error)?.name ?? typeof error}`;
    }
    message = ((error as Error)?.message ?? String(error)).slice(0, 300);
  }
  clearInterval(sampler);
  peak = Math.max(peak, used());
  return {
    index,
    fixture: fixture.name,
    mutation,
    detail,
    cached,
    outcome,
    message,
    ms: performance.now() - started,
    rss: process.memoryUsage().rss,
    memoryMiB: (peak - baseline) / 2 ** 20,
    refsPastEnd,
    requests: memory.stats.requests,
  };
}

// ------------------------------------------------------------------------------------------------
// Worker thread: load the fixtures once, run the cases the watchdog sends.

if (!isMainThread) {
  const { fixtureFiles, seed } = workerData as { fixtureFiles: string[]; seed: number };
  const fixtures: Fixture[] = [];
  for (const path of fixtureFiles) {
    const bytes = new Uint8Array(await readFile(path));
    const metadataEnd = Math.min(bytes.length, 64 * 1024);
    fixtures.push({ name: path.slice(path.lastIndexOf("/") + 1), bytes, metadataEnd, addressFields: findAddressFields(bytes, metadataEnd) });
  }
  parentPort!.on("message", (request: CaseRequest) => {
    void runCase(fixtures, seed, request.index).then(
      (result) => parentPort!.postMessage(result),
      (error: unknown) => parentPort!.postMessage({ index: request.index, outcome: `harness:${String(error)}` }),
    );
  });
  parentPort!.postMessage("ready");
}

// ------------------------------------------------------------------------------------------------
// Main thread: fixtures, the watchdog loop, the report.

async function fixtureFiles(): Promise<string[]> {
  const dir = resolve(repositoryRoot, ".work/fuzz/fixtures");
  const python = resolve(repositoryRoot, ".venv/bin/python");
  // One marker per fixture set, so a set added later is written into an existing cache.
  await mkdir(dir, { recursive: true });
  for (const [script, sub] of [
    ["test/fixtures/python/h5_structure_fixtures.py", "structure"],
    ["test/fixtures/python/h5_chunk_index_fixtures.py", "chunk-index"],
    ["test/fixtures/python/refs_fixtures.py", "refs"],
    ["test/fixtures/python/h5_fidelity_fixtures.py", "fidelity"],
    ["test/fixtures/python/h5_coverage_fixtures.py", "coverage"],
  ] as const) {
    const marker = join(dir, `.complete-${sub}`);
    if (existsSync(marker)) continue;
    await run(python, [resolve(repositoryRoot, script), join(dir, sub)], { maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
    await writeFile(marker, "");
  }
  if (!existsSync(join(dir, ".complete-archive"))) {
    await run(python, [resolve(repositoryRoot, "python/make_archive.py"), join(dir, "archive"), "2022-01-13", "1", "--hours", "1", "--grid", "300", "600"], {
      timeout: 120_000,
    });
    await writeFile(join(dir, ".complete-archive"), "");
  }
  const files: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.(h5|nc|hdf5)$/.test(entry.name) && (await stat(path)).size <= 8 * 1024 * 1024) files.push(path);
    }
  };
  await walk(dir);
  return files.sort();
}

async function main(): Promise<void> {
  const { values: options } = parseArgs({
    options: {
      seconds: { type: "string", default: "60" },
      seed: { type: "string", default: "1" },
      "case-timeout-ms": { type: "string", default: "10000" },
      "case-memory-mb": { type: "string", default: "512" },
      "max-rss-mb": { type: "string", default: "1536" },
      "max-cases": { type: "string", default: "1000000" },
      case: { type: "string" },
      json: { type: "string" },
    },
  });
  const seconds = Math.max(1, Math.min(24 * 3600, Number(options.seconds)));
  const seed = Number(options.seed);
  const caseTimeout = Number(options["case-timeout-ms"]);
  const maxRss = Number(options["max-rss-mb"]) * 2 ** 20;
  const caseMemory = Number(options["case-memory-mb"]);
  const only = options.case === undefined ? undefined : Number(options.case);
  const files = await fixtureFiles();
  console.error(
    `[fuzz] ${files.length} fixture files, seed ${seed}, ${seconds} s, case bounds ${caseTimeout} ms and ${caseMemory} MiB, RSS bound ${options["max-rss-mb"]} MiB`,
  );

  let worker: Worker | undefined;
  let ready: Promise<void> = Promise.resolve();
  const startWorker = (): void => {
    // Worker threads do not inherit tsx's loader: register it, then load this file.
    const bootstrap = `import { register } from "tsx/esm/api"; register(); await import(${JSON.stringify(import.meta.url)});`;
    worker = new Worker(bootstrap, {
      eval: true,
      workerData: { fixtureFiles: files, seed },
      // A hard stop above the per-case bound: a case that runs away ends the worker (a "crash").
      resourceLimits: { maxOldGenerationSizeMb: Math.max(caseMemory * 2, Number(options["max-rss-mb"]) / 2) },
    });
    ready = new Promise((resolveReady, rejectReady) => {
      worker!.once("message", () => resolveReady());
      worker!.once("error", rejectReady);
    });
  };
  const runOne = async (index: number): Promise<CaseResult | { index: number; outcome: string; ms: number }> => {
    await ready;
    const started = performance.now();
    return new Promise((resolveCase) => {
      const w = worker!;
      const done = (result: CaseResult | { index: number; outcome: string; ms: number }): void => {
        clearTimeout(timer);
        w.removeAllListeners("message");
        w.removeAllListeners("error");
        w.removeAllListeners("exit");
        resolveCase(result);
      };
      const timer = setTimeout(() => {
        void w.terminate();
        startWorker();
        done({ index, outcome: "hang", ms: performance.now() - started });
      }, caseTimeout);
      w.on("message", (result: CaseResult) => done(result));
      w.on("error", (error: Error) => {
        startWorker();
        done({ index, outcome: `crash:${error.name}:${error.message.slice(0, 100)}`, ms: performance.now() - started });
      });
      w.on("exit", (code) => {
        startWorker();
        done({ index, outcome: `exit:${code}`, ms: performance.now() - started });
      });
      w.postMessage({ index } satisfies CaseRequest);
    });
  };

  startWorker();
  const deadline = Date.now() + seconds * 1000;
  const outcomes: Record<string, number> = {};
  const byMutation: Record<string, Record<string, number>> = {};
  const failures: unknown[] = [];
  let slowest: { index: number; ms: number; fixture?: string; mutation?: string; detail?: string; outcome: string } = { index: -1, ms: 0, outcome: "" };
  let hungriest: { index: number; memoryMiB: number; fixture?: string; mutation?: string; detail?: string; outcome?: string } = { index: -1, memoryMiB: 0 };
  const byFixture: Record<string, Record<string, number>> = {};
  let peakRss = process.memoryUsage().rss;
  let cases = 0;
  let validWithRefsPastEnd = 0;
  const maxCases = Number(options["max-cases"]);
  const started = Date.now();
  for (let index = only ?? 0; only !== undefined ? index === only : Date.now() < deadline && cases < maxCases; index++) {
    const result = await runOne(index);
    cases++;
    outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
    if ("mutation" in result) {
      const m = (byMutation[result.mutation] ??= {});
      m[result.outcome] = (m[result.outcome] ?? 0) + 1;
      if (result.refsPastEnd > 0) validWithRefsPastEnd++;
      const f = (byFixture[result.fixture] ??= {});
      f[result.outcome] = (f[result.outcome] ?? 0) + 1;
      if (result.memoryMiB > hungriest.memoryMiB) hungriest = result;
    }
    if (result.ms > slowest.ms) slowest = result;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const typed = ["valid", "Hdf5FormatError", "UnsupportedFeatureError", "SourceReadError"].includes(result.outcome);
    const overMemory = "memoryMiB" in result && result.memoryMiB > caseMemory;
    if (!typed || peakRss > maxRss || overMemory) {
      failures.push({ ...result, reason: !typed ? "not a typed outcome" : overMemory ? "case memory over bound" : "rss over bound" });
    }
    if (only !== undefined) console.log(JSON.stringify(result, null, 2));
    if (cases % 500 === 0) console.error(`[fuzz] ${cases} cases, ${JSON.stringify(outcomes)}, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
  }
  await worker?.terminate();
  const report = {
    command: `npx tsx bench/fuzz/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
    machine: { cores: cpus().length, node: process.version },
    fixtures: files.map((f) => f.slice(f.indexOf(".work/fuzz/fixtures/") + ".work/fuzz/fixtures/".length)),
    seed,
    seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
    cases,
    outcomes,
    byMutation,
    byFixture,
    validWithRefsPastEnd,
    slowest,
    hungriest: { ...hungriest, memoryMiB: Number(hungriest.memoryMiB.toFixed(1)) },
    caseMemoryMiB: caseMemory,
    peakRssMiB: Number((peakRss / 2 ** 20).toFixed(1)),
    caseTimeoutMs: caseTimeout,
    maxRssMiB: Number(options["max-rss-mb"]),
    failures: failures.slice(0, 20),
    failureCount: failures.length,
    verdict: failures.length === 0 ? "every case typed or valid, within bounds" : "FAILED",
  };
  console.log(JSON.stringify(report, null, 2));
  if (options.json) await writeFile(options.json, JSON.stringify(report, null, 2));
  if (failures.length) process.exitCode = 1;
}

if (isMainThread) {
  main().catch((error: unknown) => {
    console.error("[fuzz] failed:", error);
    process.exit(1);
  });
}
