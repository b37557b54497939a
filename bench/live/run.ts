/**
 * Live arrivals (issue 23): files PUT into a MinIO bucket whose webhook target is `listen`'s
 * receiver, committed by the live workflow, and how long each takes from its PUT to being readable
 * (the snapshot that first holds it: its `writtenAt`, read from the store's history at the end, so
 * measuring costs the run nothing), at a steady rate and in a burst. Also commits per minute, the
 * store's size, and the Schedule's latency for the same files (computed from its rule: hourly runs,
 * a day built 3 hours after it ends; not run).
 *
 * Everything in one process except the servers: a Temporal dev server and a MinIO of its own (started
 * with MINIO_NOTIFY_WEBHOOK_*), the receiver (lib/live/listener.ts, delivering with signalWithStart
 * as `listen` does), one worker. Files are Himawari-like netCDF-4 (python/make_archive.py, a 30 x 60
 * grid: extraction is not what is measured), one an hour, in time order.
 *
 * usage: npx tsx bench/live/run.ts [--rate 1] [--seconds 120] [--burst 100] [--window-ms 1000]
 */
import { CreateBucketCommand, ListObjectsV2Command, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Client, Connection } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DatasetRegistry } from "../../lib/datasets/config.js";
import { resolveDatasetSpec } from "../../lib/datasets/spec.js";
import { openRepository, repositoryKey } from "../../lib/icechunk/index.js";
import { resolveIcechunkOptions } from "../../lib/icechunk/options.js";
import { startListener } from "../../lib/live/listener.js";
import { parseLiveCommitMessage } from "../../lib/live/records.js";
import { pickPort } from "../../lib/servers/ports.js";
import { repositoryRoot, sleep } from "../../lib/servers/process.js";
import { makeArchive, testDataset } from "../../test/harness/archive.js";
import { MinioServer } from "../../test/harness/servers/minio.js";
import { TemporalDevServer } from "../../worker/devServer.js";
import { createWorker } from "../../worker/worker.js";
import { arriveSignal, liveStatusQuery, liveV1 } from "../../workflows/live.js";
import { searchAttributeRegistrations } from "../../workflows/searchAttributes.js";
import { useMinio } from "../servers.js";

const { values } = parseArgs({
  options: { rate: { type: "string", default: "1" }, seconds: { type: "string", default: "120" }, burst: { type: "string", default: "100" }, "window-ms": { type: "string", default: "1000" } },
});
const rate = Number(values.rate);
const steady = Math.round(rate * Number(values.seconds));
const burst = Number(values.burst);
const windowMs = Number(values["window-ms"]);

const work = join(repositoryRoot, ".work/bench-live");
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const archive = join(work, "archive");
const days = Math.ceil((steady + burst) / 24);
const keys = (await makeArchive(archive, "2022-03-01", days, { hours: 24, grid: [30, 60] })).slice(0, steady + burst);
console.error(`${keys.length} files written in ${Math.round(performance.now() / 1000)} s`);

const listenPort = await pickPort();
await mkdir(join(work, "minio-events"));
const minio = await new MinioServer({
  logFile: join(work, "minio.log"),
  env: { MINIO_NOTIFY_WEBHOOK_ENABLE_TK: "on", MINIO_NOTIFY_WEBHOOK_ENDPOINT_TK: `http://127.0.0.1:${listenPort}/`, MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_TK: join(work, "minio-events") },
}).start();
useMinio(minio);
const server = await new TemporalDevServer({ searchAttributes: searchAttributeRegistrations, dbFile: join(work, "temporal.db"), logFile: join(work, "temporal.log") }).start();
const s3 = new S3Client({ forcePathStyle: true });
const [source, output] = ["live-bench-src", "live-bench-out"];
for (const Bucket of [source, output]) await s3.send(new CreateBucketCommand({ Bucket }));
await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: source, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: "arn:minio:sqs::TK:webhook", Events: ["s3:ObjectCreated:*"] }] } }));

const spec = resolveDatasetSpec({ ...testDataset("live-bench", { kind: "s3", bucket: source }, { kind: "s3", bucket: output }), output: { storage: { kind: "s3", bucket: output }, prefix: "refs", suffix: "", format: "icechunk" } });
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

const putAt = new Map<string, number>();
async function put(key: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: source, Key: key, Body: await readFile(join(archive, key)) }));
  putAt.set(`s3://${source}/${key}`, Date.now());
}

/** When each file first appeared in a snapshot (from the store's history), by URL. */
async function readableTimes(): Promise<Map<string, number>> {
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

async function waitAll(urls: string[]): Promise<Map<string, number>> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      const seen = await readableTimes();
      if (urls.every((u) => seen.has(u))) return seen;
    } catch {
      // no store yet
    }
    if (Date.now() > deadline) throw new Error("not every file became readable within 30 minutes");
    await sleep(2000);
  }
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
function summary(label: string, urls: string[], seen: Map<string, number>, commits: number, spanMs: number): string {
  const latencies = urls.map((u) => (seen.get(u)! - putAt.get(u)!) / 1000).sort((a, b) => a - b);
  return `| ${label} | ${urls.length} | ${quantile(latencies, 0.5).toFixed(1)} s | ${quantile(latencies, 0.99).toFixed(1)} s | ${latencies[latencies.length - 1]!.toFixed(1)} s | ${((commits * 60_000) / spanMs).toFixed(1)} |`;
}
const commitsSoFar = async (): Promise<number> => (await client.workflow.getHandle(workflowId).query(liveStatusQuery)).counts.commits;

const url = (key: string): string => `s3://${source}/${key}`;
const rows: string[] = [];
try {
  // Steady: one file every 1/rate s, in time order.
  const steadyKeys = keys.slice(0, steady);
  const start = Date.now();
  for (const [i, key] of steadyKeys.entries()) {
    const due = start + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    await put(key);
  }
  let seen = await waitAll(steadyKeys.map(url));
  const steadyEnd = Math.max(...steadyKeys.map((k) => seen.get(url(k))!));
  const steadyCommits = await commitsSoFar();
  rows.push(summary(`steady, ${rate}/s for ${values.seconds} s`, steadyKeys.map(url), seen, steadyCommits, steadyEnd - start));

  // A burst: the next files as fast as 16 PUTs at once go.
  const burstKeys = keys.slice(steady);
  const burstStart = Date.now();
  for (let i = 0; i < burstKeys.length; i += 16) await Promise.all(burstKeys.slice(i, i + 16).map(put));
  seen = await waitAll(burstKeys.map(url));
  const burstEnd = Math.max(...burstKeys.map((k) => seen.get(url(k))!));
  rows.push(summary(`burst of ${burstKeys.length}`, burstKeys.map(url), seen, (await commitsSoFar()) - steadyCommits, burstEnd - burstStart));

  let bytes = 0;
  let objects = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: output, Prefix: repositoryKey(spec), ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      bytes += o.Size ?? 0;
      objects++;
    }
    token = page.NextContinuationToken;
  } while (token);
  const status = await client.workflow.getHandle(workflowId).query(liveStatusQuery);
  // The Schedule for the same files (hourly runs, lag 3 h): a file of hour h is built at its day's
  // end + 3 h, by the next hourly run: (24 - h) + 3 + U(0, 1) hours after it lands.
  const scheduleHours = keys.map((_, i) => 24 - (i % 24) + 3 + 0.5).sort((a, b) => a - b);
  console.log("| arrivals | files | arrival → readable p50 | p99 | max | commits/min |\n| --- | --- | --- | --- | --- | --- |");
  console.log(rows.join("\n"));
  console.log(`\nstore: ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${objects} objects after ${keys.length} files; live workflow: ${JSON.stringify(status.counts)}, run ${status.runs}`);
  console.log(`Schedule (every 1 h, lag 3 h) for the same files: p50 ${quantile(scheduleHours, 0.5).toFixed(1)} h, p99 ${quantile(scheduleHours, 0.99).toFixed(1)} h after arrival (computed from its rule)`);
} finally {
  await listener.close();
  worker.shutdown();
  await running;
  await connection.close();
  await server.stop();
  s3.destroy();
  await minio.stop();
}
