/**
 * One status, told four ways: each workflow's TkStatus search attribute, the backfill's `progress`
 * query, its summary and the CLI's output agree, on a range with a day without files, a failed
 * day, a failed (incomplete) rollup and a partial one; and `retryFailed` re-runs what failed.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { Client, Connection } from "@temporalio/client";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { periodsOfMonth, periodsOfYear, statusOf, summaryLines, type BackfillSummary } from "../lib/backfill/model/index.js";
import { planBackfill } from "../lib/backfill/plan.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { FaultProxy, faultPlans } from "./harness/servers/faultProxy.js";
import { repositoryRoot, sleep } from "../lib/servers/process.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { progressQuery, retryFailedUpdate } from "../workflows/messages.js";
import { backfillOptions, backfillWorkflowId } from "../workflows/options.js";
import { statusKey } from "../workflows/searchAttributes.js";
import { makeArchive, testDataset, uploadArchive } from "./harness/archive.js";
import { s3, temporalAddress, testDir } from "./harness/env.js";
import { clientFor, workerConnection } from "./harness/temporal.js";

const run = promisify(execFile);
let client: Client;
let connection: Connection;
let dir: string;

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("status");
});
after(async () => {
  await connection?.close();
});

const tkStatus = async (workflowId: string): Promise<string | undefined> =>
  (await client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(statusKey);

/** The TkStatus every workflow of the tree should show, by the status rule, from the summary's results. */
function expectedStatuses(summary: BackfillSummary): Map<string, string> {
  const plan = planBackfill(summary.dataset, "month", summary.start, summary.end);
  const expected = new Map<string, string>([[backfillWorkflowId(summary), summary.status]]);
  for (const year of plan.years) {
    expected.set(`${summary.dataset}/${year.id}`, statusOf(periodsOfYear(year, "month").map((p) => summary.results[p])));
    for (const month of year.months) {
      expected.set(`${summary.dataset}/${month.id}`, statusOf(periodsOfMonth(month, "month").map((p) => summary.results[p])));
      for (const day of month.days) expected.set(`${summary.dataset}/${day}`, statusOf([summary.results[day]]));
    }
  }
  return expected;
}

describe("status, progress, summary and CLI agree", () => {
  test("a month with a day without files and a failed day, a partial month; then the failed day repaired", async () => {
    const archive = join(dir, "archive");
    const keys = await makeArchive(archive, "2022-02-01", 30, { hours: 1, grid: [8, 16], skipDays: ["2022-02-14"] });
    const broken = keys.find((k) => k.includes("/2022/02/20/"))!;
    const good = await readFile(join(archive, broken));
    await writeFile(join(archive, broken), "garbage, not HDF5");
    const dataset = "st-month";
    const datasets = new DatasetRegistry([testDataset(dataset, { kind: "local", path: archive }, { kind: "local", path: join(dir, "out") }, "month")]);
    const taskQueue = "status";
    const worker = await createWorker({ connection: await workerConnection(), datasets, taskQueue });
    const input = { dataset, start: "2022-02-01", end: "2022-03-02" };
    // Day workflows (smallDayFiles 0): each day's TkStatus is checked below.

    await worker.runUntil(async () => {
      // The CLI, as a user runs it: its own process, following the backfill to the end.
      const cli = await run(
        process.execPath,
        ["--import", "tsx", resolve(repositoryRoot, "cli/main.ts"), "backfill", "--dataset", dataset, "--start", input.start, "--end", input.end, "--max-days", "8", "--small-day-files", "0", "--address", temporalAddress(), "--task-queue", taskQueue],
        { cwd: repositoryRoot },
      ).then(
        (done) => ({ code: 0, stdout: done.stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
      const handle = client.workflow.getHandle<typeof backfillV3>(backfillWorkflowId(input));
      const summary = await handle.result();

      assert.equal(summary.status, "partial");
      assert.deepEqual(summary.days, { total: 30, written: 28, existing: 0, noFiles: 1, failed: 1 });
      assert.deepEqual(summary.rollups, { total: 2, written: 0, existing: 0, noFiles: 0, failed: 1, partial: 1 });
      assert.deepEqual(summary.results["2022-02-14"], { outcome: "noFiles" });
      assert.equal(summary.results["2022-02-20"]?.outcome, "failed");
      assert.match(summary.report["2022-02"]!, /^ERROR\(Incomplete\): 1 of 28 inputs missing or failed \(2022-02-20\)$/);
      assert.equal(summary.report["2022-03"], "PARTIAL");
      // The CLI printed exactly the summary's lines, and said so by its exit code.
      assert.deepEqual(cli.stdout.trimEnd().split("\n"), summaryLines(summary));
      assert.equal(cli.code, 1);
      // The progress query, asked after the end, counts what the summary counts.
      const progress = await handle.query(progressQuery);
      assert.deepEqual(
        [progress.status, progress.daysTotal, progress.daysDone, progress.daysWritten, progress.daysExisting, progress.daysNoFiles, progress.daysFailed],
        [summary.status, 30, 30, 28, 0, 1, 1],
      );
      assert.deepEqual([progress.filesListed, progress.filesDone, progress.running], [29, 29, []]);
      // Every workflow's TkStatus is the status rule applied to its own periods.
      const expected = expectedStatuses(summary);
      assert.equal(expected.size, 1 + 1 + 2 + 30);
      for (const [workflowId, status] of expected) assert.equal(await tkStatus(workflowId), status, workflowId);
      assert.deepEqual(
        await Promise.all([`${dataset}/2022-02-14`, `${dataset}/2022-02-20`, `${dataset}/2022-02`, `${dataset}/2022-03`].map(tkStatus)),
        ["completed", "failed", "partial", "completed"],
      );

      // Repaired: February again. Days exist, the repaired one is written, the rollup too.
      await writeFile(join(archive, broken), good);
      const february = { dataset, start: "2022-02-01", end: "2022-02-28", maxConcurrentDays: 8, smallDayFiles: 0 };
      const again = await client.workflow.execute(backfillV3, { ...backfillOptions(february), taskQueue });
      assert.equal(again.status, "completed");
      assert.deepEqual(again.days, { total: 28, written: 1, existing: 26, noFiles: 1, failed: 0 });
      assert.equal(again.results["2022-02"]?.outcome, "written");
      for (const [workflowId, status] of expectedStatuses(again)) assert.equal(await tkStatus(workflowId), status, workflowId);
      assert.equal(await tkStatus(`${dataset}/2022-02`), "completed");
    });
  });
});

describe("retryFailed", () => {
  test("re-runs the failed day of a running backfill after the current pass", async () => {
    const archive = join(dir, "retry-archive");
    const keys = await makeArchive(archive, "2022-04-01", 4, { hours: 1, grid: [8, 16] });
    const bucket = await uploadArchive(archive, keys, "retry");
    const broken = keys.find((k) => k.includes("/2022/04/01/"))!;
    const store = s3();
    await store.send(new PutObjectCommand({ Bucket: bucket, Key: broken, Body: "garbage, not HDF5" }));
    // The other days' requests are answered 503 until the retry is queued: the backfill is still
    // running when retryFailed arrives, whatever the machine's speed.
    const proxy = new FaultProxy({ upstream: process.env.AWS_ENDPOINT_URL! });
    await proxy.start();
    let gateOpen = false;
    proxy.setPlan((request) => (gateOpen || /2022(\/|%2F)04(\/|%2F)01/i.test(request.path) ? undefined : "SlowDown"));
    const dataset = "st-retry";
    const datasets = new DatasetRegistry([testDataset(dataset, { kind: "s3", bucket, endpoint: proxy.url }, { kind: "local", path: join(dir, "retry-out") }, "day")]);
    const worker = await createWorker({ connection: await workerConnection(), datasets, taskQueue: "retry" });
    try {
      const summary = await worker.runUntil(async () => {
        const handle = await client.workflow.start(backfillV3, { ...backfillOptions({ dataset, start: "2022-04-01", end: "2022-04-04" }), taskQueue: "retry" });
        let progress = await handle.query(progressQuery);
        for (let i = 0; i < 600 && progress.daysFailed === 0; i++) {
          await sleep(100);
          progress = await handle.query(progressQuery);
        }
        assert.deepEqual([progress.status, progress.daysFailed, progress.daysDone], ["running", 1, 1]);
        await store.send(new PutObjectCommand({ Bucket: bucket, Key: broken, Body: await readFile(join(archive, broken)) }));
        assert.equal(await handle.executeUpdate(retryFailedUpdate), 1);
        gateOpen = true;
        return handle.result();
      });
      assert.equal(summary.status, "completed");
      assert.deepEqual(summary.days, { total: 4, written: 4, existing: 0, noFiles: 0, failed: 0 });
      assert.match(summary.report["2022-04-01"]!, /20220401\.json$/);
      assert.ok(proxy.counts.injected.SlowDown > 0, JSON.stringify(proxy.counts));
    } finally {
      store.destroy();
      await proxy.stop();
    }
  });
});
