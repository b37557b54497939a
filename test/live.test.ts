/**
 * Issue 23, live arrivals, on real parts: a MinIO of this test's own, started with a webhook event
 * target (MINIO_NOTIFY_WEBHOOK_*_TK, with a queue_dir) pointing at `temporal-kerchunk listen` (a
 * process), the bucket's notification configured through the S3 API (arn:minio:sqs::TK:webhook), a
 * worker process on the run's dev server, and Himawari-like netCDF-4 files PUT one by one. After
 * each step, once the Icechunk store holds as many steps as files (read in this process), it is
 * read with Python icechunk + xarray (test/fixtures/python/icechunk_read.py): its time axis must be
 * exactly the files' times in order, and every step's values its file's (shown failing with two
 * files expected in the wrong order: "the store's time axis"). Along the way: an out-of-order arrival inside the store (the day is
 * rewritten), duplicates (an identical PUT, a replayed event), an overwrite (new ETag: reading the
 * step works only if the new version was committed, since Icechunk pins the ETag), a worker
 * SIGKILLed while a batch waits in the workflow, `listen` killed with files PUT while it is down
 * (MinIO keeps the events in its queue and delivers them after the restart), a key outside the
 * template (counted, dropped), and a file PUT with the bucket's notifications off (the workflow's
 * sweep, every 20 s here, finds it). Each fault is asserted to have fired. The workflow continues as new
 * after 60 history events, so the scenario crosses runs. No timing assertions.
 *
 * The library's rules without Temporal (the fourth suite, local files): the backfill's `commitDay` of a
 * day the live workflow has part of is refused (`partial-overlap`), of a day it has whole is
 * `existing`; a day that grew after the store's end gets only its new files written; a survey of an unchanged day writes nothing, a retried commit neither; days far after
 * the store's end, or far before it, are deferred.
 *
 * Shown failing: with the survey taking every day as unchanged (`changed` returning false) the
 * first wait timed out with no store; with an overwrite's references staged without its version
 * (the old staging reused) the store kept the old version ("the overwrite was never committed",
 * and the step did not read: "checksum of the object owning the virtual chunk has changed"); with
 * the sweep turned off (a sweep period of hours) the file without an event never appeared.
 *
 * A store with eras (last suite, the library on local files, as liveV1's batches call it): a
 * drifting archive (python/make_drift_archive.py) lands in batches across two era boundaries, an
 * arrival the latest era holds appended to it, late files into a day of the first era and into a
 * day that spans two eras (rewrites across eras). Read through python/open_icechunk.py every hour
 * is there once, in time order, decoded as netCDF4-python reads each file; the store's eras
 * (groups, lengths, attributes) and every key's bytes equal a backfill's of the same files; each
 * batch's staging is there before its commit and gone after; a retried commit whose staging was
 * removed writes nothing. A change of time calendar (noleap: not comparable by value) arriving
 * after the store's end starts an era, with the backfill's eras and bytes; a retried commit of it
 * writes nothing; a late file before it is refused `live-calendar`. A file overwritten by a version
 * without a variable it had: after the rewrite that variable reads NaN at its step, and the store
 * equals a backfill's. Shown failing: with the later eras left in place by the cut, the
 * rewrite failed out-of-order; with the files' URLs not handed to the era split, era002's
 * first_file was null where the backfill's names the file; without the removal the staging
 * check listed the batch's files; without staging a removed file again the retried commit failed
 * ENOENT; without the records' "after the store's end", the noleap file's arrival failed
 * live-calendar; without passing an era the retried run begins, its retry did; without removing
 * the old chunks past the cut, wind_speed read the old file's 48 values where the new file has
 * none ("absent from the file but 48 values are not NaN"). The checks on the
 * read fail on a file left out and on a naive read, the comparison on another set of files.
 */
import { CreateBucketCommand, ListObjectsV2Command, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Client, Connection } from "@temporalio/client";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFile, copyFile, mkdir, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import proto from "@temporalio/proto";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { resolveDatasetSpec, type DatasetSpec, type ResolvedDatasetSpec } from "../lib/datasets/spec.js";
import { backfillDirect } from "../lib/backfill/direct.js";
import { commitDay, containerPrefix, openRepository, repositoryKey, repositoryLocation } from "../lib/icechunk/index.js";
import { readEras as readStoreEras } from "../lib/icechunk/eras.js";
import { resolveIcechunkOptions } from "../lib/icechunk/options.js";
import type { LiveCommitSummary, LiveDay } from "../lib/live/model/steps.js";
import { IcechunkError } from "../lib/errors.js";
import { commitLiveDays } from "../lib/live/commit.js";
import { extractLiveDay, liveStagingKey } from "../lib/live/extract.js";
import { listLiveDay, surveyLive } from "../lib/live/survey.js";
import { parseS3Event } from "../lib/live/events.js";
import { dayOfKey, templatePattern } from "../lib/live/keys.js";
import { startListener } from "../lib/live/listener.js";
import { parseLiveCommitMessage } from "../lib/live/records.js";
import { pickPort } from "../lib/servers/ports.js";
import { ManagedProcess, canConnect, repositoryRoot, sleep } from "../lib/servers/process.js";
import { arriveSignal, liveStatusQuery, liveV1, type LiveStatus } from "../workflows/live.js";
import { makeArchive, makeDriftArchive, startWorkerProcess, testDataset, writeConfig } from "./harness/archive.js";
import { temporalAddress, testDir, uniqueBucket } from "./harness/env.js";
import { python } from "./harness/python.js";
import { until } from "./harness/wait.js";
import { MinioServer } from "./harness/servers/minio.js";
import { clientFor, pollQuery } from "./harness/temporal.js";
import { Worker } from "@temporalio/worker";
import { workflowBundle } from "../worker/bundle.js";

const DATASET = "live-sst";
let dir = "";
let archive = "";
let keys: string[] = [];
let minio: MinioServer;
let s3: S3Client;
let awsEnv: NodeJS.ProcessEnv = {};
let sourceBucket = "";
let outputBucket = "";
let spec: DatasetSpec;
let config = "";
let taskQueue = "";
let listenPort = 0;
let worker: ManagedProcess | undefined;
let listen: ManagedProcess | undefined;
let client: Client;
let connection: Connection;

function startListen(label: string): Promise<ManagedProcess> {
  const process_ = new ManagedProcess(
    "listen",
    process.execPath,
    ["--import", "tsx", resolve(repositoryRoot, "cli/main.ts"), "listen", "--dataset", DATASET, "--config", config, "--port", String(listenPort),
      "--address", temporalAddress(), "--task-queue", taskQueue, "--window-ms", "1000", "--sweep-every-ms", "20000", "--max-history-events", "60"],
    join(dir, `listen-${label}.log`),
    { ...process.env, ...awsEnv },
  );
  return process_.start().then(async () => {
    await process_.waitUntil(() => canConnect("127.0.0.1", listenPort), 60_000);
    return process_;
  });
}

const put = async (key: string, body?: Uint8Array): Promise<void> => {
  await s3.send(new PutObjectCommand({ Bucket: sourceBucket, Key: key, Body: body ?? (await readFile(join(archive, key))) }));
};

interface StoreReport {
  stores: { s: { history: { id: string; message: string }[]; time?: number[]; source_time?: number[] } };
  steps: { s: { step: number; ok: boolean; error?: string; values_equal?: boolean }[] };
}

/** The store read with Python icechunk + xarray, against the local copies of `expected` (keys, in time order). */
function readStore(expected: string[]): Promise<StoreReport> {
  const store = { store: { kind: "s3", bucket: outputBucket, prefix: repositoryKey(resolveDatasetSpec(spec)), endpoint: minio.endpoint }, container: { prefix: `s3://${sourceBucket}/`, kind: "s3" }, ref: { branch: "main" } };
  const files = expected.map((k) => join(archive, k));
  const plan = { stores: [{ id: "s", ...store, files }], steps: [{ id: "s", ...store, files }] };
  const path = join(dir, `plan-${Date.now()}.json`);
  return writeFile(path, JSON.stringify(plan)).then(() => python<StoreReport>("icechunk_read.py", [path], { ...process.env, ...awsEnv }));
}

/**
 * The store's main branch as this process reads it (@earthmover/icechunk, through our era reader):
 * its commit messages, newest first, and its length along time; undefined while there is no
 * store. What the waits poll: a Python read each second cost 3 s of CPU a poll.
 */
async function storeNow(): Promise<{ messages: string[]; steps: number } | undefined> {
  const resolved = resolveDatasetSpec(spec);
  const opened = await openRepository(resolved, resolveIcechunkOptions(), { create: false }).catch(() => undefined);
  if (!opened) return undefined;
  const { repository } = opened;
  const eras = await readStoreEras((await repository.readonlySession({ branch: "main" })).store, resolved.name, "time", []).catch(() => undefined);
  if (!eras) return undefined;
  let steps = 0;
  for (let e = 0; e < eras.groups.length; e++) steps += (await eras.era(e)).state.values.length;
  return { messages: (await repository.ancestry({ branch: "main" })).map((s) => s.message), steps };
}

/**
 * Wait until the store holds as many steps as `expected` has files; then the consumer's read must
 * find its time axis exactly the files' times in order, and every step its file's values.
 */
async function waitReadable(expected: string[], what: string, timeoutMs = 240_000): Promise<StoreReport> {
  await until(`${what}: ${expected.length} steps in the store`, async () => ((await storeNow())?.steps === expected.length ? true : undefined), timeoutMs);
  const report = await readStore(expected);
  assert.deepEqual(report.stores.s.time, report.stores.s.source_time, `${what}: the store's time axis`);
  const steps = report.steps.s;
  assert.equal(steps.length, expected.length, what);
  for (const step of steps) assert.ok(step.ok && step.values_equal, `${what}: step ${step.step}: ${step.error ?? "values differ"}`);
  return report;
}

/** The commit messages of a store the consumer read, newest first. */
const historyOf = (report: StoreReport): string[] => report.stores.s.history.map((h) => h.message);

/** Each day's newest live record (from commit messages, newest first): file → version. */
function liveRecords(messages: string[]): Map<string, Map<string, string>> {
  const days = new Map<string, Map<string, string>>();
  for (const message of messages) {
    for (const day of parseLiveCommitMessage(message)?.days ?? []) if (!days.has(day.day)) days.set(day.day, new Map(day.files.map(([f, v]) => [day.source + f, v])));
  }
  return days;
}

const status = (): Promise<LiveStatus> => client.workflow.getHandle(`${DATASET}/live`).query(liveStatusQuery);

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("live");
  archive = join(dir, "archive");
  keys = await makeArchive(archive, "2022-03-01", 2, { hours: 4, grid: [30, 60] });
  listenPort = await pickPort();
  taskQueue = `live-${Date.now().toString(36)}`;
  sourceBucket = uniqueBucket("live-src");
  outputBucket = uniqueBucket("live-out");
  spec = { ...testDataset(DATASET, { kind: "s3", bucket: sourceBucket }, { kind: "s3", bucket: outputBucket }), output: { storage: { kind: "s3", bucket: outputBucket }, prefix: "refs", suffix: "", format: "icechunk" } };
  config = await writeConfig(dir, [spec]);
  await mkdir(join(dir, "minio-events"));
  minio = await new MinioServer({
    logFile: join(dir, "minio.log"),
    env: {
      MINIO_NOTIFY_WEBHOOK_ENABLE_TK: "on",
      MINIO_NOTIFY_WEBHOOK_ENDPOINT_TK: `http://127.0.0.1:${listenPort}/`,
      MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_TK: join(dir, "minio-events"),
    },
  }).start();
  awsEnv = { AWS_ENDPOINT_URL: minio.endpoint, AWS_ACCESS_KEY_ID: minio.accessKey, AWS_SECRET_ACCESS_KEY: minio.secretKey, AWS_REGION: "us-east-1" };
  // This file's S3 is its own MinIO (the run's is not used here): `storeNow` reads the store from the environment.
  Object.assign(process.env, awsEnv);
  s3 = new S3Client({ endpoint: minio.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey } });
  await s3.send(new CreateBucketCommand({ Bucket: sourceBucket }));
  await s3.send(new CreateBucketCommand({ Bucket: outputBucket }));
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: sourceBucket,
      NotificationConfiguration: { QueueConfigurations: [{ QueueArn: "arn:minio:sqs::TK:webhook", Events: ["s3:ObjectCreated:*"] }] },
    }),
  );
  worker = await startWorkerProcess({ address: temporalAddress(), taskQueue, config, logFile: join(dir, "worker-1.log"), env: awsEnv });
  listen = await startListen("1");
});

after(async () => {
  await Promise.allSettled([worker?.stop(), listen?.stop()]);
  await client?.workflow.getHandle(`${DATASET}/live`).terminate("test over").catch(() => undefined);
  s3?.destroy();
  await minio?.stop();
  await connection?.close();
});

describe("live arrivals: keys and events", () => {
  test("a key's day comes from the template, and only the dataset's keys have one", () => {
    const resolved = resolveDatasetSpec(spec);
    assert.equal(dayOfKey(resolved, keys[5]!), "2022-03-02");
    assert.equal(dayOfKey(resolved, "AHI-L2-FLDK-SST/2022/03/01/notes.txt"), undefined);
    // The folder says the 1st, the name the 2nd: the day's listing would not find it.
    assert.equal(dayOfKey(resolved, keys[0]!.replace("/2022/03/01/", "/2022/03/02/")), undefined);
    assert.equal(templatePattern("{year}/{doy}/x{year}*.nc").exec("2022/060/x2022a.nc")?.groups?.doy, "060");
  });

  test("S3 event JSON: created objects with decoded keys and bare ETags; other records counted", () => {
    const body = JSON.stringify({
      Records: [
        { eventName: "s3:ObjectCreated:Put", s3: { bucket: { name: "b" }, object: { key: "a/b+c%2Bd.nc", eTag: "\"abc\"" } } },
        { eventName: "ObjectCreated:CompleteMultipartUpload", s3: { bucket: { name: "b" }, object: { key: "x.nc", eTag: "def" } } },
        { eventName: "s3:ObjectRemoved:Delete", s3: { bucket: { name: "b" }, object: { key: "y.nc" } } },
      ],
    });
    const parsed = parseS3Event(body);
    assert.deepEqual(parsed.created.map((c) => [c.key, c.etag]), [["a/b c+d.nc", "abc"], ["x.nc", "def"]]);
    assert.equal(parsed.other, 1);
    assert.throws(() => parseS3Event("{}"), /no Records list/);
  });
});

describe("live arrivals: the receiver's answers", () => {
  test("200 once Temporal has the arrivals, 503 when it cannot take them (the sender retries), 401 without the token, 400 for what is not an S3 event", async () => {
    const { client: own, connection: ownConnection } = await clientFor();
    const resolved = resolveDatasetSpec(spec);
    const workflowId = `${DATASET}-receiver/live`;
    const listener = await startListener({
      spec: resolved,
      authToken: "s3cret",
      deliver: async (arrivals) => {
        await own.workflow.signalWithStart(liveV1, { workflowId, taskQueue: `${taskQueue}-idle`, args: [{ dataset: DATASET }], signal: arriveSignal, signalArgs: [arrivals] });
      },
    });
    const post = (body: string, token = "s3cret") => fetch(listener.url, { method: "POST", body, headers: { authorization: `Bearer ${token}` } });
    const event = (key: string) => JSON.stringify({ Records: [{ eventName: "s3:ObjectCreated:Put", s3: { bucket: { name: sourceBucket }, object: { key, eTag: "e1" } } }] });
    try {
      assert.equal((await post(event(keys[0]!))).status, 200);
      // The signal is in the workflow's history although no worker polls its task queue.
      const history = await own.workflow.getHandle(workflowId).fetchHistory();
      assert.equal(history.events?.filter((e) => e.workflowExecutionSignaledEventAttributes).length, 1);
      assert.equal((await post(event(keys[0]!), "wrong")).status, 401);
      assert.equal((await post("not json")).status, 400);
      assert.equal((await post(JSON.stringify({ Type: "SubscriptionConfirmation", SubscribeURL: "https://sns.example/" }))).status, 400);
      assert.equal((await post(event("elsewhere/x.nc"))).status, 200);
      await ownConnection.close();
      const refused = await post(event(keys[1]!));
      assert.equal(refused.status, 503, await refused.text());
      assert.deepEqual(listener.counts, { requests: 6, delivered: 1, outsideTemplate: 1, ignored: 0, refused: 4 });
    } finally {
      await listener.close();
      const { client: cleanup, connection } = await clientFor();
      await cleanup.workflow.getHandle(workflowId).terminate("test over").catch(() => undefined);
      await connection.close();
    }
  });
});

describe("live arrivals on MinIO and the dev server", () => {
  test("files PUT one by one, out of order, twice, overwritten, across a worker SIGKILL and a listen restart: each once, in time order", async () => {
    const [f0, f1, f2, f3, f4, f5, f6, f7] = keys as [string, string, string, string, string, string, string, string];
    await put(f0);
    await waitReadable([f0], "the first file");
    await put(f1);
    await waitReadable([f0, f1], "the second file");

    // Out of order: the day's 4th file, then its 3rd, which lands inside the store.
    await put(f3);
    await waitReadable([f0, f1, f3], "the 4th file before the 3rd");
    await put(f2);
    let report = await waitReadable([f0, f1, f2, f3], "the 3rd file after the 4th");

    // Duplicates: the same bytes PUT again (same ETag), and an event sent again by hand.
    await put(f1);
    const replay = { Records: [{ eventName: "s3:ObjectCreated:Put", s3: { bucket: { name: sourceBucket }, object: { key: f0, eTag: [...liveRecords(historyOf(report)).get("2022-03-01")!.values()][0] } } }] };
    const answer = await fetch(`http://127.0.0.1:${listenPort}/`, { method: "POST", body: JSON.stringify(replay) });
    assert.equal(answer.status, 200, await answer.text());
    await pollQuery(client.workflow.getHandle(`${DATASET}/live`), liveStatusQuery, (s) => s.counts.duplicates >= 2, "two duplicates", 120_000);

    // An overwrite: the 3rd file again with bytes appended (a new ETag, the same values).
    const before = liveRecords(historyOf(report)).get("2022-03-01")!;
    await appendFile(join(archive, f2), new Uint8Array(64));
    await put(f2);
    // Until the overwrite is committed, the store still pins the old version, which no longer reads.
    const changed = await until("the overwrite's commit", async () => {
      const now = liveRecords((await storeNow())!.messages).get("2022-03-01")!;
      const urls = [...now].filter(([url, version]) => before.get(url) !== version).map(([url]) => url);
      return urls.length > 0 ? urls : undefined;
    }, 240_000);
    assert.deepEqual(changed.map((u) => u.slice(u.indexOf("AHI-L2"))), [f2], "only the overwritten file has a new version");
    report = await waitReadable([f0, f1, f2, f3], "the overwritten 3rd file");

    // A worker SIGKILLed while the workflow holds an arrival in its batch window.
    const accepted = (await status()).counts.arrivals;
    await put(f4);
    const held = await pollQuery(client.workflow.getHandle(`${DATASET}/live`), liveStatusQuery, (s) => s.counts.arrivals > accepted, "the 5th file accepted", 120_000);
    await worker!.kill();
    assert.equal(worker!.running, false, "the worker was killed");
    assert.ok(!held.lastCommit?.days.includes("2022-03-02"), `the kill came before the 5th file's commit: ${JSON.stringify(held.lastCommit)}`);
    worker = await startWorkerProcess({ address: temporalAddress(), taskQueue, config, logFile: join(dir, "worker-2.log"), env: awsEnv });
    await waitReadable([f0, f1, f2, f3, f4], "the 5th file after the worker's SIGKILL");

    // `listen` killed; files PUT while it is down reach it after its restart (MinIO's event queue).
    await listen!.kill();
    assert.equal(await canConnect("127.0.0.1", listenPort), false, "listen is down");
    await put(f5);
    await put(f6);
    await put("AHI-L2-FLDK-SST/2022/03/02/notes.txt", new TextEncoder().encode("not a file of the dataset"));
    await sleep(2000);
    listen = await startListen("2");
    await waitReadable([f0, f1, f2, f3, f4, f5, f6], "the files PUT while listen was down");
    // The sweep (every 20 s) may commit them before MinIO's queue delivers their events: wait for those.
    const counts = await until("the restarted listen to hand on the events queued while it was down", async () => {
      const seen = (await (await fetch(`http://127.0.0.1:${listenPort}/`)).json()) as { delivered: number; outsideTemplate: number };
      return seen.delivered >= 2 && seen.outsideTemplate >= 1 ? seen : undefined;
    }, 120_000);
    assert.equal(counts.outsideTemplate, 1, "the key outside the template was counted and dropped");

    // An event that never comes (the bucket's notifications switched off): the workflow's sweep finds the file.
    await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: sourceBucket, NotificationConfiguration: {} }));
    await put(f7);
    report = await waitReadable([f0, f1, f2, f3, f4, f5, f6, f7], "a file without an event, by the sweep");
    const silent = (await (await fetch(`http://127.0.0.1:${listenPort}/`)).json()) as { delivered: number };
    assert.equal(silent.delivered, counts.delivered, "no event came for the last file");

    // Every file once, in time order, in the records of the store's days.
    const records = liveRecords(historyOf(report));
    const recorded = [...records.get("2022-03-01")!.keys(), ...records.get("2022-03-02")!.keys()].map((u) => u.slice(u.indexOf("AHI-L2")));
    assert.deepEqual(recorded, [f0, f1, f2, f3, f4, f5, f6, f7]);
    // Each batch's staged references (in the output bucket, under .live/) were removed after its commit.
    const stagedPrefix = `${liveStagingKey(resolveDatasetSpec(spec), "2022-03-01", { key: f0, url: "", version: "v" }).split("/.live/")[0]}/.live/`;
    const stagedLeft = async (): Promise<string[]> => ((await s3.send(new ListObjectsV2Command({ Bucket: outputBucket, Prefix: stagedPrefix }))).Contents ?? []).map((o) => o.Key!);
    await until(`s3://${outputBucket}/${stagedPrefix} emptied`, async () => ((await stagedLeft()).length === 0 ? true : undefined)).catch(async (error: Error) => {
      throw new Error(`${error.message}: left ${JSON.stringify(await stagedLeft())}`);
    });
    const final = await status();
    assert.ok(final.counts.overwrites >= 1 && final.counts.duplicates >= 2, JSON.stringify(final.counts));
    // Its history stayed short: it continued as new (after 60 events here), its counts carried.
    assert.ok(final.runs > 1, `one run only: ${final.runs}`);
    // The first run's history, arrivals, batches and its continue-as-new (test/fixtures/histories/v1-live.binpb was recorded so).
    const runs: { runId: string; startTime: Date }[] = [];
    for await (const run of client.workflow.list({ query: `WorkflowId = '${DATASET}/live'` })) runs.push(run);
    const first = runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime())[0]!;
    const history = await client.workflow.getHandle(`${DATASET}/live`, first.runId).fetchHistory();
    await writeFile(join(dir, "live-history.binpb"), proto.temporal.api.history.v1.History.encode(history).finish());
  });
});

describe("live arrivals: the store's rules, without Temporal (local files)", () => {
  test("the backfill refuses a day live has part of, finds one it has whole; unchanged days and retried commits write nothing; far days are deferred; a backfilled day is rewritten on an event for its file", async () => {
    const libDir = join(dir, "library");
    const libArchive = join(libDir, "archive");
    await makeArchive(libArchive, "2022-03-01", 1, { hours: 4, grid: [30, 60] });
    const local = resolveDatasetSpec({
      ...testDataset("live-lib", { kind: "local", path: libArchive }, { kind: "local", path: join(libDir, "out") }),
      output: { storage: { kind: "local", path: join(libDir, "out") }, prefix: "refs", suffix: "", format: "icechunk" },
    });
    const day = "2022-03-01";
    const listed = await listLiveDay(local, day);
    assert.equal(listed.files.length, 4);
    const half = { day, files: listed.files.slice(0, 2) };
    await extractLiveDay(local, half);
    assert.equal((await commitLiveDays(local, [half])).written, true);

    // The backfill's commit of the whole day, from the same references.
    await extractLiveDay(local, listed);
    const whole = { referenceFiles: listed.files.map((f) => join(libDir, "out", liveStagingKey(local, day, f))) };
    await assert.rejects(commitDay(local, day, whole), (e: unknown) => e instanceof IcechunkError && e.problem === "partial-overlap");

    // The day grew after the store's end: only its new files are written, the first two kept.
    const plan = await surveyLive(local, [day], []);
    assert.deepEqual(plan.write.map((d) => [d.day, d.kept?.length ?? 0, d.files.length]), [[day, 2, 2]]);
    const written = await commitLiveDays(local, plan.write);
    assert.equal(written.written, true);
    assert.equal(written.storeLength, 4);
    // The live commit removed its staged references (a backfill's commit of them needs them again).
    await assert.rejects(commitDay(local, day, whole), /ENOENT/);
    await extractLiveDay(local, listed);
    assert.equal((await commitDay(local, day, whole)).alreadyCommitted, true);

    const again = await surveyLive(local, [day], []);
    assert.deepEqual([again.write, again.unchanged], [[], [day]]);
    const retried = await commitLiveDays(local, plan.write);
    assert.deepEqual([retried.written, retried.snapshotId], [false, written.snapshotId]);

    const far = await surveyLive(local, ["2022-03-10", "2022-02-20"], []);
    assert.deepEqual(far.deferred.map((d) => d.day).sort(), ["2022-02-20", "2022-03-10"]);
    assert.deepEqual(far.write, []);

    // A day the backfill committed (its record has no versions): unchanged as listed, but an event
    // for one of its files (written since) rewrites it, with the versions recorded from then on.
    const backfilled = resolveDatasetSpec({ ...testDataset("live-lib-2", local.source.storage, local.output.storage), output: { ...local.output, prefix: "refs2", format: "icechunk" } });
    await extractLiveDay(backfilled, listed);
    await commitDay(backfilled, day, { referenceFiles: listed.files.map((f) => join(libDir, "out", liveStagingKey(backfilled, day, f))) });
    assert.deepEqual((await surveyLive(backfilled, [day], [])).unchanged, [day]);
    const announced = await surveyLive(backfilled, [day], [{ key: listed.files[1]!.key, etag: "", day }]);
    assert.deepEqual(announced.write.map((d) => [d.day, d.kept?.length ?? 0, d.files.length]), [[day, 0, 4]]);
    assert.equal((await commitLiveDays(backfilled, announced.write)).storeLength, 4);
    assert.deepEqual((await surveyLive(backfilled, [day], [{ key: listed.files[1]!.key, etag: "", day }])).unchanged, [day]);
  });
});

describe("a liveV1 history recorded by this test (test/fixtures/histories/v1-live.binpb)", () => {
  test("replays on this code: a change of the workflow's commands needs a new type or a patch", async () => {
    const history = proto.temporal.api.history.v1.History.decode(await readFile(join(repositoryRoot, "test/fixtures/histories/v1-live.binpb")));
    const events = history.events ?? [];
    const kinds = new Set(events.flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : [])));
    assert.deepEqual([...kinds].sort(), ["liveCommit", "liveExtract", "liveSurvey"], "the recorded run has each activity");
    assert.ok(events.some((e) => e.workflowExecutionSignaledEventAttributes) && events.some((e) => e.workflowExecutionContinuedAsNewEventAttributes), "arrivals and a continue-as-new");
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, "v1-live");
  });
});

describe("live arrivals: a store with eras (library, local files)", () => {
  /**
   * A drifting archive of 4 days of 4 hourly files: 2022-04-03 02:00 halves the scale_factor
   * (era002, mid-day), 2022-04-04 00:00 drops compression (era003). Files land in the source folder
   * in batches, each batch committed as liveV1 does it (survey, extraction, commit), some out of
   * order: one into a day of the first era (a rewrite across eras), one into a day that spans two.
   */
  test("arrivals across era boundaries and out of order into an earlier era: every hour once in time order, netCDF4's values, the eras and references of a backfill of the same files; the staging emptied, a retried commit still right", async (t) => {
    const eraDir = join(dir, "eras");
    const all = join(eraDir, "archive");
    const source = join(eraDir, "source");
    const files = await makeDriftArchive(all, "2022-04-01", 4, [
      { at: "2022-04-03T02", set: { scale_factor: 0.005 } },
      { at: "2022-04-04T00", set: { zlib: false, shuffle: false } },
    ], { hours: 4, grid: [6, 8] });
    assert.equal(files.length, 16);
    const file = (day: number, hour: number): string => files[(day - 1) * 4 + hour]!;
    const { specOf, liveSpec, live, staged, arrive, lastPlan: plan, landed, eraLengths } = follower(eraDir, all, source);
    const lastPlan = (): LiveDay[] => plan();
    const inTimeOrder = (): string[] => files.filter((f) => landed.includes(f));

    await arrive(file(1, 0), file(1, 1), file(1, 2), file(1, 3), file(2, 0), file(2, 1));
    await arrive(file(2, 3));
    const split = await arrive(file(3, 0), file(3, 2)); // 3:00 (02 h) starts era002
    assert.equal(split.written, true);
    // An arrival the latest era can hold is appended to it (the day's first two files kept).
    assert.deepEqual(lastPlan().map((d) => [d.day, d.kept?.length ?? 0, d.files.length]), [["2022-04-03", 0, 2]]);
    await arrive(file(3, 3));
    assert.deepEqual(lastPlan().map((d) => [d.day, d.kept?.length ?? 0, d.files.length]), [["2022-04-03", 2, 1]]);
    assert.deepEqual(await eraLengths(), [["", 8], ["era002", 2]]);

    // Out of order into a day of the first era: days 2 and 3 rewritten, era002 with them.
    await arrive(file(2, 2));
    assert.deepEqual(lastPlan().map((d) => d.day), ["2022-04-02", "2022-04-03"]);
    assert.deepEqual(await eraLengths(), [["", 9], ["era002", 2]]);
    const middle = await compareWithBackfill(t, liveSpec, specOf("backfill-eras-1"), inTimeOrder(), "2022-04-01", "2022-04-03");

    await arrive(file(4, 0), file(4, 1)); // era003
    // Out of order into a day that spans two eras, with a third after it.
    await arrive(file(3, 1));
    assert.deepEqual(lastPlan().map((d) => d.day), ["2022-04-03", "2022-04-04"]);
    const last = await arrive(file(4, 2), file(4, 3));
    assert.deepEqual(lastPlan().map((d) => [d.day, d.kept?.length ?? 0, d.files.length]), [["2022-04-04", 2, 2]]);
    assert.deepEqual(await eraLengths(), [["", 10], ["era002", 2], ["era003", 4]]);
    const final = await compareWithBackfill(t, liveSpec, specOf("backfill-eras-2"), files, "2022-04-01", "2022-04-04", true);
    // Broken input: the store as it was three batches before is not the backfill of every file.
    assert.notDeepEqual(middle, final, "the comparison fails against another set of files");

    // A retried commit of the last batch, its staging removed by the first: staged again, it finds
    // the store holding exactly its files and writes nothing.
    const retried = await commitLiveDays(live, lastPlan());
    assert.deepEqual([retried.written, retried.snapshotId], [false, last.snapshotId]);
    assert.deepEqual(await staged(), []);
    assert.deepEqual(await storeContents(live), final.contents, "the retried commit left the store as it was");
  });
  test("a change of time calendar: arriving after the store's end it starts an era, as in a backfill; a retried commit finds it; a late file before it is refused live-calendar", async () => {
    // 2 days of 2 hourly files; from 2022-05-02 01:00 the time calendar is noleap (not comparable by value with the standard one).
    const folder = join(dir, "eras-calendar");
    const all = join(folder, "archive");
    const files = await makeDriftArchive(all, "2022-05-01", 2, [{ at: "2022-05-02T01", set: { calendar: "noleap" } }], { hours: 2, grid: [6, 8] });
    const { specOf, live, arrive, lastPlan, eraLengths: lengths } = follower(folder, all, join(folder, "source"));
    await arrive(files[0]!);
    await arrive(files[2]!);
    const last = await arrive(files[3]!); // after the day's first file, kept: the store's end by its records
    assert.deepEqual(lastPlan().map((d) => [d.day, d.kept?.length ?? 0, d.files.length]), [["2022-05-02", 1, 1]]);
    assert.deepEqual(await lengths(), [["", 2], ["era002", 1]]);
    const backfill = resolveDatasetSpec(specOf("backfill-calendar"));
    assert.equal((await backfillDirect(backfill, "2022-05-01", "2022-05-02")).days.written, 2);
    assert.deepEqual(await eraLengths(backfill), await lengths(), "the backfill's eras");
    assert.deepEqual(await storeContents(live), await storeContents(backfill), "the backfill's keys and bytes");
    const retried = await commitLiveDays(live, lastPlan());
    assert.deepEqual([retried.written, retried.snapshotId], [false, last.snapshotId], "the retry passes the calendar era: era002 begins with its first file");
    // The late file of 2022-05-01 would be placed before era002, whose times cannot be compared with it.
    await assert.rejects(arrive(files[1]!), (e: unknown) => e instanceof IcechunkError && e.problem === "live-calendar" && /era002/.test(e.message));
  });
  test("a file overwritten without a variable it had: the rewrite leaves no chunk of the old file, it reads as NaN there as in a backfill", async () => {
    const folder = join(dir, "eras-overwrite");
    const all = join(folder, "archive");
    const without = join(folder, "archive-without-wind");
    const wind = { at: "2022-06-01T00", set: { wind_speed: true } };
    const files = await makeDriftArchive(all, "2022-06-01", 2, [wind], { hours: 2, grid: [6, 8] });
    await makeDriftArchive(without, "2022-06-01", 2, [wind, { at: "2022-06-02T01", set: { wind_speed: false } }], { hours: 2, grid: [6, 8] });
    const { specOf, liveSpec, live, arrive, overwrite, lastPlan } = follower(folder, all, join(folder, "source"));
    await arrive(...files);
    await overwrite(without, files[3]!);
    assert.deepEqual(lastPlan().map((d) => [d.day, d.kept?.length ?? 0, d.files.length]), [["2022-06-02", 0, 2]]);
    const report = await readErasReport(liveSpec, files);
    assert.deepEqual([...report.time, ...report.decoded, ...report.raw], [], "wind_speed is NaN where the file lacks it");
    const backfill = specOf("backfill-overwrite");
    assert.equal((await backfillDirect(resolveDatasetSpec(backfill), "2022-06-01", "2022-06-02")).days.written, 2);
    assert.deepEqual(await storeContents(live), await storeContents(resolveDatasetSpec(backfill)), "the backfill's keys and bytes");
  });
});

/**
 * A live store following a source folder on local files, batch by batch as liveV1 takes arrivals:
 * files copied from `all` into `source`, then the survey of their days, the extraction, one commit;
 * the batch's staging is there before its commit and gone after it.
 */
function follower(folder: string, all: string, source: string) {
  const specOf = (name: string): DatasetSpec => ({
    ...testDataset(name, { kind: "local", path: source }, { kind: "local", path: join(folder, `${name}-out`) }),
    output: { storage: { kind: "local", path: join(folder, `${name}-out`) }, prefix: "refs", suffix: "", format: "icechunk" },
  });
  const liveSpec = specOf("live-eras");
  const live = resolveDatasetSpec(liveSpec);
  const staged = (): Promise<string[]> => filesUnder(join(folder, "live-eras-out", "refs", ".live"));
  const landed: string[] = [];
  let lastPlan: LiveDay[] = [];
  const arrive = async (...keys: string[]): Promise<LiveCommitSummary> => {
    for (const key of keys) {
      await mkdir(join(source, key, ".."), { recursive: true });
      await copyFile(join(all, key), join(source, key));
      landed.push(key);
    }
    return batch(keys);
  };
  /** The file replaced by another archive's version of it (its mtime, the local version, moved on). */
  const overwrite = async (from: string, key: string): Promise<LiveCommitSummary> => {
    await copyFile(join(from, key), join(source, key));
    const later = new Date(Date.now() + 60_000);
    await utimes(join(source, key), later, later);
    return batch([key]);
  };
  const batch = async (keys: string[]): Promise<LiveCommitSummary> => {
    const arrivals = keys.map((key) => ({ key, etag: "", day: dayOfKey(live, key)! }));
    const plan = await surveyLive(live, arrivals.map((a) => a.day), arrivals);
    assert.deepEqual(plan.deferred, []);
    for (const day of plan.write) await extractLiveDay(live, day);
    assert.ok((await staged()).length > 0, "the batch's references are staged before its commit");
    lastPlan = plan.write;
    const summary = await commitLiveDays(live, plan.write);
    assert.deepEqual(await staged(), [], "the batch's staging is removed once its commit is durable");
    return summary;
  };
  return { specOf, liveSpec, live, staged, arrive, overwrite, landed, lastPlan: () => lastPlan, eraLengths: () => eraLengths(live) };
}

/** The store's era groups and their lengths along time. */
async function eraLengths(spec: ResolvedDatasetSpec): Promise<[string, number][]> {
  const { repository } = await openRepository(spec, resolveIcechunkOptions(), { create: false });
  const eras = await readStoreEras((await repository.readonlySession({ branch: "main" })).store, spec.name, "time", []);
  return Promise.all(eras.groups.map(async (group, e) => [group, (await eras.era(e)).state.values.length] as [string, number]));
}

/** Every file under a folder, relative to it (none when it does not exist). */
async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(folder.length + 1)).sort();
}

/** Every key of the store's main branch with a digest of its bytes (metadata and chunks, virtual chunks read from their files). */
async function storeContents(spec: ResolvedDatasetSpec): Promise<Map<string, string>> {
  const { repository } = await openRepository(spec, resolveIcechunkOptions(), { create: false });
  const store = (await repository.readonlySession({ branch: "main" })).store;
  const contents = new Map<string, string>();
  for (const key of (await store.list()).sort()) contents.set(key, createHash("sha256").update((await store.get(key)) ?? new Uint8Array()).digest("hex"));
  return contents;
}

interface ErasReport {
  eras: { group: string; steps: number; era: unknown }[];
  time: string[];
  decoded: string[];
  raw: string[];
}

/** The store read the documented way (python/open_icechunk.py, through the drift tests' reader) against netCDF4-python reading its source `keys`. */
async function readErasReport(spec: DatasetSpec, keys: string[], naive = false): Promise<ErasReport> {
  const resolved = resolveDatasetSpec(spec);
  const plan = join(dir, `eras-plan-${resolved.name}-${keys.length}-${naive}-${Date.now()}.json`);
  const root = (resolved.source.storage as { path: string }).path;
  await writeFile(plan, JSON.stringify({ store: repositoryLocation(resolved).description, container: containerPrefix(resolved.source.storage), files: keys.map((k) => join(root, k)), naive }));
  return python<ErasReport>("icechunk_eras_read.py", [plan]);
}

/**
 * The live store read the documented way (python/open_icechunk.py, through the drift tests'
 * reader) against netCDF4-python reading `files`, and beside a backfill of the same source
 * folder: the same eras (groups, lengths, attributes) and the same keys with the same bytes.
 */
async function compareWithBackfill(t: { diagnostic(message: string): void }, liveSpec: DatasetSpec, backfillSpec: DatasetSpec, files: string[], start: string, end: string, brokenInputs = false): Promise<{ eras: ErasReport["eras"]; contents: Map<string, string> }> {
  const read = readErasReport;
  const report = await read(liveSpec, files);
  t.diagnostic(`live eras: ${report.eras.map((e) => `${e.group || "/"} ${e.steps}`).join(" | ")}`);
  assert.deepEqual([...report.time, ...report.decoded, ...report.raw], [], "every hour once, in time order, decoded as netCDF4 reads each file");
  if (brokenInputs) {
    // An hour left out of the expected files fails the time check; the eras read naively (one decoding) the decoded one.
    assert.ok((await read(liveSpec, files.slice(1))).time.length > 0, "the time check fails without the first file");
    assert.ok((await read(liveSpec, files, true)).decoded.length > 0, "the decoded check fails on a naive read");
  }

  const summary = await backfillDirect(resolveDatasetSpec(backfillSpec), start, end);
  assert.equal(summary.days.failed, 0, JSON.stringify(summary.results));
  const backfilled = await read(backfillSpec, files);
  assert.deepEqual([...backfilled.time, ...backfilled.decoded, ...backfilled.raw], []);
  assert.deepEqual(report.eras, backfilled.eras, "the live store's eras are the backfill's (groups, lengths, first day and file, changes)");
  const contents = await storeContents(resolveDatasetSpec(liveSpec));
  assert.ok([...contents.keys()].filter((k) => k.includes("/c/")).length >= files.length, "chunks are among the keys compared");
  assert.deepEqual(contents, await storeContents(resolveDatasetSpec(backfillSpec)), "the live store holds the backfill's keys with the same bytes");
  return { eras: report.eras, contents };
}
