/**
 * Small days in batches (workflows/smallDays.ts, lib/backfill/smallDays.ts): a month hands its days
 * a few at a time to one activity instead of a day workflow each; days with more files than
 * `smallDayFiles` still get their day workflow. On the dev server and MinIO, against the library
 * run directly.
 */
import type { Client, Connection } from "@temporalio/client";
import { WorkflowFailedError } from "@temporalio/client";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Worker } from "@temporalio/worker";
import { backfillDirect } from "../lib/backfill/direct.js";
import { runSmallDays } from "../lib/backfill/smallDays.js";
import type { SmallDayLimits } from "../lib/backfill/model/index.js";
import { outputKey, stagingFolder } from "../lib/backfill/names.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { openStorage, resolveDatasetSpec, type DatasetSpec, type ResolvedDatasetSpec } from "../lib/datasets/spec.js";
import { sleep } from "../lib/servers/process.js";
import { workflowBundle } from "../worker/bundle.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import type { BackfillInput, BackfillSummary, PeriodResults } from "../workflows/types.js";
import { makeArchive, startWorkerProcess, testDataset, uploadArchive, writeConfig } from "./harness/archive.js";
import { s3, testDir, uniqueBucket } from "./harness/env.js";
import { datasetHistories, filesUnder, markerTexts, type History } from "./harness/outputs.js";
import { FaultProxy } from "./harness/servers/faultProxy.js";
import { ToxiproxyServer } from "./harness/servers/toxiproxy.js";
import { progressQuery } from "../workflows/messages.js";
import { clientFor, ownDevServer, workerConnection } from "./harness/temporal.js";

let client: Client;
let connection: Connection;
let dir: string;
let bucket: string;
/** The archive's keys, as uploaded (and listed). */
let archiveKeys: string[];
/** 2022-04-01 .. 2022-04-12: 2 files a day, 2022-04-05 none, 2022-04-11 has 4 files (above the threshold of 3 used here). */
const START = "2022-04-01";
const END = "2022-04-12";
const BIG_DAY = "2022-04-11";

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("smalldays");
  const archive = join(dir, "archive");
  archiveKeys = [
    ...(await makeArchive(archive, START, 10, { hours: 2, grid: [20, 40], skipDays: ["2022-04-05"] })),
    ...(await makeArchive(archive, BIG_DAY, 1, { hours: 4, grid: [20, 40] })),
    ...(await makeArchive(archive, "2022-04-12", 1, { hours: 2, grid: [20, 40] })),
  ];
  bucket = await uploadArchive(archive, archiveKeys, "smalldays");
});
after(async () => {
  await connection?.close();
});

const spec = (name: string, out: string, source: DatasetSpec["source"]["storage"] = { kind: "s3", bucket }): DatasetSpec =>
  testDataset(name, source, { kind: "local", path: join(dir, out) }, "month");

async function runBackfill(specs: DatasetSpec[], input: BackfillInput): Promise<BackfillSummary> {
  const worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry(specs), taskQueue: input.dataset });
  return worker.runUntil(client.workflow.execute(backfillV3, { ...backfillOptions(input), taskQueue: input.dataset }));
}

/** A day's source keys in the archive, in time order (as a listing returns them). */
const keysOfDay = (day: string): string[] => archiveKeys.filter((key) => key.includes(`/${day.replaceAll("-", "/")}/`)).sort();

/** The local activities a history ran, by the activity type their markers name. */
function localActivitiesOf(history: History): string[] {
  return (history.events ?? [])
    .filter((event) => event.markerRecordedEventAttributes?.markerName === "core_local_activity")
    .map((event) => /"activity_type":"(\w+)"/.exec(markerTexts(event).join(""))?.[1] ?? "?");
}

/** The day workflows of a dataset's backfill (their periods), and its runSmallDays activities with the attempt each closed on. */
function whatRan(histories: Map<string, History>): { dayWorkflows: string[]; batches: { days: string[]; attempt: number; daysAtOnce?: number }[] } {
  const dayWorkflows = [...histories.keys()].map((id) => /\/(\d{4}-\d{2}-\d{2})(~\w+)?#/.exec(id)?.[1]).filter((d): d is string => d !== undefined);
  const batches: { days: string[]; attempt: number; daysAtOnce?: number }[] = [];
  const payload = (data: Uint8Array | null | undefined): unknown => JSON.parse(Buffer.from(data!).toString());
  for (const history of histories.values()) {
    const scheduled = new Map<number, { days: string[]; daysAtOnce?: number }>();
    for (const event of history.events ?? []) {
      const attrs = event.activityTaskScheduledEventAttributes;
      if (attrs?.activityType?.name === "runSmallDays") {
        const limits = payload(attrs.input!.payloads![2]!.data) as SmallDayLimits;
        scheduled.set(Number(event.eventId), { days: payload(attrs.input!.payloads![1]!.data) as string[], ...(limits.daysAtOnce !== undefined ? { daysAtOnce: limits.daysAtOnce } : {}) });
      }
      const started = event.activityTaskStartedEventAttributes;
      const batch = started && scheduled.get(Number(started.scheduledEventId));
      if (batch) batches.push({ ...batch, attempt: started.attempt ?? 1 });
    }
  }
  return { dayWorkflows: dayWorkflows.sort(), batches };
}

const normalise = (r: PeriodResults | Record<string, string>, folder: string): unknown => JSON.parse(JSON.stringify(r).split(join(dir, folder)).join("<out>"));

describe("small days in batches", () => {
  test("small days run in batches (no day workflow), the day above the threshold in a day workflow; same results and bytes as the library", async () => {
    const summary = await runBackfill([spec("sd-main", "out-main")], { dataset: "sd-main", start: START, end: END, smallDayFiles: 3 });
    const direct = await backfillDirect(resolveDatasetSpec(spec("sd-main", "out-direct")), START, END);
    assert.deepEqual(normalise(summary.results, "out-main"), normalise(direct.results, "out-direct"));
    assert.deepEqual([summary.status, summary.days, summary.files], [direct.status, direct.days, direct.files]);
    assert.deepEqual(summary.days, { total: 12, written: 11, existing: 0, failed: 0, noFiles: 1 });
    assert.deepEqual(summary.files, { listed: 24, extracted: 24, reused: 0 });
    assert.deepEqual(await filesUnder(join(dir, "out-main")), await filesUnder(join(dir, "out-direct")));

    const histories = await datasetHistories(client, "sd-main");
    const ran = whatRan(histories);
    assert.deepEqual(ran.dayWorkflows, [BIG_DAY], "day workflows");
    // The big day's workflow started from the listing its batch made: it surveyed nothing itself.
    const bigDay = [...histories.entries()].find(([id]) => id.includes(`/${BIG_DAY}#`))![1];
    assert.deepEqual(localActivitiesOf(bigDay), ["aggregateDay"], "the big day's local activities");
    assert.deepEqual(ran.batches.map((b) => b.days).sort((a, b) => a[0]!.localeCompare(b[0]!)), [
      ["2022-04-01", "2022-04-02", "2022-04-03", "2022-04-04", "2022-04-05", "2022-04-06", "2022-04-07", "2022-04-08"],
      ["2022-04-09", "2022-04-10", "2022-04-11", "2022-04-12"],
    ]);
    // The month's 12 days fit its lanes (31 of the default 64 days at once): each batch runs all its days side by side.
    assert.deepEqual(ran.batches.map((b) => b.daysAtOnce), [8, 8], "days at once in each batch");
    // Their histories replay deterministically.
    const replays = [...histories.entries()].map(([id, history]) => ({ workflowId: id.split("#")[0]!, history }));
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, replays)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    }
  });

  test("a batch surveys its days side by side: a batch of large days costs one round of listings, not one per day", async () => {
    // The listings, counted in flight by a proxy in front of MinIO (each answer 100 ms late, so
    // that requests sent together are seen together): one at a time if the batch surveyed each
    // day at its turn, eight at once when it surveys them together.
    const toxiproxy = await new ToxiproxyServer().start();
    const late = await toxiproxy.createProxy("sd-survey", process.env.AWS_ENDPOINT_URL!);
    await late.latency(100);
    const proxy = await new FaultProxy({ upstream: late.url }).start();
    try {
      const days = ["2022-04-01", "2022-04-02", "2022-04-03", "2022-04-04", "2022-04-06", "2022-04-07", "2022-04-08", "2022-04-09"];
      const outcomes = await runSmallDays(resolveDatasetSpec(spec("sd-survey", "out-survey", { kind: "s3", bucket, endpoint: proxy.url })), days, { smallDayFiles: 1, maxConcurrentFiles: 4, failFast: false });
      // Every day has 2 files, more than 1: all handed back, in order, nothing extracted, each with its listing.
      assert.deepEqual(outcomes, days.map((day) => ({ day, dayWorkflow: "2 files", translated: 0, sources: keysOfDay(day) })));
      assert.equal(proxy.counts.forwarded, days.length, "one listing a day");
      assert.equal(proxy.counts.peakInFlight, days.length, "the days' listings were in flight at once");
    } finally {
      await proxy.stop();
      await toxiproxy.stop();
    }
  });

  test("a batched day whose output cannot be written is handed back with its files staged: the next try extracts none of them again", async () => {
    // The day's files are held in memory for its combine, never staged while the day goes well
    // (lib/backfill/extract.ts, HeldExtractions); here every write of the day's output fails
    // (a retryable S3 error), so the batch stages them before handing the day back.
    const day = "2022-04-06";
    const out = uniqueBucket("sd-unwritable");
    const s3Client = s3();
    await s3Client.send(new CreateBucketCommand({ Bucket: out }));
    s3Client.destroy();
    const dataset = (endpoint?: string): ResolvedDatasetSpec =>
      resolveDatasetSpec(testDataset("sd-unwritable", { kind: "s3", bucket }, { kind: "s3", bucket: out, ...(endpoint ? { endpoint } : {}) }, "month"));
    const dayKey = outputKey(dataset(), day);
    const proxy = await new FaultProxy({ upstream: process.env.AWS_ENDPOINT_URL!, plan: ({ method, path }) => (method === "PUT" && path.split("?")[0]!.endsWith(`/${dayKey}`) ? "InternalError" : undefined) }).start();
    const limits: SmallDayLimits = { smallDayFiles: 3, maxConcurrentFiles: 2, failFast: false };
    try {
      const [handedBack] = await runSmallDays(dataset(proxy.url), [day], limits);
      assert.ok(proxy.counts.injected.InternalError >= 1, `the day's output was refused: ${JSON.stringify(proxy.counts)}`);
      assert.deepEqual([handedBack?.day, handedBack && "dayWorkflow" in handedBack && handedBack.dayWorkflow.startsWith("retry:"), handedBack && "translated" in handedBack && handedBack.translated], [day, true, 2]);
    } finally {
      await proxy.stop();
    }
    const staged: string[] = [];
    for await (const object of openStorage(dataset().output.storage).list(`${stagingFolder(dataset(), day)}/`)) staged.push(object.key);
    assert.equal(staged.length, 1, `one bundle staged: ${staged.join(", ")}`);
    const [again] = await runSmallDays(dataset(), [day], limits);
    assert.ok(again && "files" in again, JSON.stringify(again));
    assert.deepEqual(again.files, { listed: 2, extracted: 0, reused: 2 }, "the files staged by the first try");
  });

  test("a batch runs its days side by side, at most daysAtOnce, each its files one at a time", async () => {
    // Each request 100 ms late, so that a file's extraction lasts long enough to be seen beside another's.
    const toxiproxy = await new ToxiproxyServer().start();
    try {
      const late = await toxiproxy.createProxy("sd-side", process.env.AWS_ENDPOINT_URL!);
      await late.latency(100);
      const days = ["2022-04-01", "2022-04-02", "2022-04-03", "2022-04-04", "2022-04-06", "2022-04-07"];
      const spans: { day: string; start: number; end: number }[] = [];
      const outcomes = await runSmallDays(
        resolveDatasetSpec(spec("sd-side", "out-side", { kind: "s3", bucket, endpoint: late.url })),
        days,
        { smallDayFiles: 3, maxConcurrentFiles: 1, daysAtOnce: 3, failFast: false },
        { onFile: (event) => spans.push({ day: event.day, start: performance.now() - event.seconds * 1000, end: performance.now() }) },
      );
      // Every day written, reported in the batch's order of days.
      assert.deepEqual(outcomes.map((o) => [o.day, "result" in o ? o.result.outcome : o]), days.map((day) => [day, "written"]));
      assert.equal(spans.length, 12);
      // The most extractions under way at one time, and of how many days: three days, one file each.
      const atOnce = spans.map((s) => spans.filter((other) => other.start <= s.start && s.start < other.end));
      const peak = Math.max(...atOnce.map((running) => running.length));
      assert.equal(peak, 3, "files under way at once");
      assert.ok(atOnce.every((running) => new Set(running.map((r) => r.day)).size === running.length), "a day's files one at a time");
    } finally {
      await toxiproxy.stop();
    }
  });

  test("a failing file in a batched day fails that day, not its batch; failing fast, it fails the backfill", async () => {
    const archive = join(dir, "archive-corrupt");
    const corrupt = "AHI-L2-FLDK-SST/2022/06/02/0100/20220602010000-NCCF-L3C_GHRSST-SSTsubskin-AHI_H08-ACSPO_V2.80-v02.0-fv01.0.nc";
    const keys = await makeArchive(archive, "2022-06-01", 3, { hours: 2, grid: [20, 40], corrupt: [corrupt] });
    const corruptBucket = await uploadArchive(archive, keys, "sd-corrupt");
    const summary = await runBackfill([testDataset("sd-corrupt", { kind: "s3", bucket: corruptBucket }, { kind: "local", path: join(dir, "out-corrupt") })], {
      dataset: "sd-corrupt",
      start: "2022-06-01",
      end: "2022-06-03",
    });
    assert.match(summary.report["2022-06-02"]!, /^ERROR\(Hdf5FormatError\): .*20220602010000.*superblock/);
    assert.match(summary.report["2022-06-01"]!, /20220601\.json$/);
    assert.match(summary.report["2022-06-03"]!, /20220603\.json$/);
    assert.deepEqual(summary.days, { total: 3, written: 2, existing: 0, failed: 1, noFiles: 0 });
    // Its files count as listed, as a day workflow counts them.
    assert.equal(summary.files.listed, 6);
    const ran = whatRan(await datasetHistories(client, "sd-corrupt"));
    assert.deepEqual([ran.dayWorkflows, ran.batches.length], [[], 1]);

    const failFast = testDataset("sd-failfast", { kind: "s3", bucket: corruptBucket }, { kind: "local", path: join(dir, "out-failfast") });
    const failure = await runBackfill([failFast], { dataset: "sd-failfast", start: "2022-06-01", end: "2022-06-03", failFast: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(failure instanceof WorkflowFailedError, String(failure));
    assert.match(JSON.stringify(failure, (_, v: unknown) => (v instanceof Error ? { ...v, message: v.message } : v)), /Hdf5FormatError/);
    // The batch stopped at the failed day: the day after it was not built.
    const written = await filesUnder(join(dir, "out-failfast"));
    assert.ok(written.has("refs/AHI-L2-FLDK-SST/20220601.json") && !written.has("refs/AHI-L2-FLDK-SST/20220603.json"), [...written.keys()].join(", "));
  });

  test("a day handed back after a retryable failure starts from its batch's listing: where another run wrote its output meanwhile, the batch's staging still goes", async () => {
    const day = "2022-04-03";
    const [first, second] = keysOfDay(day) as [string, string];
    // The other run's output of the day, written by the library into a folder of its own.
    await backfillDirect(resolveDatasetSpec(spec("sd-handback", "out-handback-other")), day, day);
    const output = (folder: string): string => join(dir, folder, outputKey(resolveDatasetSpec(spec("sd-handback", folder)), day));
    // The day's second file fails until the day has a day workflow (every attempt of the batch's
    // read: a retryable failure, so the batch hands the day back), and at its first request the
    // other run's output lands where this backfill writes.
    let landed = false;
    let handedBack = false;
    const proxy = await new FaultProxy({
      upstream: process.env.AWS_ENDPOINT_URL!,
      plan: ({ path }) => {
        if (!path.includes(encodeURI(second)) || handedBack) return undefined;
        if (!landed) {
          landed = true;
          mkdirSync(dirname(output("out-handback")), { recursive: true });
          copyFileSync(output("out-handback-other"), output("out-handback"));
        }
        return "InternalError";
      },
    }).start();
    let watching = true;
    const watcher = (async () => {
      while (watching && !handedBack) {
        for await (const _ of client.workflow.list({ query: "TkDataset = 'sd-handback' AND WorkflowType = 'backfillDayV3'" })) handedBack = true;
        await sleep(100);
      }
    })();
    try {
      const summary = await runBackfill([spec("sd-handback", "out-handback", { kind: "s3", bucket, endpoint: proxy.url })], { dataset: "sd-handback", start: day, end: day, smallDayFiles: 3 });
      assert.ok(proxy.counts.injected.InternalError >= 3, `the second file's reads failed: ${JSON.stringify(proxy.counts)}`);
      const ran = whatRan(await datasetHistories(client, "sd-handback"));
      assert.deepEqual([ran.batches.length, ran.dayWorkflows], [1, [day]], "the batch handed the day back");
      assert.deepEqual(summary.days, { total: 1, written: 0, existing: 1, failed: 0, noFiles: 0 });
      // The day workflow extracted from the batch's listing (no survey): the file the batch staged reused, each counted once.
      assert.deepEqual(summary.files, { listed: 2, extracted: 2, reused: 0 });
      assert.equal(readFileSync(output("out-handback"), "utf8"), readFileSync(output("out-handback-other"), "utf8"), "the other run's output stands");
      const staging = join(dir, "out-handback", stagingFolder(resolveDatasetSpec(spec("sd-handback", "out-handback")), day));
      assert.deepEqual(existsSync(staging) ? readdirSync(staging) : [], [], `the batch staged ${first.split("/").pop()} and that staging is gone`);
    } finally {
      watching = false;
      await watcher;
      await proxy.stop();
    }
  });

  test("a worker SIGKILLed mid-batch: the batch resumes on a new worker, finished days not rewritten; same bytes", async () => {
    // Sources behind +150 ms a request, so a day takes about a second and the kill lands mid-batch.
    const toxiproxy = await new ToxiproxyServer().start();
    try {
      const proxy = await toxiproxy.createProxy("sd-kill", process.env.AWS_ENDPOINT_URL!);
      await proxy.latency(150);
      const name = "sd-kill";
      const killed = spec(name, "out-kill", { kind: "s3", bucket, endpoint: proxy.url });
      const config = await writeConfig(join(dir), [killed]);
      const address = process.env.TK_TEST_TEMPORAL_ADDRESS!;
      const first = await startWorkerProcess({ address, taskQueue: name, config, logFile: join(dir, "kill-worker-1.log") });
      const input = { dataset: name, start: START, end: "2022-04-08", maxConcurrentDays: 1 };
      const handle = await client.workflow.start(backfillV3, { ...backfillOptions(input), taskQueue: name });
      // Kill once two or more days of the (one) batch are written, and not all.
      const resolved = resolveDatasetSpec(killed);
      const days = ["2022-04-01", "2022-04-02", "2022-04-03", "2022-04-04", "2022-04-06", "2022-04-07", "2022-04-08"];
      const outputs = days.map((day) => join(dir, "out-kill", outputKey(resolved, day)));
      // A missing output is "not yet"; any other failure to stat one is an error of the test.
      const statIfThere = (p: string) => stat(p).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : Promise.reject(error)));
      const present = async () => (await Promise.all(outputs.map(statIfThere))).filter((s) => s !== undefined);
      for (let i = 0; i < 600 && (await present()).length < 2; i++) await sleep(50);
      const before = new Map<string, { ino: number; mtimeMs: number }>();
      for (const p of outputs) {
        const s = await statIfThere(p);
        if (s) before.set(p, { ino: s.ino, mtimeMs: s.mtimeMs });
      }
      await first.kill();
      assert.ok(before.size >= 2 && before.size < days.length, `${before.size} days written at the kill`);
      const second = await startWorkerProcess({ address, taskQueue: name, config, logFile: join(dir, "kill-worker-2.log") });
      const summary = await handle.result();
      await second.stop();

      assert.equal(summary.days.failed, 0, JSON.stringify(summary.results));
      assert.equal(summary.days.written + summary.days.existing, days.length);
      // The first day's heartbeat reached the server before the kill: the retry took its result from it.
      assert.equal(summary.results["2022-04-01"]?.outcome, "written");
      for (const [path, was] of before) {
        const now = await stat(path);
        assert.deepEqual({ ino: now.ino, mtimeMs: now.mtimeMs }, was, `${path} was written again`);
      }
      const ran = whatRan(await datasetHistories(client, name));
      assert.deepEqual(ran.dayWorkflows, []);
      assert.equal(ran.batches.length, 1);
      assert.ok(ran.batches[0]!.attempt >= 2, `the batch closed on attempt ${ran.batches[0]!.attempt}`);
      await backfillDirect(resolveDatasetSpec(spec(name, "out-kill-direct")), START, "2022-04-08");
      assert.deepEqual(await filesUnder(join(dir, "out-kill")), await filesUnder(join(dir, "out-kill-direct")));
    } finally {
      await toxiproxy.stop();
    }
  });

  test("a month of batches continues as new when the server suggests it; results and progress exact", async () => {
    const serverDir = await testDir("smalldays-can");
    const own = await ownDevServer(serverDir, { "limit.historyCount.suggestContinueAsNew": 16 });
    const archive = join(serverDir, "archive");
    await makeArchive(archive, "2021-11-01", 30, { hours: 1, grid: [8, 16] });
    const can = testDataset("sd-can", { kind: "local", path: archive }, { kind: "local", path: join(serverDir, "out") }, "month");
    const worker = await createWorker({ connection: await own.workerConnection(), datasets: new DatasetRegistry([can]), taskQueue: "sd-can" });
    try {
      // One batch at a time: the month's history grows batch by batch.
      const input = { dataset: can.name, start: "2021-11-01", end: "2021-11-30", maxConcurrentDays: 1 };
      const handle = await own.client.workflow.start(backfillV3, { ...backfillOptions(input, "sd-can/backfill"), taskQueue: "sd-can" });
      const [summary, progress] = await worker.runUntil(async () => [await handle.result(), await handle.query(progressQuery)] as const);
      let runs = 0;
      for await (const _ of own.client.workflow.list({ query: "WorkflowId = 'sd-can/2021-11'" })) runs++;
      assert.ok(runs > 1, `the month ran ${runs} time(s); expected continue-as-new`);
      assert.deepEqual(summary.days, { total: 30, written: 30, existing: 0, noFiles: 0, failed: 0 });
      assert.deepEqual(summary.files, { listed: 30, extracted: 30, reused: 0 });
      assert.deepEqual([progress.status, progress.daysDone, progress.filesDone, progress.running], ["completed", 30, 30, []]);
      await backfillDirect(resolveDatasetSpec({ ...can, output: { ...can.output, storage: { kind: "local", path: join(serverDir, "direct") } } }), input.start, input.end);
      assert.deepEqual(await filesUnder(join(serverDir, "out")), await filesUnder(join(serverDir, "direct")));
    } finally {
      await own.stop();
    }
  });
});
