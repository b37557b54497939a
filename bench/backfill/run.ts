/**
 * The backfill on Temporal against the same backfill without it (`backfillDirect`, the anchor), on
 * the same archive, in the same run (issue 5, re-done for issue 12). Reports wall time, files per
 * second, the CPU each process spent, the machine's load, the workers' peak memory, the largest
 * history, whether the `progress` query ends exact, how the work was shared between workers, where
 * the wall time went (`timeline`: before the first extraction, the extractions, after them), and
 * (--rerun) how long a re-run of the finished range takes and what it visits.
 *
 *   npx tsx bench/backfill/run.ts [--start 2022-01-01] [--days 31] [--hours 24] [--grid 30x60|full]
 *       [--source local|s3] [--latency-ms 20] [--workers 1] [--aggregation day|month|year]
 *       [--max-days N] [--max-files N] [--files-per-activity N] [--small-day-files N] [--eager]
 *       [--direct-files 4] [--direct-days 1] [--skip-direct] [--rest-seconds 0] [--rerun] [--json out.json]
 *       [--worker-node PATH] [--worker-node-arg=--cpu-prof ...] [--worker-arg=--max-activities --worker-arg=8 ...] [--compiled]
 *       [--kerchunk] [--kerchunk-threads 8] [--kerchunk-days N] [--warm-up-days N] [--perf FILE] [--out-dir DIR] [--server-config KEY=VALUE ...]
 *
 * --grid full writes files of the real product's size (9000 x 18000, 72 MB each: bench/backfill/make_full_size.py).
 * --source s3 serves the archive from MinIO behind Toxiproxy (every response delayed by
 * --latency-ms), for the anchor and the workers alike; local reads the folder. The archive is
 * written once per (start, days, hours, grid) under .work/bench/backfill/ and reused. --eager
 * starts the dev server with eager activity execution (system.enableActivityEagerExecution);
 * --rollback-journal with the dev server's own SQLite default (a rollback journal synced at every
 * commit) instead of our TemporalDevServer's default, WAL with synchronous=NORMAL. Workers run
 * with the bin's node flags (cli/binFlags.ts), then any --worker-node-arg (a later flag wins),
 * on this Node.js, or on the one --worker-node names (e.g. a newer release, to tell what V8's
 * compilers cost the worker there; the dev server, MinIO and this process stay as they are).
 * --compiled runs the workers as deployed (the bin, `dist/cli/main.js worker`, after `npm run
 * build`) instead of from source through tsx. --kerchunk (with --source s3) also builds the month with kerchunk + s3fs
 * (bench/backfill/kerchunk_month.py: SingleHdf5ToZarr per file, --kerchunk-threads at once, then
 * MultiZarrToZarr per day) from the same store in the same run, after the Temporal run;
 * --kerchunk-days N gives it only the archive's first N days (its cost a file does not depend on how
 * long the range is, and a year of it would take most of an hour).
 * --rest-seconds N waits N seconds between the run's parts (the bare library before, the Temporal
 * run, the bare library after, kerchunk + s3fs): this VM runs the same work up to a third slower
 * for a minute or more after minutes of load on both cores, which without a rest falls on
 * whichever part comes next (docs/benchmarks.md, issue 20).
 * --warm-up-days N first runs, before the clock, a backfill of the archive's first N days as
 * another dataset (its own copy of the files in another bucket, its own output, so that no layout
 * hint, cached byte or output is shared with the measured run) on the same workers: the measured
 * month then runs on workers whose code V8 has compiled already, as in a long backfill, where
 * that compilation is paid once in its first minute (docs/benchmarks.md, issue 20). --perf FILE
 * records the workers during the measured run with `perf record -g` (the workers then run with
 * --perf-basic-prof); `npx tsx bench/threadProfile.ts FILE --pid PID` tells where their CPU went.
 * --server-config KEY=VALUE (repeatable; VALUE in JSON) sets the dev server's dynamic config over
 * our defaults (`FEW_SHARDS_DYNAMIC_CONFIG`), e.g. history.transferProcessorMaxPollRPS=20 for the
 * server's own. --out-dir DIR puts the outputs (and so the staging files) in DIR/run-<time>, removed after the
 * run, instead of the run's folder: e.g. /dev/shm, to tell what this machine's file system costs.
 */
import { Client, Connection } from "@temporalio/client";
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { backfillDirect } from "../../lib/backfill/direct.js";
import type { Aggregation } from "../../lib/backfill/model/index.js";
import { resolveDatasetSpec, type DatasetSpec } from "../../lib/datasets/spec.js";
import { MinioServer } from "../../test/harness/servers/minio.js";
import { serverConfigOf, useMinio } from "../servers.js";
import { ManagedProcess, repositoryRoot, sleep } from "../../lib/servers/process.js";
import { ToxiproxyServer } from "../../test/harness/servers/toxiproxy.js";
import { uploadArchive } from "../../test/harness/archive.js";
import { TemporalDevServer } from "../../worker/devServer.js";
import { backfillV3 } from "../../workflows/backfill.js";
import { progressQuery } from "../../workflows/messages.js";
import { backfillOptions } from "../../workflows/options.js";
import { searchAttributeRegistrations } from "../../workflows/searchAttributes.js";
import type { BackfillInput, BackfillSummary } from "../../workflows/types.js";
import { binNodeFlags } from "../../cli/binFlags.js";
import { benchArchive, benchDir, cpuSeconds, keysUpTo, lastDayOf, parseBenchGrid, threadCpuSeconds } from "../archive.js";
import { historyStats, runHistories, timelineOf, workShare } from "./histories.js";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    start: { type: "string", default: "2022-01-01" },
    days: { type: "string", default: "31" },
    hours: { type: "string", default: "24" },
    grid: { type: "string", default: "30x60" },
    source: { type: "string", default: "local" },
    "latency-ms": { type: "string", default: "20" },
    workers: { type: "string", default: "1" },
    aggregation: { type: "string", default: "day" },
    "max-days": { type: "string" },
    "max-files": { type: "string" },
    "files-per-activity": { type: "string" },
    "small-day-files": { type: "string" },
    eager: { type: "boolean", default: false },
    "rollback-journal": { type: "boolean", default: false },
    "direct-files": { type: "string", default: "4" },
    "direct-days": { type: "string", default: "1" },
    "skip-direct": { type: "boolean", default: false },
    "rest-seconds": { type: "string", default: "0" },
    rerun: { type: "boolean", default: false },
    json: { type: "string" },
    "worker-node-arg": { type: "string", multiple: true },
    "worker-node": { type: "string" },
    "worker-arg": { type: "string", multiple: true },
    compiled: { type: "boolean", default: false },
    kerchunk: { type: "boolean", default: false },
    "kerchunk-threads": { type: "string", default: "8" },
    "kerchunk-days": { type: "string" },
    "warm-up-days": { type: "string", default: "0" },
    perf: { type: "string" },
    "out-dir": { type: "string" },
    "server-config": { type: "string", multiple: true },
  },
});
const days = Number(values.days);
const hours = Number(values.hours);
const grid = parseBenchGrid(values.grid!);
const end = lastDayOf(values.start!, days);
const kerchunkDays = values["kerchunk-days"] === undefined ? undefined : Number(values["kerchunk-days"]);
if (kerchunkDays !== undefined && !(Number.isInteger(kerchunkDays) && kerchunkDays >= 1)) {
  console.error(`--kerchunk-days: ${JSON.stringify(values["kerchunk-days"])} is not a whole number of days (1 or more)`);
  process.exit(2);
}
const restMs = Number(values["rest-seconds"]) * 1000;
if (!(restMs >= 0)) {
  console.error(`--rest-seconds: ${JSON.stringify(values["rest-seconds"])} is not a number of seconds (0 or more)`);
  process.exit(2);
}
const workerNode = values["worker-node"] === undefined ? process.execPath : resolve(values["worker-node"]);
if (!existsSync(workerNode)) {
  console.error(`--worker-node: ${workerNode} does not exist`);
  process.exit(2);
}
const workerNodeVersion = execFileSync(workerNode, ["--version"], { encoding: "utf8" }).trim();
const s3 = values.source === "s3";

const log = (message: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** Peak resident memory of a process so far (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;

function dataset(source: DatasetSpec["source"]["storage"], output: string, name = "bench"): DatasetSpec {
  return {
    name,
    source: { storage: source, root: "AHI-L2-FLDK-SST", template: "{year}/{month}/{day}/*/{year}{month}{day}*", extension: ".nc" },
    output: { storage: { kind: "local", path: output }, prefix: "", suffix: "" },
    combine: { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] },
    aggregation: values.aggregation as Aggregation,
  };
}

async function main(): Promise<void> {
  const { archive, keys } = await benchArchive(values.start!, days, hours, grid, log);
  const files = keys.length;
  const load = [loadavg()[0]!];
  const runDir = join(benchDir, `run-${Date.now()}`);
  await mkdir(runDir, { recursive: true });
  // Where the outputs and the staging files go: the run's folder, or a folder of --out-dir.
  const outDir = values["out-dir"] ? join(resolve(values["out-dir"]), basename(runDir)) : runDir;

  // The source: the folder, or MinIO behind Toxiproxy (every response `latency-ms` late).
  let source: DatasetSpec["source"]["storage"] = { kind: "local", path: archive };
  let s3Bucket = "";
  const warmUpDays = Number(values["warm-up-days"]);
  const warmUpEnd = lastDayOf(values.start!, warmUpDays);
  const warmUpKeys = keysUpTo(keys, warmUpEnd);
  let warmUpSource: DatasetSpec["source"]["storage"] = { kind: "local", path: archive };
  const minio = s3 ? new MinioServer({ dataDir: join(runDir, "minio-data"), logFile: join(runDir, "minio.log") }) : undefined;
  const toxiproxy = s3 ? new ToxiproxyServer({ logFile: join(runDir, "toxiproxy.log") }) : undefined;
  const server = new TemporalDevServer({
    searchAttributes: searchAttributeRegistrations,
    dbFile: join(runDir, "temporal.db"),
    logFile: join(runDir, "temporal.log"),
    ...(values["rollback-journal"] ? { sqlitePragmas: {} } : {}),
    dynamicConfig: {
      ...(values.eager ? { "system.enableActivityEagerExecution": true } : {}),
      ...serverConfigOf(values["server-config"]),
    },
  });
  const workers: ManagedProcess[] = [];
  let connection: Connection | undefined;
  try {
    if (minio && toxiproxy) {
      await Promise.all([minio.start(), toxiproxy.start()]);
      useMinio(minio);
      const bucket = await uploadArchive(archive, keys, "bench");
      const proxy = await toxiproxy.createProxy("bench", minio.endpoint);
      await proxy.latency(Number(values["latency-ms"]));
      source = { kind: "s3", bucket, endpoint: proxy.url };
      s3Bucket = bucket;
      if (warmUpDays > 0) warmUpSource = { kind: "s3", bucket: await uploadArchive(archive, warmUpKeys, "warmup"), endpoint: proxy.url };
      log(`archive on MinIO (${bucket}) behind Toxiproxy +${values["latency-ms"]} ms`);
    }

    // The anchor: the library without Temporal, before and after the Temporal run (the machine
    // is shared: their mean is the reference, and their spread says how much the load moved).
    const directRuns: number[] = [];
    let direct: BackfillSummary | undefined;
    const runDirect = async (label: string): Promise<void> => {
      const directOut = join(outDir, `out-direct-${label}`);
      const t = performance.now();
      const cpu = process.cpuUsage();
      direct = await backfillDirect(resolveDatasetSpec(dataset(source, directOut)), values.start!, end, Number(values["direct-files"]), Number(values["direct-days"]));
      directRuns.push(performance.now() - t);
      const used = process.cpuUsage(cpu);
      log(`direct (${label}): ${seconds(directRuns.at(-1)!)} s (${Math.round((used.user + used.system) / 1000)} ms CPU), ${direct.days.written} days written`);
    };
    // Each part after another starts on a rested machine (--rest-seconds).
    const rest = async (): Promise<void> => {
      if (restMs > 0) await sleep(restMs);
    };
    if (!values["skip-direct"]) {
      await runDirect("before");
      await rest();
    }

    // On Temporal: a dev server and worker processes, all started before the clock starts.
    const temporalOut = join(outDir, "out-temporal");
    await server.start();
    const serverPid = (server as unknown as { process?: { pid?: number } }).process?.pid;
    const config = join(runDir, "datasets.json");
    const warmUp = warmUpDays > 0 ? [dataset(warmUpSource, join(outDir, "out-warmup"), "warmup")] : [];
    await writeFile(config, JSON.stringify({ datasets: [dataset(source, temporalOut), ...warmUp] }));
    for (let i = 0; i < Number(values.workers); i++) {
      const worker = new ManagedProcess(
        `worker-${i + 1}`,
        workerNode,
        [...binNodeFlags(resolve(repositoryRoot, "cli/main.ts")), ...(values["worker-node-arg"] ?? []), ...(values.perf ? ["--perf-basic-prof"] : []), ...(values.compiled ? [resolve(repositoryRoot, "dist/cli/main.js")] : ["--import", "tsx", resolve(repositoryRoot, "cli/main.ts")]), "worker", "--address", server.address, "--task-queue", "bench", "--config", config, ...(values["worker-arg"] ?? [])],
        join(runDir, `worker-${i + 1}.log`),
        { ...process.env, TK_LOG_LEVEL: "WARN" },
      );
      await worker.start();
      workers.push(worker);
    }
    // Worker start-up is not part of the backfill: wait until each polls (its log says so), then a
    // second more (under load a fixed 4 s wait let start-up CPU into the measured run).
    const logFile = (i: number): string => join(runDir, `worker-${i + 1}.log`);
    await Promise.all(workers.map((w, i) => w.waitUntil(async () => /polling \d+ ms after start/.test(readFileSync(logFile(i), "utf8")), 120_000)));
    await sleep(1000);
    connection = await Connection.connect({ address: server.address });
    const workerConnection = connection;
    // A worker that dies (a crash, a V8 flag's own bug) would leave a workflow's result waited for
    // forever: its exit ends the run instead, with the end of its log, and cancels the wait (a
    // call still retrying when the connection closes throws from its timer).
    const whileWorkersRun = <T>(work: () => Promise<T>): Promise<T> => {
      const cancel = new AbortController();
      const died = Promise.race(workers.map((w) => w.failWhenExited()));
      died.catch(() => cancel.abort());
      return Promise.race([workerConnection.withAbortSignal(cancel.signal, work), died]);
    };
    const client = new Client({ connection });
    const input: BackfillInput = {
      dataset: "bench",
      start: values.start!,
      end,
      ...(values["max-days"] ? { maxConcurrentDays: Number(values["max-days"]) } : {}),
      ...(values["max-files"] ? { maxConcurrentFiles: Number(values["max-files"]) } : {}),
      ...(values["files-per-activity"] ? { filesPerActivity: Number(values["files-per-activity"]) } : {}),
      ...(values["small-day-files"] !== undefined ? { smallDayFiles: Number(values["small-day-files"]) } : {}),
    };
    // The warm-up is measured as the measured run is, with its settings: on workers fresh from
    // start-up, it is the first month a worker runs.
    let warmUpRun: Record<string, unknown> | undefined;
    if (warmUpDays > 0) {
      const serverBefore = cpuSeconds(serverPid);
      const workersBefore = workers.map((w) => cpuSeconds(w.pid));
      const warmUpThreadsBefore = workers.map((w) => threadCpuSeconds(w.pid));
      const w = performance.now();
      const warmed = await whileWorkersRun(() => client.workflow.execute(backfillV3, { ...backfillOptions({ ...input, dataset: "warmup", end: warmUpEnd }, "bench/warmup"), taskQueue: "bench" }));
      const warmUpMs = performance.now() - w;
      const workerCpu = workers.reduce((sum, worker, i) => sum + cpuSeconds(worker.pid) - workersBefore[i]!, 0);
      warmUpRun = {
        files: warmed.files.extracted,
        seconds: seconds(warmUpMs),
        filesPerSecond: +(warmed.files.extracted / (warmUpMs / 1000)).toFixed(1),
        workerCpuMsPerFile: +((1000 * workerCpu) / warmed.files.extracted).toFixed(2),
        serverCpuMsPerFile: +((1000 * (cpuSeconds(serverPid) - serverBefore)) / warmed.files.extracted).toFixed(2),
        workerThreadCpuSeconds: workers.map((w, i) => threadCpuDelta(warmUpThreadsBefore[i]!, threadCpuSeconds(w.pid))),
      };
      log(`warm-up: ${JSON.stringify(warmUpRun)}`);
      await sleep(1000);
    }
    const perf = values.perf
      ? spawn("perf", ["record", "-F", "999", "-g", "-o", values.perf, "-p", workers.map((w) => w.pid!).join(",")], { stdio: "ignore" })
      : undefined;
    if (perf) {
      // perf attaches before the clock starts; one that could not (not installed, not allowed) is told here, not waited for.
      perf.once("error", () => undefined);
      await sleep(500);
      if (perf.exitCode !== null || perf.pid === undefined) throw new Error(`--perf: perf record is not running (exit ${perf.exitCode ?? "none"}): is perf installed and allowed (kernel.perf_event_paranoid)?`);
    }
    const cpuBefore = { server: cpuSeconds(serverPid), workers: workers.map((w) => cpuSeconds(w.pid)) };
    const threadsBefore = workers.map((w) => threadCpuSeconds(w.pid));
    const t = performance.now();
    const handle = await client.workflow.start(backfillV3, { ...backfillOptions(input, "bench/backfill"), taskQueue: "bench" });
    const sampler = setInterval(() => load.push(loadavg()[0]!), 5000);
    const summary = await whileWorkersRun(() => handle.result());
    const temporalMs = performance.now() - t;
    clearInterval(sampler);
    if (perf && perf.exitCode === null) {
      const exited = new Promise((r) => perf.once("exit", r));
      perf.kill("SIGINT");
      await exited;
    }
    const cpu = { server: cpuSeconds(serverPid) - cpuBefore.server, workers: workers.map((w, i) => cpuSeconds(w.pid) - cpuBefore.workers[i]!) };
    // Where a worker's CPU went, by thread (threads that ended during the run are not counted).
    const workerThreads = workers.map((w, i) => threadCpuDelta(threadsBefore[i]!, threadCpuSeconds(w.pid)));
    const progress = await handle.query(progressQuery);
    log(`temporal: ${seconds(temporalMs)} s, ${summary.days.written} days written`);
    if (!values["skip-direct"]) {
      await rest();
      await runDirect("after");
    }
    const directMs = directRuns.length > 0 ? directRuns.reduce((a, b) => a + b, 0) / directRuns.length : 0;

    // The kerchunk + s3fs anchor: the same range (or its first --kerchunk-days) from the same
    // store, after the Temporal run.
    let kerchunk: Record<string, unknown> | undefined;
    if (values.kerchunk && s3) {
      await rest();
      let keysFile = join(archive, ".keys.json");
      if (kerchunkDays !== undefined) {
        keysFile = join(runDir, "kerchunk-keys.json");
        await writeFile(keysFile, JSON.stringify(keysUpTo(keys, lastDayOf(values.start!, kerchunkDays))));
      }
      const { stdout } = await run(
        resolve(repositoryRoot, ".venv/bin/python"),
        [resolve(repositoryRoot, "bench/backfill/kerchunk_month.py"), keysFile, join(runDir, "out-kerchunk"), "--bucket", s3Bucket, "--endpoint", (source as { endpoint: string }).endpoint, "--threads", values["kerchunk-threads"]!],
        { maxBuffer: 64 * 1024 * 1024, timeout: 60 * 60_000 },
      );
      kerchunk = JSON.parse(stdout) as Record<string, unknown>;
      log(`kerchunk + s3fs: ${kerchunk.wall_s} s, ${kerchunk.files_per_s} files/s, ${kerchunk.cpu_s} s CPU`);
    }

    // The re-run of the finished range: what it takes, and what it visits.
    let rerun: Record<string, unknown> | undefined;
    if (values.rerun) {
      const r = performance.now();
      const again = await client.workflow.execute(backfillV3, { ...backfillOptions(input, "bench/rerun"), taskQueue: "bench" });
      const rerunMs = performance.now() - r;
      const levels: Record<string, number> = {};
      for await (const execution of client.workflow.list({ query: `TkDataset = 'bench' AND StartTime > '${new Date(Date.now() - rerunMs - 2000).toISOString()}'` })) {
        levels[execution.type] = (levels[execution.type] ?? 0) + 1;
      }
      rerun = { seconds: seconds(rerunMs), days: again.days, rollups: again.rollups, files: again.files, status: again.status, workflowsStarted: levels };
      log(`re-run: ${seconds(rerunMs)} s, ${JSON.stringify(levels)}`);
    }

    const histories = await historyStats(client, "bench");
    // Every history, fetched once, when there are few enough (or the work share between workers is asked).
    const runs = Number(values.workers) > 1 || histories.workflows <= 600 ? await runHistories(client, "bench") : undefined;
    const timeline = runs && histories.workflows <= 600 ? timelineOf(runs) : undefined;
    const share = runs ? workShare(runs, workers.map((w) => w.pid!)) : undefined;
    const identical = direct ? await run("diff", ["-r", join(outDir, "out-direct-before"), temporalOut]).then(() => true, () => false) : undefined;
    const result = {
      command: `npx tsx bench/backfill/run.ts ${process.argv.slice(2).join(" ")}`,
      machine: { cores: cpus().length, node: process.version, workerNode: workerNodeVersion, loadAverage: { first: load[0], max: Math.max(...load), mean: +(load.reduce((a, b) => a + b, 0) / load.length).toFixed(1) } },
      archive: { files, days, hours, grid, source: s3 ? `s3 +${values["latency-ms"]} ms` : "local", aggregation: values.aggregation },
      warmUp: warmUpRun,
      settings: {
        maxConcurrentDays: input.maxConcurrentDays ?? "default",
        maxConcurrentFiles: input.maxConcurrentFiles ?? "default",
        filesPerActivity: input.filesPerActivity ?? "default",
        smallDayFiles: input.smallDayFiles ?? "default",
        workers: workers.length,
        workerArgs: (values["worker-arg"] ?? []).join(" "),
        outputs: outDir === runDir ? "the run's folder" : outDir,
        server: `dev server, SQLite ${values["rollback-journal"] ? "rollback journal" : "WAL"}${values.eager ? ", eager activities" : ""}${(values["server-config"] ?? []).map((setting) => `, ${setting}`).join("")}`,
      },
      directSeconds: direct ? seconds(directMs) : undefined,
      directRuns: directRuns.map(seconds),
      temporalSeconds: seconds(temporalMs),
      overhead: direct ? +(temporalMs / directMs).toFixed(2) : undefined,
      filesPerSecond: { temporal: +(files / (temporalMs / 1000)).toFixed(1), direct: direct ? +(files / (directMs / 1000)).toFixed(1) : undefined },
      cpuSeconds: { server: +cpu.server.toFixed(1), workers: cpu.workers.map((c) => +c.toFixed(1)) },
      workerCpuMsPerFile: cpu.workers.map((c) => +((1000 * c) / files).toFixed(2)),
      workerThreadCpuSeconds: workerThreads,
      workerPeakRssMiB: workers.map((w) => Math.round(peakRssMiB(w.pid!))),
      workerPids: workers.map((w) => w.pid),
      summary: { status: summary.status, days: summary.days, rollups: summary.rollups, files: summary.files },
      progressExact:
        progress.daysDone === summary.days.total &&
        progress.daysWritten === summary.days.written &&
        progress.filesListed === summary.files.listed &&
        progress.filesDone === summary.files.listed &&
        progress.running.length === 0,
      progress: { daysDone: progress.daysDone, filesListed: progress.filesListed, filesDone: progress.filesDone, running: progress.running.length },
      histories,
      timeline,
      share,
      outputsIdentical: identical,
      kerchunk,
      rerun,
    };
    console.log(JSON.stringify(result, null, 2));
    if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
  } finally {
    await connection?.close();
    await Promise.allSettled(workers.map((w) => w.stop()));
    await Promise.allSettled([server.stop(), minio?.stop(), toxiproxy?.stop()]);
    await rm(join(runDir, "minio-data"), { recursive: true, force: true });
    if (outDir !== runDir) await rm(outDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

/** CPU seconds by thread name between two readings (threads that ended meanwhile are not counted). */
function threadCpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, s]) => [name, +(s - (before[name] ?? 0)).toFixed(2)]).filter(([, s]) => (s as number) > 0));
}
