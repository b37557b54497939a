import type { Client, Connection } from "@temporalio/client";
import { Worker } from "@temporalio/worker";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { backfillDirect } from "../lib/backfill/direct.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { resolveDatasetSpec, type DatasetSpec } from "../lib/datasets/spec.js";
import { sleep } from "../lib/servers/process.js";
import { TemporalDevServer } from "../worker/devServer.js";
import { workflowBundle } from "../worker/bundle.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { progressQuery } from "../workflows/messages.js";
import { backfillOptions } from "../workflows/options.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";
import type { BackfillInput, BackfillSummary, PeriodResults } from "../workflows/types.js";
import { makeArchive, startWorkerProcess, testDataset, uploadArchive, writeConfig } from "./harness/archive.js";
import { s3, testDir } from "./harness/env.js";
import { completedExtractions, datasetHistories, filesUnder, type History } from "./harness/outputs.js";
import { clientFor, ownDevServer, pollQuery, workerConnection } from "./harness/temporal.js";
import { until } from "./harness/wait.js";

let client: Client;
let connection: Connection;
let dir: string;
let bucket: string;
/** Sources: 2022-01-30 .. 2022-03-01 (31 days, 2 files each) on MinIO; 2022-02-14 has none. */
const START = "2022-01-30";
const END = "2022-03-01";

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("backfill");
  const keys = await makeArchive(join(dir, "archive"), START, 31, { hours: 2, grid: [30, 60], skipDays: ["2022-02-14"] });
  bucket = await uploadArchive(join(dir, "archive"), keys, "archive");
});
after(async () => {
  await connection?.close();
});

const histories = (dataset: string) => datasetHistories(client, dataset);

function spec(name: string, outputFolder: string, aggregation: DatasetSpec["aggregation"] = "month"): DatasetSpec {
  return testDataset(name, { kind: "s3", bucket }, { kind: "local", path: outputFolder }, aggregation);
}

/** The day outputs (refs/.../YYYYMMDD.json) among a folder's files. */
const dayOutputs = (files: Map<string, string>): string[] => [...files.keys()].filter((k) => /\/\d{8}\.json$/.test(k));

/** Day outputs written so far under a folder that may not exist yet (0 then). */
async function writtenDays(folder: string): Promise<number> {
  try {
    return dayOutputs(await filesUnder(folder)).length;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || /no file under/.test(String(error))) return 0;
    throw error;
  }
}

/** Milliseconds since the epoch of a history event's time. */
function eventMs(event: NonNullable<History["events"]>[number]): number {
  const time = event.eventTime;
  return time ? Number(String(time.seconds ?? 0)) * 1000 + (time.nanos ?? 0) / 1e6 : 0;
}

/** Activity types scheduled at or after `since` (ms since the epoch), in every history. */
function scheduledSince(all: Map<string, History>, since: number): string[] {
  const found: string[] = [];
  for (const history of all.values()) {
    for (const event of history.events ?? []) {
      const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type && eventMs(event) >= since) found.push(type);
    }
  }
  return found;
}

/**
 * Activities by the pid of the worker that ran them (a worker's identity is "pid@host"): how many
 * were started, and how many of them extracted files. A retried activity's started event names
 * the worker of its last attempt.
 */
function activitiesByWorker(all: Map<string, History>): Map<number, { activities: number; extractions: number }> {
  const found = new Map<number, { activities: number; extractions: number }>();
  for (const history of all.values()) {
    const types = new Map<number, string>();
    for (const event of history.events ?? []) {
      const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type) types.set(Number(event.eventId), type);
      const started = event.activityTaskStartedEventAttributes;
      if (!started) continue;
      const pid = Number(/^(\d+)@/.exec(started.identity ?? "")?.[1]);
      const counts = found.get(pid) ?? { activities: 0, extractions: 0 };
      counts.activities++;
      if (/^extractFiles?$/.test(types.get(Number(started.scheduledEventId)) ?? "")) counts.extractions++;
      found.set(pid, counts);
    }
  }
  return found;
}

/** Run a backfill to its end with a fresh in-process worker (a Worker runs only once). */
async function runBackfill(datasets: DatasetRegistry, input: BackfillInput, taskQueue: string): Promise<BackfillSummary> {
  const worker = await createWorker({ connection: await workerConnection(), datasets, taskQueue });
  return worker.runUntil(client.workflow.execute(backfillV3, { ...backfillOptions(input), taskQueue }));
}

describe("backfill on the dev server", () => {
  test("a multi-month backfill equals the library run directly, byte for byte; a re-run extracts nothing", async () => {
    const viaTemporal = spec("bf-main", join(dir, "out-temporal"));
    const direct = spec("bf-main", join(dir, "out-direct"));
    const datasets = new DatasetRegistry([viaTemporal]);
    const taskQueue = "bf-main";
    // Day workflows for every day (smallDayFiles 0): the history checks below are about them; batches
    // of small days are compared with the library in test/smallDays.test.ts.
    const summary = await runBackfill(datasets, { dataset: "bf-main", start: START, end: END, maxConcurrentDays: 3, smallDayFiles: 0 }, taskQueue);
    const directSummary = await backfillDirect(resolveDatasetSpec(direct), START, END);

    // Same results for every period, days and rollups (paths differ only by output folder), same
    // counts and status, same bytes in every output.
    const normalise = (r: PeriodResults | Record<string, string>, folder: string): unknown => JSON.parse(JSON.stringify(r).split(join(dir, folder)).join("<out>"));
    assert.deepEqual(normalise(summary.results, "out-temporal"), normalise(directSummary.results, "out-direct"));
    assert.deepEqual(normalise(summary.report, "out-temporal"), normalise(directSummary.report, "out-direct"));
    assert.deepEqual([summary.status, summary.days, summary.rollups, summary.files], [directSummary.status, directSummary.days, directSummary.rollups, directSummary.files]);
    assert.deepEqual(summary.results["2022-02-14"], { outcome: "noFiles" });
    assert.equal(summary.report["2022-02-14"], "ERROR(NOFILES)");
    assert.deepEqual(summary.results["2022-01"], { outcome: "partial" });
    assert.equal(summary.report["2022-01"], "PARTIAL");
    assert.equal(summary.results["2022-02"]?.outcome, "written");
    assert.match(summary.report["2022-02"]!, /refs\/AHI-L2-FLDK-SST\/202202\.json$/);
    assert.deepEqual(summary.days, { total: 31, written: 30, existing: 0, failed: 0, noFiles: 1 });
    assert.equal(summary.status, "completed");
    assert.equal(summary.files.extracted, 60);
    const outputs = await filesUnder(join(dir, "out-temporal"));
    assert.deepEqual(outputs, await filesUnder(join(dir, "out-direct")));
    assert.ok(outputs.has("refs/AHI-L2-FLDK-SST/20220130.json") && outputs.has("refs/AHI-L2-FLDK-SST/202202.json"));
    assert.ok(![...outputs.keys()].some((k) => k.includes(".staging")), "staging left behind");

    // Re-running the finished range: every day "existing", no extraction at all.
    const again = await runBackfill(datasets, { dataset: "bf-main", start: START, end: END }, taskQueue);
    assert.equal(again.days.existing, 30);
    assert.equal(again.files.extracted + again.files.reused + again.files.listed, 0);
    assert.deepEqual(await filesUnder(join(dir, "out-temporal")), outputs);
  });

  test("a corrupt file fails its day with the error recorded; the other days are fine; a re-run retries just that day", async () => {
    const archive = join(dir, "archive-corrupt");
    const corrupt = "AHI-L2-FLDK-SST/2022/03/02/0100/20220302010000-NCCF-L3C_GHRSST-SSTsubskin-AHI_H08-ACSPO_V2.80-v02.0-fv01.0.nc";
    const keys = await makeArchive(archive, "2022-03-01", 3, { hours: 2, grid: [20, 40], corrupt: [corrupt] });
    const corruptBucket = await uploadArchive(archive, keys, "corrupt");
    const datasets = new DatasetRegistry([testDataset("bf-corrupt", { kind: "s3", bucket: corruptBucket }, { kind: "local", path: join(dir, "out-corrupt") })]);
    const summary = await runBackfill(datasets, { dataset: "bf-corrupt", start: "2022-03-01", end: "2022-03-03" }, "bf-corrupt");
    assert.match(summary.report["2022-03-02"]!, /^ERROR\(Hdf5FormatError\): .*20220302010000.*superblock/);
    assert.equal(summary.results["2022-03-02"]?.outcome, "failed");
    assert.match(summary.report["2022-03-01"]!, /20220301\.json$/);
    assert.match(summary.report["2022-03-03"]!, /20220303\.json$/);
    assert.equal(summary.days.failed, 1);

    // The file is fixed upstream; re-running the range retries the failed day and only that day.
    const { PutObjectCommand } = await import("@aws-sdk/client-s3");
    const repaired = join(dir, "archive-repaired");
    await makeArchive(repaired, "2022-03-02", 1, { hours: 2, grid: [20, 40] });
    const client3 = s3();
    await client3.send(new PutObjectCommand({ Bucket: corruptBucket, Key: corrupt, Body: await readFile(join(repaired, corrupt)) }));
    client3.destroy();
    const again = await runBackfill(datasets, { dataset: "bf-corrupt", start: "2022-03-01", end: "2022-03-03" }, "bf-corrupt");
    assert.match(again.report["2022-03-02"]!, /20220302\.json$/);
    assert.equal(again.report["2022-03-01"], "existing");
    assert.equal(again.report["2022-03-03"], "existing");
    assert.equal(again.days.failed, 0);
  });

  test("SIGKILL the worker mid-backfill: a new worker finishes it; same bytes; no finished file extracted again", async () => {
    const outFolder = join(dir, "out-killed");
    const config = await writeConfig(dir, [spec("bf-kill", outFolder, "day")]);
    const taskQueue = "bf-kill";
    const address = process.env.TK_TEST_TEMPORAL_ADDRESS!;
    const first = await startWorkerProcess({ address, taskQueue, config, logFile: join(dir, "worker-1.log") });
    let second: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
    let summary: BackfillSummary;
    try {
      const handle = await client.workflow.start(backfillV3, {
        ...backfillOptions({ dataset: "bf-kill", start: START, end: END, maxConcurrentDays: 2, maxConcurrentFiles: 2, smallDayFiles: 0 }),
        taskQueue,
      });
      // Kill once a few day outputs are on disk: read from the disk, not from the progress query,
      // which is up to 5 s behind (sampled reports): by the time it said 5 days were done, the first
      // worker had once extracted every file, and the new worker only combined (seen in the suite).
      const started = Date.now();
      while ((await writtenDays(outFolder)) < 3) {
        assert.ok(Date.now() - started < 60_000, "no day output within 60 s");
        await sleep(50);
      }
      const atKill = await pollQuery(handle, progressQuery, () => true, "the progress at the kill"); // asked while a worker answers
      await first.kill();
      // The kill landed mid-run: the backfill had days running and days not done, and fewer days
      // written than it will write (the first worker is dead: whatever else gets written, the second writes).
      const writtenAtKill = dayOutputs(await filesUnder(outFolder)).length;
      assert.equal(atKill.status, "running");
      assert.ok(atKill.daysDone < atKill.daysTotal && writtenAtKill < 30, `at the kill: ${JSON.stringify(atKill)}; ${writtenAtKill} days written`);
      second = await startWorkerProcess({ address, taskQueue, config, logFile: join(dir, "worker-2.log") });
      summary = await handle.result();
    } finally {
      await first.kill();
      await second?.stop();
    }

    assert.equal(summary.days.failed, 0);
    // A day whose output the first worker wrote just before the kill, before its workflow heard,
    // is found by the retry: "existing" (at most the 2 days running at once); every other is written.
    assert.equal(summary.days.written + summary.days.existing, 30);
    assert.ok(summary.days.existing <= 2, `${summary.days.existing} days existing`);
    assert.equal(dayOutputs(await filesUnder(outFolder)).length, 30);
    // The new worker ran extractions (history names the worker that ran each activity).
    const byWorker = activitiesByWorker(await histories("bf-kill"));
    assert.ok((byWorker.get(second.pid!)?.extractions ?? 0) > 0, `activities by worker pid: ${JSON.stringify([...byWorker])}`);
    await backfillDirect(resolveDatasetSpec(spec("bf-kill", join(dir, "out-killed-direct"), "day")), START, END);
    // The outputs as storage lists them: a write the kill cut short leaves its temporary file
    // (`<key>.tmp-<random>`, never listed, never read), which the direct run has no reason to have.
    const outputs = async (folder: string) => new Map([...(await filesUnder(folder))].filter(([key]) => !key.includes(".tmp-")));
    assert.deepEqual(await outputs(outFolder), await outputs(join(dir, "out-killed-direct")));
    // Each file's extraction completed once, and none translated again: an extraction killed after
    // staging its file but before its completion reached the server was retried and found the file
    // staged (reused), so a file the first worker translated is recorded as reused, never twice.
    const completed = completedExtractions(await histories("bf-kill"));
    assert.equal(completed.length, 60, `completed extractions: ${completed.length}`);
    assert.equal(new Set(completed.map((e) => e.file)).size, 60);
  });

  test("replaying every recorded history is deterministic", async () => {
    const all = await histories("bf-main");
    assert.ok(all.size > 30);
    const replays = [...all.entries()].map(([id, history]) => ({ workflowId: id.split("#")[0]!, history }));
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, replays)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    }
  });

  test("nothing big goes through history: the largest payload is small", async () => {
    let largest = 0;
    let where = "";
    const all = await histories("bf-main");
    assert.ok(all.size > 30, `only ${all.size} histories`);
    for (const [id, history] of all) {
      for (const event of history.events ?? []) {
        const size = JSON.stringify(event).length;
        if (size > largest) {
          largest = size;
          where = `${id} event ${event.eventId} (${event.eventType})`;
        }
      }
    }
    // A month's results (31 paths) is the biggest thing we pass; references never travel.
    assert.ok(largest < 16 * 1024, `largest event ${largest} bytes at ${where}`);
    // A day gets its settings and its date, never its year's plan or other days' results (which
    // would make history grow with the square of the range).
    let days = 0;
    for (const [id, history] of all) {
      if (!/\/\d{4}-\d{2}-\d{2}#/.test(id)) continue;
      const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      assert.ok(input && input.length < 1024, `${id}: day input of ${input?.length} bytes`);
      days++;
    }
    assert.ok(days >= 30, `only ${days} day workflows checked`);
  });
});

describe("backfill across a dev server restart", () => {
  test("stop and restart the server on its database mid-backfill: the backfill finishes", async () => {
    const serverDir = await testDir("restart");
    const server = await new TemporalDevServer({
      searchAttributes: searchAttributeRegistrations,
      dbFile: join(serverDir, "temporal.db"),
      logFile: join(serverDir, "temporal.log"),
    }).start();
    const outFolder = join(serverDir, "out");
    const config = await writeConfig(serverDir, [spec("bf-restart", outFolder, "day")]);
    const worker = await startWorkerProcess({ address: server.address, taskQueue: "bf-restart", config, logFile: join(serverDir, "worker.log") });
    const { Client: ClientClass, Connection: ConnectionClass } = await import("@temporalio/client");
    let conn = await ConnectionClass.connect({ address: server.address });
    try {
      // One day at a time, each a day workflow: the 31 days take long enough for the restart to land among them.
      await new ClientClass({ connection: conn }).workflow.start(backfillV3, {
        ...backfillOptions({ dataset: "bf-restart", start: START, end: END, maxConcurrentDays: 1, smallDayFiles: 0 }, "bf-restart/backfill"),
        taskQueue: "bf-restart",
      });
      // The kill lands among the days once three day outputs exist: the files say where the
      // backfill is now, while its progress query is sampled (reports at most every few seconds),
      // and on a quick server it said "3 days done" when every extraction had been scheduled.
      const outputsAtKill = await until("3 day outputs", async () => {
        const written = await writtenDays(outFolder);
        return written >= 3 ? written : undefined;
      });
      await conn.close();
      await server.kill();
      assert.ok(outputsAtKill < 30, `at the kill: ${outputsAtKill} of 30 day outputs written`);
      await sleep(1000);
      const restartedAt = Date.now();
      await server.start();
      conn = await ConnectionClass.connect({ address: server.address });
      const restarted = new ClientClass({ connection: conn });
      const summary = await restarted.workflow.getHandle<typeof backfillV3>("bf-restart/backfill").result();
      // The restarted server dispatched work: extractions scheduled after the restart.
      const after = scheduledSince(await datasetHistories(restarted, "bf-restart"), restartedAt);
      assert.ok(after.some((type) => /^extractFiles?$/.test(type)), `activities scheduled after the restart: ${JSON.stringify(after)}`);
      assert.equal(summary.days.total, 31);
      assert.equal(summary.days.written + summary.days.existing, 30);
      assert.equal(summary.days.failed, 0);
      assert.equal(dayOutputs(await filesUnder(outFolder)).length, 30);
    } finally {
      await conn.close();
      await worker.stop();
      await server.stop();
    }
  });
});

describe("continue-as-new", () => {
  test("when the server suggests it, month workflows continue as new and carry their results", async () => {
    const serverDir = await testDir("can");
    // A tiny history limit makes the server suggest continue-as-new after a handful of days.
    const own = await ownDevServer(serverDir, { "limit.historyCount.suggestContinueAsNew": 20 });
    const local = own.client;
    const archive = join(serverDir, "archive");
    await makeArchive(archive, "2022-03-01", 16, { hours: 1, grid: [8, 16] });
    const outFolder = join(serverDir, "out");
    const datasets = new DatasetRegistry([testDataset("bf-can", { kind: "local", path: archive }, { kind: "local", path: outFolder }, "month")]);
    const worker = await createWorker({ connection: await own.workerConnection(), datasets, taskQueue: "bf-can" });
    try {
      const summary = await worker.runUntil(
        local.workflow.execute(backfillV3, {
          ...backfillOptions({ dataset: "bf-can", start: "2022-03-01", end: "2022-03-16", maxConcurrentDays: 2, smallDayFiles: 0 }, "bf-can/backfill"),
          taskQueue: "bf-can",
        }),
      );
      assert.equal(summary.days.written, 16);
      // File counts survive the month's continue-as-new too.
      assert.deepEqual(summary.files, { listed: 16, extracted: 16, reused: 0 });
      assert.deepEqual(summary.results["2022-03"], { outcome: "partial" });
      const runs = [];
      for await (const execution of local.workflow.list({ query: "WorkflowId = 'bf-can/2022-03'" })) runs.push(execution.runId);
      assert.ok(runs.length > 1, `the month ran ${runs.length} time(s); expected continue-as-new`);
      const direct = join(serverDir, "direct");
      await backfillDirect(resolveDatasetSpec(testDataset("bf-can", { kind: "local", path: archive }, { kind: "local", path: direct }, "month")), "2022-03-01", "2022-03-16");
      assert.deepEqual(await filesUnder(outFolder), await filesUnder(direct));
    } finally {
      await own.stop();
    }
  });
});
