/**
 * Live arrivals (issue 23) beside the Schedule, in one run. Files are PUT into a MinIO bucket whose
 * webhook target is `listen`'s receiver and committed by the live workflow; the same files reach a
 * second store kept up to date only by the product's Schedule (`temporal-kerchunk schedule`,
 * firing `updateDataset` every `--schedule-every`, lag 0 h). For each path: how long each file
 * takes from its PUT to being readable (the snapshot that first holds it: its `writtenAt`, read
 * from the store's history at the end, so measuring costs the run nothing), at a steady rate and
 * in a burst; commits per minute; the store's size; the S3 requests each path sent (MinIO's own
 * per-bucket counters, bench/live/requests.ts) and the CPU it took.
 *
 * The Schedule builds a day once the day is complete (`--lag-hours` after its end, in production).
 * Here a day of 24 files lasts 24 s at 1 file/s, so the Schedule gets its own source bucket and a
 * day is copied into it (server-side) the moment the day's last file of the run has been PUT, days
 * in calendar order: the day is complete when the Schedule can first see it, as the lag makes it
 * in production (without this it would build half days, which it never revisits). Its latency here
 * is therefore (the rest of the day, compressed to seconds) + (the wait for the next firing) + (the
 * firing's run); in production the first term is (24 - h) hours + the lag for a file of hour h, and
 * the second up to the interval: the run prints that projection with the measured run time.
 * The files are dated the days before today (the Schedule builds up to yesterday).
 *
 * Processes: a Temporal dev server and a MinIO of their own (MinIO started with
 * MINIO_NOTIFY_WEBHOOK_* and public metrics); in this process the receiver (lib/live/listener.ts,
 * delivering with signalWithStart as `listen` does) and the live worker; the Schedule's worker is a
 * `temporal-kerchunk worker` process of its own, so its CPU is its own. Files are Himawari-like
 * netCDF-4 (python/make_archive.py, a 30 x 60 grid: extraction is not what is measured), one an
 * hour, in time order.
 *
 * usage: npx tsx bench/live/run.ts [--rate 1] [--seconds 120] [--burst 100] [--window-ms 1000] [--schedule-every 30s]
 */
import { CopyObjectCommand, CreateBucketCommand, ListObjectsV2Command, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Client, Connection } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { scheduleCommand } from "../../cli/schedule.js";
import { DatasetRegistry } from "../../lib/datasets/config.js";
import { resolveDatasetSpec, type DatasetSpec, type ResolvedDatasetSpec } from "../../lib/datasets/spec.js";
import { dayCommits } from "../../lib/icechunk/history.js";
import { openRepository, repositoryKey } from "../../lib/icechunk/index.js";
import { resolveIcechunkOptions } from "../../lib/icechunk/options.js";
import { startListener } from "../../lib/live/listener.js";
import { parseLiveCommitMessage } from "../../lib/live/records.js";
import { pickPort } from "../../lib/servers/ports.js";
import { repositoryRoot, sleep } from "../../lib/servers/process.js";
import { makeArchive, startWorkerProcess, testDataset, writeConfig } from "../../test/harness/archive.js";
import { MinioServer } from "../../test/harness/servers/minio.js";
import { TemporalDevServer } from "../../worker/devServer.js";
import { createWorker } from "../../worker/worker.js";
import { arriveSignal, liveStatusQuery, liveV1 } from "../../workflows/live.js";
import { searchAttributeRegistrations } from "../../workflows/searchAttributes.js";
import { useMinio } from "../servers.js";
import { bucketRequests, describeRequests, metricsEnv, requestsSince, totalRequests, type RequestCounts } from "./requests.js";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "1" },
    seconds: { type: "string", default: "120" },
    burst: { type: "string", default: "100" },
    "window-ms": { type: "string", default: "1000" },
    "schedule-every": { type: "string", default: "30s" },
  },
});
const rate = Number(values.rate);
const steady = Math.round(rate * Number(values.seconds));
const burst = Number(values.burst);
const windowMs = Number(values["window-ms"]);
const scheduleEvery = values["schedule-every"]!;
const everyMatch = /^(\d+)(s|m|h)$/.exec(scheduleEvery);
if (!everyMatch) throw new Error(`--schedule-every ${scheduleEvery}: expected a duration like 30s, 5m or 1h`);
const everySeconds = Number(everyMatch[1]) * { s: 1, m: 60, h: 3600 }[everyMatch[2] as "s" | "m" | "h"];
const loadAtStart = loadavg();

const work = join(repositoryRoot, ".work/bench-live");
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const archive = join(work, "archive");
const days = Math.ceil((steady + burst) / 24);
// The days before today: the Schedule builds up to yesterday (lag 0 h).
const DAY_MS = 86_400_000;
const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const today = Date.parse(`${isoDay(Date.now())}T00:00:00Z`);
const firstDay = isoDay(today - days * DAY_MS);
const keys = (await makeArchive(archive, firstDay, days, { hours: 24, grid: [30, 60] })).slice(0, steady + burst);
console.error(`${keys.length} files (${firstDay} on) written in ${Math.round(performance.now() / 1000)} s`);

const listenPort = await pickPort();
await mkdir(join(work, "minio-events"));
const minio = await new MinioServer({
  logFile: join(work, "minio.log"),
  env: {
    MINIO_NOTIFY_WEBHOOK_ENABLE_TK: "on",
    MINIO_NOTIFY_WEBHOOK_ENDPOINT_TK: `http://127.0.0.1:${listenPort}/`,
    MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_TK: join(work, "minio-events"),
    ...metricsEnv,
  },
}).start();
useMinio(minio);
const server = await new TemporalDevServer({ searchAttributes: searchAttributeRegistrations, dbFile: join(work, "temporal.db"), logFile: join(work, "temporal.log") }).start();
const s3 = new S3Client({ forcePathStyle: true });
const [source, output, scheduleSource, scheduleOutput] = ["live-bench-src", "live-bench-out", "live-bench-sched-src", "live-bench-sched-out"];
for (const Bucket of [source, output, scheduleSource, scheduleOutput]) await s3.send(new CreateBucketCommand({ Bucket }));
await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: source, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: "arn:minio:sqs::TK:webhook", Events: ["s3:ObjectCreated:*"] }] } }));

const icechunkDataset = (name: string, from: string, to: string): DatasetSpec => ({
  ...testDataset(name, { kind: "s3", bucket: from }, { kind: "s3", bucket: to }),
  output: { storage: { kind: "s3", bucket: to }, prefix: "refs", suffix: "", format: "icechunk" },
});
const spec = resolveDatasetSpec(icechunkDataset("live-bench", source, output));
const scheduleDataset = icechunkDataset("live-bench-sched", scheduleSource, scheduleOutput);
const scheduleSpec = resolveDatasetSpec(scheduleDataset);
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });
const taskQueue = "live-bench";
const worker = await createWorker({ connection: await NativeConnection.connect({ address: server.address }), datasets: new DatasetRegistry([spec]), taskQueue });
const running = worker.run();
const workflowId = `${spec.name}/live`;
const listener = await startListener({
  spec,
  port: listenPort,
  deliver: async (arrivals) => {
    await client.workflow.signalWithStart(liveV1, { workflowId, taskQueue, args: [{ dataset: spec.name, windowMs }], signal: arriveSignal, signalArgs: [arrivals] });
  },
});
// The Schedule's worker: `temporal-kerchunk worker`, a process of its own (its CPU is the Schedule's).
const scheduleQueue = "live-bench-schedule";
const scheduleWorker = await startWorkerProcess({ address: server.address, taskQueue: scheduleQueue, config: await writeConfig(work, [scheduleDataset]), logFile: join(work, "schedule-worker.log") });
/** CPU seconds a process has used so far (/proc/PID/stat: utime + stime, in clock ticks of 1/100 s). */
const cpuSeconds = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const requestsOf = async (...buckets: string[]): Promise<RequestCounts> => {
  const counts: RequestCounts = {};
  for (const bucket of buckets) for (const [name, n] of Object.entries(await bucketRequests(minio.endpoint, bucket))) counts[name] = (counts[name] ?? 0) + n;
  return counts;
};
/**
 * What each path costs, read at the start and the end of the steady phase, while this process reads
 * neither store (it only PUTs): S3 requests (the live source bucket's PutObject are the arrivals and
 * its CopyObject the days handed to the Schedule's bucket, both left out), CPU (the live path's:
 * this process, the receiver, the live worker and the PUTs; the Schedule's: its worker process),
 * and the Schedule's firings.
 */
interface Costs {
  /** The live source bucket's (less the arrivals' PUTs and the copies) and the live store's. */
  live: RequestCounts;
  schedule: RequestCounts;
  liveCpu: number;
  scheduleCpu: number;
  firings: number;
  at: number;
}
const costs = async (): Promise<Costs> => {
  const usage = process.cpuUsage();
  return {
    live: await requestsOf(output).then(async (store) => {
      for (const [name, n] of Object.entries(without(await requestsOf(source), "PutObject", "CopyObject"))) store[name] = (store[name] ?? 0) + n;
      return store;
    }),
    schedule: await requestsOf(scheduleSource, scheduleOutput),
    liveCpu: (usage.user + usage.system) / 1e6,
    scheduleCpu: cpuSeconds(scheduleWorker.pid!),
    firings: (await client.schedule.getHandle(scheduleId).describe()).info.numActionsTaken,
    at: Date.now(),
  };
};
const without = (counts: RequestCounts, ...names: string[]): RequestCounts => Object.fromEntries(Object.entries(counts).filter(([name]) => !names.includes(name)));

// The Schedule, made as a user makes it. The range reaches back to the archive's first day.
const scheduleId = `${scheduleSpec.name}/update`;
const lookbackDays = Math.round((Date.parse(`${isoDay(today - DAY_MS).slice(0, 8)}01T00:00:00Z`) - Date.parse(`${firstDay}T00:00:00Z`)) / DAY_MS);
const made = await scheduleCommand.run(["--dataset", scheduleSpec.name, "--every", scheduleEvery, "--lag-hours", "0", "--lookback-days", String(Math.max(0, lookbackDays)), "--address", server.address, "--task-queue", scheduleQueue]);
if (made !== 0) throw new Error(`temporal-kerchunk schedule exited ${made}`);

const putAt = new Map<string, number>();
const url = (key: string): string => `s3://${source}/${key}`;
const dayOf = (key: string): string => key.split("/").slice(1, 4).join("-");
// The run's files of each day, and when each day was handed to the Schedule (complete).
const runFilesOf = new Map<string, string[]>();
for (const key of keys) runFilesOf.set(dayOf(key), [...(runFilesOf.get(dayOf(key)) ?? []), key]);
const completeAt = new Map<string, number>();
const pendingDays = [...runFilesOf.keys()].sort();
let copying = Promise.resolve();
/** Days whose run files are all PUT go to the Schedule's bucket, in calendar order. */
function handOnCompleteDays(): void {
  while (pendingDays.length > 0 && runFilesOf.get(pendingDays[0]!)!.every((k) => putAt.has(url(k)))) {
    const day = pendingDays.shift()!;
    copying = copying.then(async () => {
      await Promise.all(runFilesOf.get(day)!.map((Key) => s3.send(new CopyObjectCommand({ Bucket: scheduleSource, Key, CopySource: `${source}/${Key}` }))));
      completeAt.set(day, Date.now());
    });
  }
}
async function put(key: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: source, Key: key, Body: await readFile(join(archive, key)) }));
  putAt.set(url(key), Date.now());
  handOnCompleteDays();
}

/** When each file first appeared in a snapshot of the live store (from its history), by URL. */
async function liveReadableTimes(): Promise<Map<string, number>> {
  const { repository } = await openRepository(spec, resolveIcechunkOptions(), { create: false });
  const seen = new Map<string, number>();
  const history = [...(await repository.ancestry({ branch: "main" }))].reverse();
  for (const snapshot of history) {
    for (const day of parseLiveCommitMessage(snapshot.message)?.days ?? []) {
      for (const [file] of day.files) if (!seen.has(day.source + file)) seen.set(day.source + file, Date.parse(String(snapshot.writtenAt)));
    }
  }
  return seen;
}

/** When each file's day was committed to the Schedule's store, by the file's URL in the live bucket. */
async function scheduleReadableTimes(): Promise<Map<string, number>> {
  const settings = resolveIcechunkOptions();
  const { repository } = await openRepository(scheduleSpec, settings, { create: false });
  const seen = new Map<string, number>();
  for (const commit of await dayCommits(repository, { branch: settings.branch })) {
    for (const file of commit.files) seen.set((commit.source + file).replace(`s3://${scheduleSource}/`, `s3://${source}/`), Date.parse(commit.writtenAt));
  }
  return seen;
}

async function waitAll(urls: string[], times: () => Promise<Map<string, number>>, what: string): Promise<Map<string, number>> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      const seen = await times();
      if (urls.every((u) => seen.has(u))) return seen;
    } catch {
      // no store yet
    }
    if (Date.now() > deadline) throw new Error(`not every file became readable in the ${what} store within 30 minutes`);
    await sleep(2000);
  }
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
const latencies = (urls: string[], seen: Map<string, number>, from: (u: string) => number): number[] => urls.map((u) => (seen.get(u)! - from(u)) / 1000).sort((a, b) => a - b);
const seconds = (x: number): string => (x >= 600 ? `${(x / 60).toFixed(1)} min` : `${x.toFixed(1)} s`);
function row(path: string, label: string, sorted: number[], commits: number, spanMs: number, note = ""): string {
  return `| ${path} | ${label} | ${sorted.length} | ${seconds(quantile(sorted, 0.5))} | ${seconds(quantile(sorted, 0.99))} | ${seconds(sorted[sorted.length - 1]!)} | ${((commits * 60_000) / spanMs).toFixed(1)} | ${note} |`;
}
const liveCommitsSoFar = async (): Promise<number> => (await client.workflow.getHandle(workflowId).query(liveStatusQuery)).counts.commits;
/** Day commits of the Schedule's store written in [from, to]. */
const scheduleCommitsBetween = async (from: number, to: number): Promise<number> => {
  const settings = resolveIcechunkOptions();
  const { repository } = await openRepository(scheduleSpec, settings, { create: false });
  return (await dayCommits(repository, { branch: settings.branch })).filter((c) => Date.parse(c.writtenAt) >= from && Date.parse(c.writtenAt) <= to).length;
};
async function storeSize(bucket: string, prefix: string): Promise<{ bytes: number; objects: number }> {
  let bytes = 0;
  let objects = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      bytes += o.Size ?? 0;
      objects++;
    }
    token = page.NextContinuationToken;
  } while (token);
  return { bytes, objects };
}

const rows: string[] = [];
try {
  // Steady: one file every 1/rate s, in time order.
  const steadyKeys = keys.slice(0, steady);
  const steadyCosts = await costs();
  const start = Date.now();
  for (const [i, key] of steadyKeys.entries()) {
    const due = start + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    await put(key);
  }
  await copying;
  const steadyCostsEnd = await costs();
  const liveCommitsInSteady = await liveCommitsSoFar();
  let live = await waitAll(steadyKeys.map(url), liveReadableTimes, "live");
  const steadyEnd = Math.max(...steadyKeys.map((k) => live.get(url(k))!));
  const steadyCommits = await liveCommitsSoFar();
  const steadyLabel = `steady, ${rate}/s for ${values.seconds} s`;
  rows.push(row("live", steadyLabel, latencies(steadyKeys.map(url), live, (u) => putAt.get(u)!), steadyCommits, steadyEnd - start));

  // A burst: the next files as fast as 16 PUTs at once go.
  const burstKeys = keys.slice(steady);
  const burstStart = Date.now();
  for (let i = 0; i < burstKeys.length; i += 16) await Promise.all(burstKeys.slice(i, i + 16).map(put));
  live = await waitAll(burstKeys.map(url), liveReadableTimes, "live");
  const burstEnd = Math.max(...burstKeys.map((k) => live.get(url(k))!));
  const burstLabel = `burst of ${burstKeys.length}`;
  rows.push(row("live", burstLabel, latencies(burstKeys.map(url), live, (u) => putAt.get(u)!), (await liveCommitsSoFar()) - steadyCommits, burstEnd - burstStart));
  const liveStatus = await client.workflow.getHandle(workflowId).query(liveStatusQuery);

  // The Schedule: every file of the run in its store.
  await copying;
  const scheduled = await waitAll(keys.map(url), scheduleReadableTimes, "Schedule's");
  const scheduleDone = Math.max(...keys.map((k) => scheduled.get(url(k))!));
  // Firings with nothing new (most of them in production: a day is built once, by one firing of 24
  // or more): two more, their costs read while this process reads neither store.
  const idleFirings = await costs();
  while ((await client.schedule.getHandle(scheduleId).describe()).info.numActionsTaken < idleFirings.firings + 2) await sleep(1000);
  while ((await client.schedule.getHandle(scheduleId).describe()).info.runningActions.length > 0) await sleep(1000);
  const idleFiringsEnd = await costs();
  await client.schedule.getHandle(scheduleId).delete();
  // The Schedule's worker idle (polling Temporal), beside its CPU while the Schedule fired.
  const idleFrom = cpuSeconds(scheduleWorker.pid!);
  await sleep(10_000);
  const idleCpuPerMinute = (cpuSeconds(scheduleWorker.pid!) - idleFrom) * 6;
  const runs: number[] = [];
  for await (const execution of client.workflow.list({ query: `WorkflowType = 'updateDataset'` })) {
    if (execution.closeTime && execution.startTime) runs.push((execution.closeTime.getTime() - execution.startTime.getTime()) / 1000);
  }
  runs.sort((a, b) => a - b);
  const dayOfUrl = (u: string): string => dayOf(u.slice(`s3://${source}/`.length));
  const fromComplete = (u: string): number => completeAt.get(dayOfUrl(u))!;
  const steadyUrls = steadyKeys.map(url);
  const burstUrls = burstKeys.map(url);
  const steadySchedule = latencies(steadyUrls, scheduled, (u) => putAt.get(u)!);
  const burstSchedule = latencies(burstUrls, scheduled, (u) => putAt.get(u)!);
  const afterComplete = (urls: string[]): string => {
    const sorted = latencies(urls, scheduled, fromComplete);
    return `day complete → readable: p50 ${seconds(quantile(sorted, 0.5))}, p99 ${seconds(quantile(sorted, 0.99))}`;
  };
  // The steady files' last day may complete only with the burst: the span is to the last steady file readable.
  const steadyScheduleEnd = Math.max(...steadyUrls.map((u) => scheduled.get(u)!));
  rows.push(row(`Schedule (every ${scheduleEvery}, lag 0 h)`, steadyLabel, steadySchedule, await scheduleCommitsBetween(start, steadyScheduleEnd), steadyScheduleEnd - start, afterComplete(steadyUrls)));
  rows.push(row(`Schedule (every ${scheduleEvery}, lag 0 h)`, burstLabel, burstSchedule, await scheduleCommitsBetween(burstStart, scheduleDone), scheduleDone - burstStart, afterComplete(burstUrls)));

  const [liveStore, scheduleStore] = [await storeSize(output, repositoryKey(spec)), await storeSize(scheduleOutput, repositoryKey(scheduleSpec))];
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  // Production: a file of hour h is built when its day is complete (24 - h h) plus the lag, by the next firing (uniform over the interval), plus the run.
  const runP50 = runs.length > 0 ? quantile(runs, 0.5) : 0;
  const production = (everyHours: number, lagHours: number): string => {
    const hours = keys.map((_, i) => 24 - (i % 24) + lagHours + everyHours / 2 + runP50 / 3600).sort((a, b) => a - b);
    return `p50 ${quantile(hours, 0.5).toFixed(1)} h, p99 ${quantile(hours, 0.99).toFixed(1)} h`;
  };
  console.log(`| path | arrivals | files | arrival → readable p50 | p99 | max | commits/min | |\n| --- | --- | --- | --- | --- | --- | --- | --- |`);
  console.log(rows.join("\n"));
  console.log(`\nlive store: ${mib(liveStore.bytes)} in ${liveStore.objects} objects (${liveStatus.counts.commits} commits); Schedule's store: ${mib(scheduleStore.bytes)} in ${scheduleStore.objects} objects (${await scheduleCommitsBetween(0, Date.now())} day commits)`);
  const steadyMinutes = (steadyCostsEnd.at - steadyCosts.at) / 60_000;
  const per = (counts: RequestCounts, n: number): RequestCounts => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / Math.max(1, n)]));
  const liveAsked = requestsSince(steadyCosts.live, steadyCostsEnd.live);
  const scheduleAsked = requestsSince(without(steadyCosts.schedule, "CopyObject"), without(steadyCostsEnd.schedule, "CopyObject"));
  const firings = steadyCostsEnd.firings - steadyCosts.firings;
  const liveCpu = steadyCostsEnd.liveCpu - steadyCosts.liveCpu;
  const scheduleCpu = steadyCostsEnd.scheduleCpu - steadyCosts.scheduleCpu;
  console.log(`\ncosts over the steady phase (${steadyMinutes.toFixed(1)} min, ${steady} files; this process reads neither store meanwhile):`);
  console.log(`- live: ${liveCommitsInSteady} commits; ${totalRequests(liveAsked)} S3 requests, ${(totalRequests(liveAsked) / Math.max(1, liveCommitsInSteady)).toFixed(0)} per commit (${describeRequests(per(liveAsked, liveCommitsInSteady))}); CPU of this process (receiver, live worker, the PUTs) ${liveCpu.toFixed(1)} s, ${(liveCpu / steadyMinutes).toFixed(1)} s a minute`);
  console.log(`- Schedule: ${firings} firings; ${totalRequests(scheduleAsked)} S3 requests, ${(totalRequests(scheduleAsked) / Math.max(1, firings)).toFixed(0)} per firing (${describeRequests(per(scheduleAsked, firings))}); its worker's CPU ${scheduleCpu.toFixed(1)} s, ${(scheduleCpu / Math.max(1, firings)).toFixed(2)} s per firing (idle, it takes ${idleCpuPerMinute.toFixed(2)} s a minute)`);
  const nothingNew = requestsSince(without(idleFirings.schedule, "CopyObject"), without(idleFiringsEnd.schedule, "CopyObject"));
  const quietFirings = idleFiringsEnd.firings - idleFirings.firings;
  console.log(`- Schedule, ${quietFirings} firings with nothing new (after its store was complete): ${(totalRequests(nothingNew) / quietFirings).toFixed(0)} S3 requests per firing (${describeRequests(per(nothingNew, quietFirings))}); its worker's CPU ${((idleFiringsEnd.scheduleCpu - idleFirings.scheduleCpu) / quietFirings).toFixed(2)} s per firing`);
  console.log(`- Schedule runs (updateDataset, the whole run): ${runs.length}, run time p50 ${seconds(runP50)}, max ${seconds(runs[runs.length - 1] ?? 0)}`);
  console.log(`Schedule in production, the same files at their real times (a day complete 24 h after it starts), the measured run time added: every 1 h, lag 3 h: ${production(1, 3)}; every ${scheduleEvery}, lag 0 h: ${production(everySeconds / 3600, 0)}`);
  console.log(`load average at the start ${loadAtStart.map((x) => x.toFixed(1)).join(" ")}, at the end ${loadavg().map((x) => x.toFixed(1)).join(" ")} (2 vCPU)`);
} finally {
  await listener.close();
  await scheduleWorker.stop();
  worker.shutdown();
  await running;
  await connection.close();
  await server.stop();
  s3.destroy();
  await minio.stop();
}
