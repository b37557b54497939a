/**
 * netCDF-3 reference extraction (issue 22): ours vs kerchunk's NetCDF3ToZarr on one Himawari-like
 * netCDF-3 (64-bit offset) file in MinIO behind Toxiproxy (20 ms latency on every response), the
 * same chain as bench/refs/run.ts: client -> Toxiproxy -> counting HTTP proxy -> MinIO, so requests,
 * bytes and sequential round trips are counted the same way for both. Results: docs/benchmarks.md.
 *
 * usage: npx tsx --expose-gc bench/refs/netcdf3.ts [--runs 5] [--latency 20] [--grid 3000,6000]
 * The input is written once by bench/refs/make_netcdf3.py and cached in .work/bench/.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { repositoryRoot } from "../../lib/servers/process.js";
import { BlockCache } from "../../lib/source/blockCache.js";
import { LocalFileSource } from "../../lib/source/localFile.js";
import { openSource } from "../../lib/source/open.js";
import { translateFile } from "../../lib/translateFile.js";
import { MinioServer } from "../../test/harness/servers/minio.js";
import { ToxiproxyServer } from "../../test/harness/servers/toxiproxy.js";
import { CountingProxy, sequentialRoundTrips, type LoggedRequest } from "./countingProxy.js";

const run = promisify(execFile);
const here = resolve(repositoryRoot, "bench/refs");
const workDir = resolve(repositoryRoot, ".work/bench");
const python = resolve(repositoryRoot, ".venv/bin/python");
const INLINE = 100;

const { values: options } = parseArgs({
  options: { runs: { type: "string", default: "5" }, latency: { type: "string", default: "20" }, grid: { type: "string", default: "3000,6000" } },
});
const RUNS = Math.max(1, Math.min(50, Number(options.runs)));
const LATENCY = Number(options.latency);
const [NY, NX] = options.grid.split(",").map(Number) as [number, number];

const log = (message: string): void => console.error(`[bench] ${message}`);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const fmtBytes = (b: number): string => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} kB`);

interface Measurement {
  wallMs: number;
  cpuMs: number;
  requests: number;
  bytes: number;
  roundTrips: number;
  chunks: number;
}

const measured = (requests: LoggedRequest[], wallMs: number, cpuMs: number, chunks: number): Measurement => ({
  wallMs,
  cpuMs,
  chunks,
  requests: requests.length,
  bytes: requests.reduce((sum, r) => sum + r.bytes, 0),
  roundTrips: sequentialRoundTrips(requests, LATENCY),
});

async function main(): Promise<void> {
  await mkdir(workDir, { recursive: true });
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const file = join(workDir, `netcdf3-${NY}x${NX}.nc`);
  if (!existsSync(file)) {
    log(`writing ${file}`);
    await run(python, [join(here, "make_netcdf3.py"), `${file}.partial`, String(NY), String(NX)], { timeout: 30 * 60_000 });
    await rename(`${file}.partial`, file);
  }
  const fileSize = (await stat(file)).size;

  const minioData = join(workDir, "minio-data-netcdf3");
  await rm(minioData, { recursive: true, force: true });
  const minio = new MinioServer({ dataDir: minioData, logFile: join(workDir, "minio-netcdf3.log") });
  const toxiproxy = new ToxiproxyServer({ logFile: join(workDir, "toxiproxy-netcdf3.log") });
  let counter: CountingProxy | undefined;
  try {
    await Promise.all([minio.start(), toxiproxy.start()]);
    counter = await new CountingProxy({ host: "127.0.0.1", port: minio.port }).start();
    const proxy = await toxiproxy.createProxy("minio", `127.0.0.1:${counter.port}`);
    await proxy.latency(LATENCY);
    process.env.AWS_ACCESS_KEY_ID = minio.accessKey;
    process.env.AWS_SECRET_ACCESS_KEY = minio.secretKey;
    process.env.AWS_REGION = "us-east-1";
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
    const direct = new S3Client({ endpoint: minio.endpoint, forcePathStyle: true, region: "us-east-1" });
    await direct.send(new CreateBucketCommand({ Bucket: "bench" }));
    await direct.send(new PutObjectCommand({ Bucket: "bench", Key: "netcdf3.nc", Body: await readFile(file) }));
    direct.destroy();
    const url = "s3://bench/netcdf3.nc";

    const ours = async (): Promise<Measurement> => {
      (globalThis as { gc?: () => void }).gc?.();
      const mark = counter!.log.length;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const opened = openSource(url, { endpoint: proxy.url });
      const result = await translateFile(opened.source, { inlineThreshold: INLINE });
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      await opened.close();
      return measured(counter!.since(mark), wallMs, (cpu.user + cpu.system) / 1000, result.chunkCount);
    };
    const kerchunk = async (): Promise<Measurement> => {
      const mark = counter!.log.length;
      const { stdout } = await run(python, [join(here, "kerchunk_netcdf3.py"), url, join(workDir, "netcdf3.kerchunk.json"), "--endpoint", proxy.url], {
        timeout: 10 * 60_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      const timing = JSON.parse(stdout) as { wall_ms: number; cpu_ms: number; chunks: number };
      return measured(counter!.since(mark), timing.wall_ms, timing.cpu_ms, timing.chunks);
    };
    await ours(); // warm-up: module loading and JIT
    const oursRuns: Measurement[] = [];
    const theirRuns: Measurement[] = [];
    for (let i = 0; i < RUNS; i++) {
      oursRuns.push(await ours());
      theirRuns.push(await kerchunk());
      const [o, k] = [oursRuns[i]!, theirRuns[i]!];
      log(`run ${i + 1}/${RUNS}: ours ${fmtMs(o.wallMs)} ms, ${o.requests} req, ${fmtBytes(o.bytes)} | kerchunk ${fmtMs(k.wallMs)} ms, ${k.requests} req, ${fmtBytes(k.bytes)}`);
    }
    const local: { wallMs: number; cpuMs: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const source = new LocalFileSource(file);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await translateFile(new BlockCache(source), { inlineThreshold: INLINE });
      const cpu = process.cpuUsage(cpu0);
      local.push({ wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 });
      await source.close();
    }

    const pick = (ms: Measurement[], f: (m: Measurement) => number): number => median(ms.map(f));
    const row = (label: string, ms: Measurement[]): string =>
      `| ${label} | ${pick(ms, (m) => m.requests)} | ${pick(ms, (m) => m.roundTrips)} | ${fmtBytes(pick(ms, (m) => m.bytes))} | ` +
      `${fmtMs(pick(ms, (m) => m.wallMs))} | ${fmtMs(pick(ms, (m) => m.cpuMs))} | ${pick(ms, (m) => m.chunks)} |`;
    console.log(
      [
        `Machine: ${machine}. File: ${fmtBytes(fileSize)} (${NY} x ${NX}, CDF-2). Latency toxic: ${LATENCY} ms per response. Medians of ${RUNS} runs.`,
        "",
        "| netCDF-3 file, S3 at +20 ms | requests | sequential round trips | bytes read | wall ms | CPU ms | chunk keys |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        row("ours", oursRuns),
        row("kerchunk NetCDF3ToZarr + s3fs", theirRuns),
        `| ours, local file (parsing only) | - | - | - | ${fmtMs(median(local.map((l) => l.wallMs)))} | ${fmtMs(median(local.map((l) => l.cpuMs)))} | |`,
      ].join("\n"),
    );
  } finally {
    await counter?.stop();
    await Promise.allSettled([minio.stop(), toxiproxy.stop()]);
    await rm(minioData, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error("[bench] failed:", error);
    process.exit(1);
  },
);
