/**
 * The worker's library path alone, in this process, for profiling: `backfillDirect` over the
 * Himawari-like archive on MinIO behind Toxiproxy (as bench/backfill/run.ts serves it), with the
 * worker's default concurrency (every day of the month at once, one file at a time in each).
 * Reports process CPU per file (process.cpuUsage, robust to other load on the machine), S3
 * requests per file, and wall time. `--profile FILE` writes a V8 CPU profile of the second run
 * (bench/profileSummary.ts sums it up by area and function); `--heap-profile FILE` a sampling heap
 * profile of it that keeps the objects the GC collected too: where the GC's work comes from.
 *
 *   npx tsx bench/backfill/cpu.ts [--days 31] [--use-days 8] [--hours 24] [--grid 300x600|full]
 *       [--latency-ms 20] [--days-at-once 31] [--files 1] [--runs 2] [--source s3|local] [--profile FILE.cpuprofile] [--als]
 *       [--heap-profile FILE.heapprofile] [--promises] [--output local|s3]
 *
 * `--output s3` writes the staging and the day files to a bucket of the same MinIO, through the
 * same proxy (its latency too), as a deployment whose output is on S3; by default a local folder.
 *
 * `--promises` counts the promises made per file (v8.promiseHooks; the hook itself costs CPU, so
 * that run's CPU figures are not comparable): each is work for the event loop, and, inside an
 * AsyncLocalStorage (`--als`, as in a worker), for Node 20's promise hooks too.
 *
 * The first run warms up the process (module loading, JIT, the S3 client); the later ones are
 * the figures, each into a new output folder.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { AsyncLocalStorage } from "node:async_hooks";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { promiseHooks } from "node:v8";
import { backfillDirect } from "../../lib/backfill/direct.js";
import { resolveDatasetSpec, type DatasetSpec } from "../../lib/datasets/spec.js";
import { s3Attempts } from "../../lib/source/s3Client.js";
import { uploadArchive } from "../../test/harness/archive.js";
import { MinioServer } from "../../test/harness/servers/minio.js";
import { ToxiproxyServer } from "../../test/harness/servers/toxiproxy.js";
import { benchArchive, benchDir, keysUpTo, lastDayOf, parseBenchGrid, threadCpuSeconds } from "../archive.js";
import { useMinio } from "../servers.js";

const { values } = parseArgs({
  options: {
    start: { type: "string", default: "2022-01-01" },
    days: { type: "string", default: "31" },
    "use-days": { type: "string", default: "31" },
    hours: { type: "string", default: "24" },
    grid: { type: "string", default: "300x600" },
    "latency-ms": { type: "string", default: "20" },
    "days-at-once": { type: "string", default: "31" },
    files: { type: "string", default: "1" },
    runs: { type: "string", default: "2" },
    source: { type: "string", default: "s3" },
    output: { type: "string", default: "local" },
    profile: { type: "string" },
    "heap-profile": { type: "string" },
    als: { type: "boolean", default: false },
    promises: { type: "boolean", default: false },
  },
});
const log = (message: string): void => console.error(`[cpu ${new Date().toISOString().slice(11, 19)}] ${message}`);
if (values.output !== "local" && !(values.output === "s3" && values.source === "s3")) throw new Error(`--output ${values.output}: local, or s3 with --source s3 (the output goes to the sources' MinIO)`);
const days = Number(values.days);
const useDays = Math.min(days, Number(values["use-days"]));
const grid = parseBenchGrid(values.grid!);

const { archive, keys: allKeys } = await benchArchive(values.start!, days, Number(values.hours), grid, log);
const end = lastDayOf(values.start!, useDays);
const keys = keysUpTo(allKeys, end);
const runDir = join(benchDir, `cpu-${Date.now()}`);
await mkdir(runDir, { recursive: true });
const minio = values.source === "s3" ? new MinioServer({ dataDir: join(runDir, "minio-data"), logFile: join(runDir, "minio.log") }) : undefined;
const toxiproxy = minio ? new ToxiproxyServer({ logFile: join(runDir, "toxiproxy.log") }) : undefined;
try {
  let storage: DatasetSpec["source"]["storage"] = { kind: "local", path: archive };
  let endpoint = "";
  if (minio && toxiproxy) {
    await Promise.all([minio.start(), toxiproxy.start()]);
    useMinio(minio);
    const bucket = await uploadArchive(archive, keys, "cpu");
    const proxy = await toxiproxy.createProxy("cpu", minio.endpoint);
    await proxy.latency(Number(values["latency-ms"]));
    storage = { kind: "s3", bucket, endpoint: proxy.url };
    endpoint = proxy.url;
  }
  for (let run = 0; run < Number(values.runs); run++) {
    const output = join(runDir, `out-${run}`);
    const spec = resolveDatasetSpec({
      name: "bench",
      source: { storage, root: "AHI-L2-FLDK-SST", template: "{year}/{month}/{day}/*/{year}{month}{day}*", extension: ".nc" },
      output: { storage: values.output === "s3" ? { kind: "s3", bucket: await uploadArchive(archive, [], `cpu-out-${run}`), endpoint } : { kind: "local", path: output }, prefix: "", suffix: "" },
      combine: { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] },
      aggregation: "day",
    });
    // The profile (--profile FILE) covers the runs after the warm-up only.
    const session = (values.profile || values["heap-profile"]) && run === 1 ? new Session() : undefined;
    if (session) {
      session.connect();
      if (values.profile) {
        await session.post("Profiler.enable");
        await session.post("Profiler.setSamplingInterval", { interval: 500 });
        await session.post("Profiler.start");
      }
      if (values["heap-profile"]) {
        await session.post("HeapProfiler.enable");
        await session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      }
    }
    let promises = 0;
    const stopCounting = values.promises ? promiseHooks.onInit(() => void promises++) : undefined;
    const attempts = s3Attempts(endpoint).attempts;
    const cpu = process.cpuUsage();
    const threads = threadCpuSeconds(process.pid);
    const t = performance.now();
    // --als: inside an AsyncLocalStorage context, as an activity runs in a worker (Temporal's
    // activity Context): Node 20 then runs its promise hooks on every promise.
    const direct = () => backfillDirect(spec, values.start!, end, Number(values.files), Number(values["days-at-once"]));
    const summary = values.als ? await new AsyncLocalStorage<number>().run(run, direct) : await direct();
    const wall = performance.now() - t;
    stopCounting?.();
    const used = process.cpuUsage(cpu);
    // The main thread apart from the others (V8's helpers: GC, compilation; libuv's pool: file I/O).
    const threadsAfter = threadCpuSeconds(process.pid);
    const mainMs = ((threadsAfter.main ?? 0) - (threads.main ?? 0)) * 1000;
    const otherMs = Object.entries(threadsAfter).reduce((sum, [name, s]) => (name === "main" ? sum : sum + s - (threads[name] ?? 0)), 0) * 1000;
    if (session) {
      if (values.profile) await writeFile(values.profile, JSON.stringify((await session.post("Profiler.stop")).profile));
      if (values["heap-profile"]) await writeFile(values["heap-profile"], JSON.stringify((await session.post("HeapProfiler.stopSampling")).profile));
      session.disconnect();
    }
    const files = summary.files.listed;
    const requests = s3Attempts(endpoint).attempts - attempts;
    log(
      `run ${run + 1}${run === 0 ? " (warm-up)" : ""}: ${files} files, ${summary.days.written} days written, ` +
        `${((used.user + used.system) / 1000 / files).toFixed(2)} ms CPU/file (user ${(used.user / 1000 / files).toFixed(2)}, system ${(used.system / 1000 / files).toFixed(2)}; ` +
        `main thread ${(mainMs / files).toFixed(2)}, other threads ${(otherMs / files).toFixed(2)}), ` +
        `${(requests / files).toFixed(2)} S3 requests/file, ${(wall / 1000).toFixed(1)} s wall, ${(files / (wall / 1000)).toFixed(1)} files/s` +
        (values.promises ? `, ${(promises / files).toFixed(0)} promises/file` : ""),
    );
  }
  console.log(runDir);
} finally {
  await Promise.allSettled([minio?.stop(), toxiproxy?.stop()]);
  await rm(join(runDir, "minio-data"), { recursive: true, force: true });
}
