/**
 * Reference-extraction benchmark (issue 3): ours vs kerchunk's SingleHdf5ToZarr on a
 * Himawari-sized NetCDF4 file in MinIO behind Toxiproxy (20 ms latency on every response), plus
 * the 25k/50k/100k-chunk scaling measurement. Results: docs/benchmarks.md.
 *
 * usage: npx tsx --expose-gc bench/refs/run.ts [--runs 5] [--latency 20] [--skip-scaling] [--keep-fixture]
 *                                  [--full-get-chunk-info]   (kerchunk's #331 path at 100k: 450 s or more)
 *                                  [--define-first]          (the granule with every variable defined before its data)
 *
 * Chain: client -> Toxiproxy (latency toxic) -> counting HTTP proxy -> MinIO. The counting proxy
 * logs every request both clients make (method, range, response bytes, start/end), so requests,
 * bytes and sequential round trips are counted the same way for ours and for s3fs.
 * Generated inputs are cached in .work/bench/ under the hash of the script that wrote them
 * (a stale one is deleted); --keep-fixture also keeps MinIO's data folder and the refs written.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { serializeRefs } from "../../lib/model/kerchunkJson.js";
import { translateHdf5, type TranslateResult } from "../../lib/refs/translate.js";
import { MinioServer } from "../../test/harness/servers/minio.js";
import { repositoryRoot } from "../../lib/servers/process.js";
import { ToxiproxyServer } from "../../test/harness/servers/toxiproxy.js";
import { BlockCache } from "../../lib/source/blockCache.js";
import { LocalFileSource } from "../../lib/source/localFile.js";
import { openSource } from "../../lib/source/open.js";
import { CountingProxy, sequentialRoundTrips, type LoggedRequest } from "./countingProxy.js";

const run = promisify(execFile);
const here = resolve(repositoryRoot, "bench/refs");
const workDir = resolve(repositoryRoot, ".work/bench");
const python = resolve(repositoryRoot, ".venv/bin/python");
const INLINE = 100;
const SCALING_SIZES = [25_000, 50_000, 100_000];

const { values: options } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    latency: { type: "string", default: "20" },
    "skip-scaling": { type: "boolean", default: false },
    "keep-fixture": { type: "boolean", default: false },
    "full-get-chunk-info": { type: "boolean", default: false },
    "define-first": { type: "boolean", default: false },
  },
});
const RUNS = Math.max(1, Math.min(50, Number(options.runs)));
const LATENCY = Number(options.latency);

/**
 * Differences that are deliberate (test/refs.test.ts lists them): for a dataset with no _FillValue
 * and every chunk stored we write fill_value null where kerchunk writes HDF5's default fill (0),
 * which makes xarray mask real zeros; a never-written 0-d variable (the granule's `crs`) gets its
 * fill value inline as its one chunk, where kerchunk writes none (and VirtualiZarr refuses it).
 */
const deviations: { key: RegExp; diff: RegExp; what: string }[] = [
  { key: /\/\.zarray$/, diff: /\.zarray\.fill_value: ours null != kerchunk 0(\.0)?$/, what: "fill_value" },
  { key: /^crs\/0$/, diff: /^missing from kerchunk's$/, what: "0-d fill chunk" },
];
const deviationOf = (key: string, diffs: string[]) => deviations.find((d) => d.key.test(key) && diffs.every((diff) => d.diff.test(diff)));
function parityVerdict(parity: { keys: number; differences: Record<string, string[]> }): string {
  const all = Object.entries(parity.differences);
  const unexpected = all.filter(([key, diffs]) => !deviationOf(key, diffs));
  if (all.length === 0) return "yes";
  if (unexpected.length === 0) return `yes, apart from the documented deviations (${all.map(([key, diffs]) => `${key}: ${deviationOf(key, diffs)!.what}`).join(", ")})`;
  return `no (${unexpected.length} keys differ, e.g. ${unexpected[0]![0]}: ${unexpected[0]![1][0]})`;
}

const log = (message: string): void => console.error(`[bench] ${message}`);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function scriptHash(script: string): Promise<string> {
  return createHash("sha256").update(await readFile(join(here, script))).digest("hex").slice(0, 16);
}

/** Run a Python script of bench/refs in the venv; its stdout is JSON. */
async function py<T>(script: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const { stdout } = await run(python, [join(here, script), ...args], { maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs, env });
  return JSON.parse(stdout) as T;
}

/** A generated input, cached under the hash of its generator; stale versions are removed. */
async function cached(prefix: string, script: string, suffix: string, args: string[]): Promise<string> {
  const hash = await scriptHash(script);
  const path = join(workDir, `${prefix}-${hash}${suffix}`);
  for (const name of await readdir(workDir)) {
    if (name.startsWith(`${prefix}-`) && name.endsWith(suffix) && !name.includes(hash)) await rm(join(workDir, name), { force: true });
  }
  if (existsSync(path)) return path;
  log(`writing ${path} (${script} ${args.join(" ")})`);
  const started = Date.now();
  await run(python, [join(here, script), `${path}.partial`, ...args], { maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60_000 });
  await rename(`${path}.partial`, path);
  log(`  done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return path;
}

interface Measurement {
  wallMs: number;
  cpuMs?: number;
  requests: number;
  bytes: number;
  roundTrips: number;
  log: LoggedRequest[];
}

function summarise(requests: LoggedRequest[], wallMs: number, cpuMs?: number): Measurement {
  return {
    wallMs,
    cpuMs,
    requests: requests.length,
    bytes: requests.reduce((sum, r) => sum + r.bytes, 0),
    roundTrips: sequentialRoundTrips(requests, LATENCY),
    log: requests,
  };
}

/** Ours over S3 through the proxy: a new client and cache each time, as an activity would have. */
async function oursS3(url: string, endpoint: string, counter: CountingProxy): Promise<{ m: Measurement; result: TranslateResult }> {
  const mark = counter.log.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const opened = openSource(url, { endpoint });
  const result = await translateHdf5(opened.source, { inlineThreshold: INLINE });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await opened.close();
  return { m: summarise(counter.since(mark), wallMs, (cpu.user + cpu.system) / 1000), result };
}

async function oursLocal(path: string): Promise<{ wallMs: number; cpuMs: number; result: TranslateResult }> {
  // With --expose-gc, collect first so that no run pays for the garbage of the one before.
  (globalThis as { gc?: () => void }).gc?.();
  const source = new LocalFileSource(path);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await translateHdf5(new BlockCache(source), { inlineThreshold: INLINE });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await source.close();
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, result };
}

interface KerchunkTiming {
  wall_ms: number;
  cpu_ms: number;
  chunks: number;
}

async function kerchunkS3(url: string, endpoint: string, out: string, counter: CountingProxy, env: NodeJS.ProcessEnv): Promise<Measurement> {
  const mark = counter.log.length;
  const timing = await py<KerchunkTiming>("kerchunk_translate.py", [url, out, "--endpoint", endpoint, "--inline-threshold", String(INLINE)], 10 * 60_000, env);
  return summarise(counter.since(mark), timing.wall_ms, timing.cpu_ms);
}

const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const fmtBytes = (b: number): string => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} kB`);

/** How ours read the file: one line per request, in start order, times relative to the first. */
function describeReads(requests: LoggedRequest[]): string[] {
  const sorted = [...requests].sort((a, b) => a.start - b.start);
  const t0 = sorted[0]?.start ?? 0;
  return sorted.map(
    (r) => `${fmtMs(r.start - t0).padStart(6)}..${fmtMs(r.end - t0).padStart(6)} ms  ${r.method} ${r.range ?? "(no range)"}  ${fmtBytes(r.bytes)}`,
  );
}

async function main(): Promise<void> {
  await mkdir(workDir, { recursive: true });
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  log(machine);

  const file = options["define-first"]
    ? await cached("himawari-define-first", "make_himawari.py", ".nc", ["20220113", "--define-first"])
    : await cached("himawari", "make_himawari.py", ".nc", []);
  const fileSize = (await stat(file)).size;
  const scalingFiles = options["skip-scaling"]
    ? []
    : await Promise.all(SCALING_SIZES.map(async (n) => ({ n, path: await cached(`chunks${n}`, "make_many_chunks.py", ".h5", [String(n)]) })));

  const minioData = join(workDir, "minio-data");
  await rm(minioData, { recursive: true, force: true });
  const minio = new MinioServer({ dataDir: minioData, logFile: join(workDir, "minio.log") });
  const toxiproxy = new ToxiproxyServer({ logFile: join(workDir, "toxiproxy.log") });
  let counter: CountingProxy | undefined;
  const outDir = join(workDir, "out");
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  try {
    await Promise.all([minio.start(), toxiproxy.start()]);
    counter = await new CountingProxy({ host: "127.0.0.1", port: minio.port }).start();
    const proxy = await toxiproxy.createProxy("minio", `127.0.0.1:${counter.port}`);
    await proxy.latency(LATENCY);
    log(`MinIO ${minio.endpoint}; Toxiproxy ${proxy.url} (+${LATENCY} ms per response) -> counter :${counter.port} -> MinIO`);

    // Our process reads S3 as a worker would: credentials from the standard environment.
    process.env.AWS_ACCESS_KEY_ID = minio.accessKey;
    process.env.AWS_SECRET_ACCESS_KEY = minio.secretKey;
    process.env.AWS_REGION = "us-east-1";
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
    const pyEnv: NodeJS.ProcessEnv = { ...process.env };

    const direct = new S3Client({ endpoint: minio.endpoint, forcePathStyle: true, region: "us-east-1" });
    await direct.send(new CreateBucketCommand({ Bucket: "bench" }));
    const upload = async (path: string, key: string): Promise<string> => {
      await direct.send(new PutObjectCommand({ Bucket: "bench", Key: key, Body: await readFile(path) }));
      return `s3://bench/${key}`;
    };
    const url = await upload(file, "AHI-L2-FLDK-SST/2022/01/13/20220113000000-himawari-bench.nc");
    const scalingUrls = new Map<number, string>();
    for (const { n, path } of scalingFiles) scalingUrls.set(n, await upload(path, `scaling/chunks-${n}.h5`));
    direct.destroy();
    log(`uploaded ${fmtBytes(fileSize)} file and ${scalingFiles.length} scaling files`);

    // ---- Himawari-sized file: ours and kerchunk's, alternating, in the same run ----
    await oursS3(url, proxy.url, counter); // warm-up: module loading and JIT, not measured
    const ours: Measurement[] = [];
    const theirs: Measurement[] = [];
    let ourResult: TranslateResult | undefined;
    const kerchunkOut = join(outDir, "himawari.kerchunk.json");
    for (let i = 0; i < RUNS; i++) {
      const o = await oursS3(url, proxy.url, counter);
      ours.push(o.m);
      ourResult = o.result;
      const k = await kerchunkS3(url, proxy.url, kerchunkOut, counter, pyEnv);
      theirs.push(k);
      log(
        `run ${i + 1}/${RUNS}: ours ${fmtMs(o.m.wallMs)} ms, ${o.m.requests} req, ${fmtBytes(o.m.bytes)}, ${o.m.roundTrips} sequential, ` +
          `CPU ${fmtMs(o.m.cpuMs!)} ms | kerchunk ${fmtMs(k.wallMs)} ms, ${k.requests} req, ${fmtBytes(k.bytes)}, ${k.roundTrips} sequential`,
      );
    }
    const local = [];
    for (let i = 0; i < RUNS; i++) local.push(await oursLocal(file));

    const oursOut = join(outDir, "himawari.ours.json");
    await writeFile(oursOut, serializeRefs(ourResult!.refs));
    const parity = await py<{ keys: number; differences: Record<string, string[]> }>("compare_refs.py", [oursOut, kerchunkOut], 5 * 60_000);
    log(`parity: ${parity.keys} keys: ${parityVerdict(parity)}`);

    const pick = (ms: Measurement[], f: (m: Measurement) => number): number => median(ms.map(f));
    const row = (label: string, ms: Measurement[]): string =>
      `| ${label} | ${pick(ms, (m) => m.requests)} | ${pick(ms, (m) => m.roundTrips)} | ${fmtBytes(pick(ms, (m) => m.bytes))} ` +
      `(${((100 * pick(ms, (m) => m.bytes)) / fileSize).toFixed(2)} %) | ${fmtMs(pick(ms, (m) => m.wallMs))} | ` +
      `${fmtMs(pick(ms, (m) => m.cpuMs ?? NaN))} |`;
    const lines: string[] = [];
    lines.push(`Machine: ${machine}. File: ${fmtBytes(fileSize)}, ${ourResult!.chunkCount} chunks. Latency toxic: ${LATENCY} ms per response. Medians of ${RUNS} runs.`);
    lines.push("");
    lines.push("| | requests | sequential round trips | bytes read (share of file) | wall ms | CPU ms |");
    lines.push("| --- | --- | --- | --- | --- | --- |");
    lines.push(row("ours (S3 via Toxiproxy)", ours));
    lines.push(row("kerchunk + s3fs (S3 via Toxiproxy)", theirs));
    lines.push(
      `| ours, local file (parsing only) | - | - | - | ${fmtMs(median(local.map((l) => l.wallMs)))} | ${fmtMs(median(local.map((l) => l.cpuMs)))} |`,
    );
    lines.push("");
    lines.push(`Speed-up (kerchunk wall / ours wall, medians): ${(pick(theirs, (m) => m.wallMs) / pick(ours, (m) => m.wallMs)).toFixed(1)}x`);
    lines.push(`Refs equal after normalising: ${parityVerdict(parity)}; ${parity.keys} keys.`);
    lines.push(`Every run, ours: wall ${ours.map((m) => fmtMs(m.wallMs)).join(", ")} ms; CPU ${ours.map((m) => fmtMs(m.cpuMs!)).join(", ")} ms; requests ${ours.map((m) => m.requests).join(", ")}`);
    lines.push(`Every run, kerchunk: wall ${theirs.map((m) => fmtMs(m.wallMs)).join(", ")} ms; requests ${theirs.map((m) => m.requests).join(", ")}; bytes ${theirs.map((m) => fmtBytes(m.bytes)).join(", ")}`);
    lines.push("");
    lines.push("Our reads (last run):");
    lines.push(...describeReads(ours[ours.length - 1]!.log).map((l) => `    ${l}`));
    lines.push("kerchunk's reads (last run):");
    lines.push(...describeReads(theirs[theirs.length - 1]!.log).map((l) => `    ${l}`));

    // ---- Scaling in the number of chunks ----
    const scaling: Record<string, unknown>[] = [];
    if (scalingFiles.length > 0) {
      lines.push("");
      lines.push("| chunks | ours local wall ms | ours local CPU ms | ours S3 requests / sequential / wall ms | kerchunk local wall ms (chunk_iter) | kerchunk local wall ms (get_chunk_info, #331) | refs equal |");
      lines.push("| --- | --- | --- | --- | --- | --- | --- |");
      let getChunkInfoGaveUp = false;
      await oursLocal(scalingFiles[0]!.path); // warm-up (JIT), not measured
      for (const { n, path } of scalingFiles) {
        const localRuns = [];
        for (let i = 0; i < 7; i++) localRuns.push(await oursLocal(path));
        const s3run = await oursS3(scalingUrls.get(n)!, proxy.url, counter);
        const kOut = join(outDir, `chunks${n}.kerchunk.json`);
        const kRuns: KerchunkTiming[] = [];
        for (let i = 0; i < 3; i++) kRuns.push(await py<KerchunkTiming>("kerchunk_translate.py", [path, kOut], 10 * 60_000));
        let slow: string;
        if (getChunkInfoGaveUp) {
          slow = "not run (the previous size took over 60 s; --full-get-chunk-info runs it)";
        } else {
          try {
            const t = await py<KerchunkTiming>("kerchunk_translate.py", [path, join(outDir, `chunks${n}.gci.json`), "--get-chunk-info"], 450_000);
            slow = fmtMs(t.wall_ms);
            if (t.wall_ms > 60_000 && !options["full-get-chunk-info"]) getChunkInfoGaveUp = true;
          } catch {
            slow = "over 450 s (stopped)";
            getChunkInfoGaveUp = true;
          }
        }
        const oOut = join(outDir, `chunks${n}.ours.json`);
        await writeFile(oOut, serializeRefs(localRuns[0]!.result.refs));
        const p = await py<{ keys: number; differences: Record<string, string[]> }>("compare_refs.py", [oOut, kOut], 5 * 60_000);
        const equal = parityVerdict(p);
        const entry = {
          chunks: n,
          oursLocalWallMs: median(localRuns.map((r) => r.wallMs)),
          oursLocalCpuMs: median(localRuns.map((r) => r.cpuMs)),
          oursS3: { requests: s3run.m.requests, roundTrips: s3run.m.roundTrips, wallMs: s3run.m.wallMs, bytes: s3run.m.bytes },
          kerchunkChunkIterWallMs: median(kRuns.map((r) => r.wall_ms)),
          kerchunkGetChunkInfoWallMs: slow,
          refsEqual: equal,
        };
        scaling.push(entry);
        log(`scaling ${n}: ${JSON.stringify(entry)}`);
        lines.push(
          `| ${n} | ${fmtMs(entry.oursLocalWallMs)} | ${fmtMs(entry.oursLocalCpuMs)} | ${s3run.m.requests} / ${s3run.m.roundTrips} / ${fmtMs(s3run.m.wallMs)} | ` +
            `${fmtMs(entry.kerchunkChunkIterWallMs)} | ${slow} | ${equal} |`,
        );
      }
    }

    const report = lines.join("\n");
    console.log(report);
    const resultsFile = join(workDir, `results-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    await writeFile(
      resultsFile,
      JSON.stringify(
        {
          machine,
          fileSize,
          latencyMs: LATENCY,
          runs: RUNS,
          ours: ours.map(({ log: l, ...m }) => ({ ...m, reads: l })),
          kerchunk: theirs.map(({ log: l, ...m }) => ({ ...m, reads: l })),
          oursLocal: local.map(({ wallMs, cpuMs }) => ({ wallMs, cpuMs })),
          parity,
          scaling,
        },
        null,
        1,
      ),
    );
    log(`results: ${resultsFile}`);
  } finally {
    await counter?.stop();
    await Promise.allSettled([minio.stop(), toxiproxy.stop()]);
    if (!options["keep-fixture"]) {
      await rm(minioData, { recursive: true, force: true });
      await rm(outDir, { recursive: true, force: true });
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error("[bench] failed:", error);
    process.exit(1);
  },
);
