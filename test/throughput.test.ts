/**
 * Issue 12's behaviours, end to end: a re-run skips finished periods from the top (an existing year
 * output visits no month or day; day-only aggregation visits only the days without an output), the
 * `progress` query stays exact across continue-as-new, a failing file is retried on its own while
 * its day's other files are not translated again, and a worker reuses its S3 clients.
 */
import type { Client, Connection } from "@temporalio/client";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { backfillDirect } from "../lib/backfill/direct.js";
import { outputKey } from "../lib/backfill/names.js";
import { planBackfill } from "../lib/backfill/plan.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { resolveDatasetSpec, s3ConnectionOf } from "../lib/datasets/spec.js";
import { FaultProxy } from "./harness/servers/faultProxy.js";
import { closeSharedS3Clients, s3ClientsCreated, s3ConnectionKey } from "../lib/source/s3Client.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { progressQuery } from "../workflows/messages.js";
import { backfillOptions } from "../workflows/options.js";
import type { BackfillInput } from "../workflows/types.js";
import { makeArchive, testDataset, uploadArchive } from "./harness/archive.js";
import { testDir } from "./harness/env.js";
import { completedExtractions, datasetHistories, filesUnder, markerTexts, type History } from "./harness/outputs.js";
import { clientFor, ownDevServer, workerConnection } from "./harness/temporal.js";

let client: Client;
let connection: Connection;
let dir: string;

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("throughput");
});
after(async () => {
  await connection?.close();
});

/** The workflows of a dataset by level (TkLevel), and every activity each kind of history scheduled. */
async function visited(dataset: string): Promise<{ levels: Record<string, number>; activities: Record<string, number>; localActivities: number }> {
  const levels: Record<string, number> = {};
  for await (const execution of client.workflow.list({ query: `TkDataset = '${dataset}'` })) levels[execution.type] = (levels[execution.type] ?? 0) + 1;
  const activities: Record<string, number> = {};
  let localActivities = 0;
  for (const history of (await datasetHistories(client, dataset)).values()) {
    for (const event of history.events ?? []) {
      const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type) activities[type] = (activities[type] ?? 0) + 1;
      // Local activities' markers (not patches' markers), leaving out the backfill's watch over its
      // years (workflows/watch.ts), which looks every 15 s however the work goes.
      const marker = event.markerRecordedEventAttributes;
      if (marker?.markerName !== "core_local_activity") continue;
      const details = markerTexts(event);
      assert.ok(details.length > 0, "a local activity's marker names its activity");
      if (!details.some((text) => text.includes("closedWorkflows"))) localActivities++;
    }
  }
  return { levels, activities, localActivities };
}

async function run(datasets: DatasetRegistry, input: BackfillInput, taskQueue: string, workflowId?: string) {
  const worker = await createWorker({ connection: await workerConnection(), datasets, taskQueue });
  return worker.runUntil(client.workflow.execute(backfillV3, { ...backfillOptions(input, workflowId), taskQueue }));
}

describe("a re-run skips finished periods from the top", () => {
  test("an existing year output: no month or day is visited; days without an output had no files", async () => {
    // The outputs of a finished year, as names only: their contents are never read (a rollup that
    // tried would fail on them), and there is no source archive at all.
    const spec = resolveDatasetSpec(testDataset("skip-year", { kind: "local", path: join(dir, "no-archive") }, { kind: "local", path: join(dir, "skip-year-out") }, "year"));
    const plan = planBackfill(spec.name, "year", "2021-01-01", "2021-12-31");
    const gaps = new Set(["2021-02-14", "2021-07-01", "2021-07-02"]);
    const periods = [plan.years[0]!.id, ...plan.years[0]!.months.flatMap((m) => [m.id, ...m.days.filter((d) => !gaps.has(d))])];
    for (const period of periods) {
      const path = join(dir, "skip-year-out", outputKey(spec, period));
      await mkdir(join(path, ".."), { recursive: true });
      await writeFile(path, "not read");
    }
    const summary = await run(new DatasetRegistry([spec]), { dataset: spec.name, start: "2021-01-01", end: "2021-12-31" }, "skip-year");
    assert.equal(summary.status, "completed");
    assert.deepEqual(summary.days, { total: 365, written: 0, existing: 362, noFiles: 3, failed: 0 });
    assert.deepEqual(summary.rollups, { total: 13, written: 0, existing: 13, noFiles: 0, failed: 0, partial: 0 });
    assert.deepEqual(summary.files, { listed: 0, extracted: 0, reused: 0 });
    const { levels, activities, localActivities } = await visited(spec.name);
    assert.deepEqual(levels, { backfillV3: 1, backfillYearV3: 1 }, "only the backfill and the year ran");
    assert.deepEqual(activities, {}, "no activity was scheduled");
    assert.equal(localActivities, 2, "the plan and the year's one listing");
    // The backfill direct gives the same results from the same listing.
    const direct = await backfillDirect(spec, "2021-01-01", "2021-12-31");
    assert.deepEqual(direct.results, summary.results);
  });

  test("day-only aggregation: one listing finds a month's outputs; only the days without one are visited", async () => {
    const archive = join(dir, "skip-day-archive");
    await makeArchive(archive, "2022-09-01", 6, { hours: 1, grid: [8, 16], skipDays: ["2022-09-03"] });
    const spec = testDataset("skip-day", { kind: "local", path: archive }, { kind: "local", path: join(dir, "skip-day-out") }, "day");
    const datasets = new DatasetRegistry([spec]);
    // Day workflows (smallDayFiles 0), so each day visited is a workflow to count.
    const first = await run(datasets, { dataset: spec.name, start: "2022-09-01", end: "2022-09-06", smallDayFiles: 0 }, "skip-day", "skip-day/first");
    assert.deepEqual(first.days, { total: 6, written: 5, existing: 0, noFiles: 1, failed: 0 });
    const before = await visited(spec.name);
    const again = await run(datasets, { dataset: spec.name, start: "2022-09-01", end: "2022-09-30", smallDayFiles: 0 }, "skip-day", "skip-day/again");
    assert.deepEqual(again.days, { total: 30, written: 0, existing: 5, noFiles: 25, failed: 0 });
    const after = await visited(spec.name);
    // The 25 days without an output (24 beyond the archive, and its gap) are visited; the 5 built are not.
    assert.equal((after.levels.backfillDayV3 ?? 0) - (before.levels.backfillDayV3 ?? 0), 25);
    assert.equal((after.activities.extractFile ?? 0) + (after.activities.extractFiles ?? 0), (before.activities.extractFile ?? 0) + (before.activities.extractFiles ?? 0));
  });
});

describe("progress across continue-as-new", () => {
  test("the backfill and its months continue as new; the progress query ends exact, files included", async () => {
    const serverDir = await testDir("progress-can");
    // A tiny history limit: the server suggests continue-as-new after a handful of events, to the
    // months and to the backfill (whose history the months' reports fill).
    const own = await ownDevServer(serverDir, { "limit.historyCount.suggestContinueAsNew": 24 });
    const local = own.client;
    const archive = join(serverDir, "archive");
    await makeArchive(archive, "2021-11-20", 24, { hours: 2, grid: [8, 16], skipDays: ["2021-12-25"] });
    const spec = testDataset("prog-can", { kind: "local", path: archive }, { kind: "local", path: join(serverDir, "out") }, "month");
    const worker = await createWorker({ connection: await own.workerConnection(), datasets: new DatasetRegistry([spec]), taskQueue: "prog-can" });
    try {
      // Day workflows (smallDayFiles 0): test/smallDays.test.ts continues a month of batches as new.
      const input = { dataset: spec.name, start: "2021-11-20", end: "2021-12-13", maxConcurrentDays: 2, smallDayFiles: 0 };
      const handle = await local.workflow.start(backfillV3, { ...backfillOptions(input, "prog-can/backfill"), taskQueue: "prog-can" });
      // Queried after the end, while a worker runs (a query replays the last run's history).
      const [summary, progress] = await worker.runUntil(async () => [await handle.result(), await handle.query(progressQuery)] as const);
      const runs = async (workflowId: string): Promise<number> => {
        let n = 0;
        for await (const _ of local.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
        return n;
      };
      assert.ok((await runs("prog-can/backfill")) > 1, "the backfill did not continue as new");
      assert.ok((await runs("prog-can/2021-11")) > 1, "the month did not continue as new");
      assert.deepEqual(summary.days, { total: 24, written: 24, existing: 0, noFiles: 0, failed: 0 });
      assert.deepEqual(summary.files, { listed: 48, extracted: 48, reused: 0 });
      assert.deepEqual(
        [progress.status, progress.daysDone, progress.daysWritten, progress.filesListed, progress.filesDone, progress.running],
        ["completed", 24, 24, 48, 48, []],
      );
      const direct = await backfillDirect(resolveDatasetSpec({ ...spec, output: { ...spec.output, storage: { kind: "local", path: join(serverDir, "direct") } } }), input.start, input.end);
      assert.deepEqual(summary.files, direct.files);
      assert.deepEqual(await filesUnder(join(serverDir, "out")), await filesUnder(join(serverDir, "direct")));
    } finally {
      await own.stop();
    }
  });
});

describe("per-file retries", () => {
  /** Each extraction attempt's retries in history: activity id → attempts, and which files it held. */
  function extractionAttempts(histories: Map<string, History>): { files: string[]; attempts: number }[] {
    const found: { files: string[]; attempts: number }[] = [];
    for (const history of histories.values()) {
      const scheduled = new Map<number, string[]>();
      for (const event of history.events ?? []) {
        const attrs = event.activityTaskScheduledEventAttributes;
        const data = attrs?.input?.payloads?.[2]?.data;
        if (attrs && data) {
          const third = JSON.parse(Buffer.from(data).toString()) as string | string[];
          scheduled.set(Number(event.eventId), Array.isArray(third) ? third : [third]);
        }
        const started = event.activityTaskStartedEventAttributes;
        if (started && scheduled.has(Number(started.scheduledEventId))) found.push({ files: scheduled.get(Number(started.scheduledEventId))!, attempts: started.attempt ?? 1 });
      }
    }
    return found;
  }

  test("a file whose reads fail is retried on its own; its day's other files are not translated again", async () => {
    const archive = join(dir, "retry-archive");
    const keys = await makeArchive(archive, "2022-10-01", 1, { hours: 3, grid: [20, 40] });
    const bucket = await uploadArchive(archive, keys, "perfile");
    const failing = keys[1]!.slice(keys[1]!.lastIndexOf("/") + 1);
    // The middle file's first 12 reads fail, in each of the two backfills (the count starts again
    // for each); listings and the other files pass. 12 is more than 3 attempts (the SDK's, and
    // the light GETs') of every request a file's first round sends at once (up to 4: with a
    // layout learned from the first file, the head and the learned ranges go together, so 4
    // failures could be absorbed in one activity attempt: seen once, "1 attempts").
    const proxy = new FaultProxy({ upstream: process.env.AWS_ENDPOINT_URL! });
    await proxy.start();
    let failures = 0;
    proxy.setPlan((request) => (request.path.includes(failing) && failures++ < 12 ? "InternalError" : undefined));
    try {
      for (const [name, settings] of [
        ["perfile-one", { maxConcurrentFiles: 3, smallDayFiles: 0 }],
        ["perfile-batch", { smallDayFiles: 0 }],
      ] as const) {
        failures = 0;
        const spec = testDataset(name, { kind: "s3", bucket, endpoint: proxy.url }, { kind: "local", path: join(dir, `${name}-out`) }, "day");
        const summary = await run(new DatasetRegistry([spec]), { dataset: name, start: "2022-10-01", end: "2022-10-01", ...settings }, name);
        assert.equal(summary.days.written, 1, JSON.stringify(summary.results));
        const histories = await datasetHistories(client, name);
        const attempts = extractionAttempts(histories);
        const translated = completedExtractions(histories).filter((e) => !e.reused).map((e) => e.file);
        const reused = completedExtractions(histories).filter((e) => e.reused).map((e) => e.file);
        if (name === "perfile-one") {
          // One activity per file: only the failing file's was retried.
          assert.equal(attempts.length, 3);
          for (const { files, attempts: n } of attempts) assert.equal(n > 1, files[0] === keys[1], `${files[0]}: ${n} attempts`);
          assert.deepEqual(translated.sort(), [...keys].sort());
        } else {
          // One activity for the day's three files, one after another: its retry found the first
          // file staged (reused, not read again), and translated the failing file and the last.
          assert.equal(attempts.length, 1);
          assert.ok(attempts[0]!.attempts > 1, `${attempts[0]!.attempts} attempts`);
          assert.deepEqual(reused, [keys[0]]);
          assert.deepEqual(translated, [keys[1], keys[2]]);
        }
      }
      assert.equal(proxy.counts.injected.InternalError, 24, JSON.stringify(proxy.counts));
    } finally {
      await proxy.stop();
    }
  });
});

describe("S3 clients", () => {
  test("a worker reuses one client per connection setting", async () => {
    const archive = join(dir, "clients-archive");
    const keys = await makeArchive(archive, "2022-11-01", 3, { hours: 2, grid: [8, 16] });
    const bucket = await uploadArchive(archive, keys, "clients");
    const spec = testDataset("clients", { kind: "s3", bucket }, { kind: "s3", bucket, prefix: "refs-out" }, "month");
    closeSharedS3Clients();
    const before = s3ClientsCreated();
    const summary = await run(new DatasetRegistry([spec]), { dataset: "clients", start: "2022-11-01", end: "2022-11-03", maxConcurrentFiles: 2 }, "clients");
    assert.deepEqual(summary.files, { listed: 6, extracted: 6, reused: 0 });
    // The same endpoint for sources and outputs: one client for the regular activities' reads and
    // writes, and one for the local activities' single tries (made once, at most).
    const made = s3ClientsCreated() - before;
    assert.ok(made >= 1 && made <= 2, `${made} S3 clients made for 6 files, 3 days and their combines`);
  });

  test("the connection key of a client holds what the environment sets, except its credentials", () => {
    // Credentials, endpoint and region from the environment, as a worker gets them; the secrets
    // are fresh random strings, so no other part of the key can contain one by chance.
    const secrets = { AWS_ACCESS_KEY_ID: `AKIA${randomUUID()}`, AWS_SECRET_ACCESS_KEY: randomUUID(), AWS_SESSION_TOKEN: randomUUID() };
    const env = { ...secrets, AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_REGION: "eu-north-9" };
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    const keys: string[] = [];
    try {
      Object.assign(process.env, env);
      const spec = { kind: "s3" as const, bucket: "b", region: "ap-south-7" };
      keys.push(s3ConnectionKey(), s3ConnectionKey(s3ConnectionOf(spec)), s3ConnectionKey({ ...s3ConnectionOf(spec), maxAttempts: 1 }));
      // Other credentials, the same connection: the same key (credentials play no part in it).
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIAOTHER", AWS_SECRET_ACCESS_KEY: "other", AWS_SESSION_TOKEN: "other" });
      assert.equal(s3ConnectionKey(), keys[0]);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    // The key is made of what the environment and the spec say (so a credential read the same way would be in it)...
    assert.match(keys[0]!, /127\.0\.0\.1:9.*eu-north-9/);
    assert.match(keys[1]!, /ap-south-7/);
    // ... and holds no credential.
    for (const key of keys) for (const [name, secret] of Object.entries(secrets)) assert.ok(!key.includes(secret), `${name} in the connection key ${key}`);
  });
});
