/**
 * Whatever an operator does to a period a backfill started (terminate, cancel or reset a year, a
 * month or a day; fail a batch of small days), the backfill ends, within a bound, and tells the
 * truth: what was written stays written, what was not is a typed failure (`ERROR(Terminated)` ...),
 * nothing is listed as running, no workflow of it is left running, and a re-run redoes just what
 * is not done. The sources sit behind Toxiproxy at a slow rate while the operator acts (so the
 * period is caught mid-work), then at full speed.
 *
 * The range is 2021-12-30..2022-01-01, one hourly file a day, one day at a time: the operator acts
 * on 2021 (its year, its month, or the day 2021-12-31) once 2021-12-30 is done and 2021-12-31 runs;
 * the backfill must go on to 2022.
 */
import type { Client, Connection, WorkflowHandle } from "@temporalio/client";
import { ApplicationFailure } from "@temporalio/common";
import { Worker } from "@temporalio/worker";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import type { BackfillSummary, PeriodResult } from "../lib/backfill/model/index.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import type { DatasetSpec } from "../lib/datasets/spec.js";
import { sleep } from "../lib/servers/process.js";
import { workflowBundle } from "../worker/bundle.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { progressQuery } from "../workflows/messages.js";
import { backfillOptions } from "../workflows/options.js";
import { statusKey } from "../workflows/searchAttributes.js";
import { SECOND_LOOK_MS, WATCH_INTERVAL_MS } from "../workflows/watch.js";
import { makeArchive, testDataset, uploadArchive } from "./harness/archive.js";
import { testDir } from "./harness/env.js";
import { until } from "./harness/wait.js";
import { datasetHistories } from "./harness/outputs.js";
import { ToxiproxyServer, type ProxyHandle } from "./harness/servers/toxiproxy.js";
import { clientFor, ownDevServer, workerConnection } from "./harness/temporal.js";

type Level = "year" | "month" | "day";
type Action = "terminate" | "cancel" | "reset";
const levels: Level[] = ["year", "month", "day"];
const actions: Action[] = ["terminate", "cancel", "reset"];

const START = "2021-12-30";
const END = "2022-01-01";
const TARGET_DAY = "2021-12-31";
const taskQueue = "liveness";
/** How long the backfill may take to end after the operator's action: the watch's bound for a year, plus the rest of the work. */
const ENDS_WITHIN_MS = WATCH_INTERVAL_MS + SECOND_LOOK_MS + 45_000;

let client: Client;
let connection: Connection;
let dir: string;
let bucket: string;
const toxiproxy = new ToxiproxyServer();
const proxies = new Map<string, ProxyHandle>();
const datasets: DatasetSpec[] = [];

const scenarios = [...levels.flatMap((level) => actions.map((action) => ({ level, action }))), { level: "batch" as const, action: "fail" as const }];
const datasetOf = ({ level, action }: { level: string; action: string }): string => `live-${level}-${action}`;

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("liveness");
  const keys = await makeArchive(join(dir, "archive"), START, 3, { hours: 1, grid: [300, 600] });
  bucket = await uploadArchive(join(dir, "archive"), keys, "liveness");
  await toxiproxy.start();
  for (const scenario of scenarios) {
    const name = datasetOf(scenario);
    const proxy = await toxiproxy.createProxy(name, process.env.AWS_ENDPOINT_URL!);
    proxies.set(name, proxy);
    datasets.push(testDataset(name, { kind: "s3", bucket, endpoint: proxy.url }, { kind: "local", path: join(dir, `out-${name}`) }, "day"));
  }
});
after(async () => {
  await connection?.close();
  await toxiproxy.stop();
});

/** Reset a workflow to its first workflow task, as `temporal workflow reset --type FirstWorkflowTask` does. */
async function resetToFirstTask(workflowId: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const first = history.events?.find((e) => e.workflowTaskCompletedEventAttributes);
  assert.ok(first?.eventId, `${workflowId}: no completed workflow task to reset to`);
  await client.workflowService.resetWorkflowExecution({
    namespace: "default",
    workflowExecution: { workflowId },
    reason: "liveness test",
    workflowTaskFinishEventId: first.eventId,
    requestId: randomUUID(),
  });
}

async function act(action: Action, workflowId: string): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  if (action === "terminate") await handle.terminate("liveness test");
  else if (action === "cancel") await handle.cancel();
  else await resetToFirstTask(workflowId);
}

/** Ends within `ms`, or the test fails saying it hung (rather than hanging the suite). */
async function endsWithin(handle: WorkflowHandle<typeof backfillV3>, ms: number): Promise<BackfillSummary> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the backfill did not end within ${ms} ms of the operator's action`)), ms)));
  try {
    return await Promise.race([handle.result(), hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Workflows of the dataset the server still shows running (visibility catches up within a few seconds). */
async function stillRunning(dataset: string): Promise<string[]> {
  let running: string[] = [];
  for (let i = 0; i < 25; i++) {
    running = [];
    for await (const e of client.workflow.list({ query: `TkDataset = '${dataset}' AND ExecutionStatus = 'Running'` })) running.push(e.workflowId);
    if (running.length === 0) return running;
    await sleep(200);
  }
  return running;
}

/**
 * Every history of the dataset (the backfills, years, months, days) replays on this code: the
 * watch's patch and the handling of ended periods are deterministic whatever the operator did
 * (a replay happens after any failed workflow task, an eviction, a query on an uncached run).
 */
async function replaysAsRecorded(dataset: string, from: Client = client): Promise<void> {
  const histories = [...(await datasetHistories(from, dataset)).entries()];
  assert.ok(histories.some(([id]) => id.includes("/backfill/") || id.includes("/rerun")), "the backfill's history is among them");
  const replays = histories.map(([id, history]) => ({ workflowId: id.split("#")[0]!, history }));
  let replayed = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, replays)) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    replayed++;
  }
  assert.equal(replayed, replays.length);
}

const outcome = (result: PeriodResult | undefined): string => (result ? (result.outcome === "failed" ? `failed:${result.kind}` : result.outcome) : "none");

/** Start the backfill slowly, wait until 2021-12-30 is done and 2021-12-31 runs. */
async function startCaughtMidWork(dataset: string, extra: { smallDayFiles?: number } = {}): Promise<WorkflowHandle<typeof backfillV3>> {
  const proxy = proxies.get(dataset)!;
  await proxy.removeAllToxics();
  // 24 KB/s: a day's file takes ~18 s cold and ~8 s once the worker knows the dataset's layout
  // (it then reads ~200 kB instead of ~430 kB); at 48 KB/s the target day's 4 s were over before
  // the operator's action landed (seen: 'existing' where 'written' was due).
  await proxy.addToxic({ type: "bandwidth", attributes: { rate: 24 } });
  const input = { dataset, start: START, end: END, maxConcurrentDays: 1, smallDayFiles: 0, ...extra };
  const handle = await client.workflow.start(backfillV3, { ...backfillOptions(input), taskQueue });
  return handle;
}

async function rerun(t: TestContext, dataset: string): Promise<BackfillSummary> {
  await proxies.get(dataset)!.removeAllToxics();
  const input = { dataset, start: START, end: END, smallDayFiles: 0 };
  const summary = await client.workflow.execute(backfillV3, { ...backfillOptions(input), workflowId: `${dataset}/rerun`, taskQueue });
  t.diagnostic(`re-run: ${JSON.stringify(Object.fromEntries(Object.entries(summary.results).map(([p, r]) => [p, outcome(r)])))}`);
  return summary;
}

describe("a backfill ends and tells the truth whatever an operator does to its periods", { concurrency: true }, () => {
  let worker: Awaited<ReturnType<typeof createWorker>>;
  let running: Promise<void>;
  before(async () => {
    worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry(datasets), taskQueue });
    running = worker.run();
  });
  after(async () => {
    worker.shutdown();
    await running;
  });

  for (const level of levels) {
    for (const action of actions) {
      test(`${action} the ${level} of ${TARGET_DAY}`, async (t) => {
        const dataset = datasetOf({ level, action });
        const handle = await startCaughtMidWork(dataset);
        await until(`${START} done and ${TARGET_DAY} running`, async () => {
          const p = await handle.query(progressQuery).catch(() => undefined);
          return p && p.daysWritten >= 1 && p.running.includes(TARGET_DAY) ? p : undefined;
        });
        const target = `${dataset}/${level === "year" ? "2021" : level === "month" ? "2021-12" : TARGET_DAY}`;
        await act(action, target);
        const acted = Date.now();
        // Terminated or cancelled, the day stops (a year's or a month's children with it) before
        // its slow read could finish: only then is the rest of the range let run at full speed.
        // Reset, the period runs again at once.
        if (action !== "reset") await until(`${TARGET_DAY}'s day workflow closed`, async () => ((await client.workflow.getHandle(`${dataset}/${TARGET_DAY}`).describe()).status.name === "RUNNING" ? undefined : true));
        await proxies.get(dataset)!.removeAllToxics();
        const summary = await endsWithin(handle, ENDS_WITHIN_MS);
        t.diagnostic(`ended ${Date.now() - acted} ms after the ${action}: ${summary.status}, ${JSON.stringify(summary.report)}`);

        assert.equal(outcome(summary.results[START]), "written", "what was written before stays written");
        assert.equal(outcome(summary.results[END]), "written", "the backfill went on to the next year");
        if (action === "reset") {
          // A reset period runs again from its start: its days are done (by the new run, or by a day
          // workflow of the old run that was left to finish: then the new run finds it "existing").
          assert.ok(["written", "existing"].includes(outcome(summary.results[TARGET_DAY])), outcome(summary.results[TARGET_DAY]));
          assert.equal(summary.status, "completed");
        } else {
          const kind = action === "terminate" ? "Terminated" : "Cancelled";
          const result = summary.results[TARGET_DAY];
          assert.equal(outcome(result), `failed:${kind}`);
          assert.match(result?.outcome === "failed" ? result.message : "", new RegExp(`${target.replace(/[/.-]/g, "\\$&")} was (terminated|cancelled)`));
          assert.equal(summary.status, "partial");
        }
        const progress = await handle.query(progressQuery);
        assert.deepEqual(progress.running, [], "nothing listed as running after the end");
        assert.equal(progress.status, summary.status);
        assert.equal(progress.daysDone, 3);
        assert.equal((await handle.describe()).typedSearchAttributes.get(statusKey), summary.status);
        assert.deepEqual(await stillRunning(dataset), [], "no workflow of the backfill left running");

        // A re-run redoes only what is not done.
        const again = await rerun(t, dataset);
        assert.equal(again.status, "completed");
        assert.equal(outcome(again.results[START]), "existing");
        assert.equal(outcome(again.results[END]), "existing");
        assert.equal(outcome(again.results[TARGET_DAY]), action === "reset" ? "existing" : "written");
        await replaysAsRecorded(dataset);
      });
    }
  }

  test("fail a batch of small days (as `temporal activity fail` does): its days get day workflows, and the backfill completes", async (t) => {
    const dataset = datasetOf({ level: "batch", action: "fail" });
    const handle = await startCaughtMidWork(dataset, { smallDayFiles: 8 });
    const month = `${dataset}/2021-12`;
    const batch = await until("the month's batch running", async () => {
      const pending = (await client.workflow.getHandle(month).describe().catch(() => undefined))?.raw.pendingActivities ?? [];
      const running = pending.find((a) => a.activityType?.name === "runSmallDays" && a.state === 2); // PENDING_ACTIVITY_STATE_STARTED
      return running?.activityId ?? undefined;
    });
    await client.activity.fail({ workflowId: month, activityId: batch }, ApplicationFailure.nonRetryable("failed by the operator", "OperatorFailure"));
    await proxies.get(dataset)!.removeAllToxics();
    const summary = await endsWithin(handle, ENDS_WITHIN_MS);
    t.diagnostic(`${summary.status}: ${JSON.stringify(summary.report)}`);
    assert.equal(summary.status, "completed");
    // A day the batch finished before it failed is found by its day workflow: "existing". So may
    // be one it finishes after: a failed activity runs on in the worker until its next heartbeat
    // hears of the failure, and the sources are fast again by then (seen once for 2021-12-31).
    for (const day of [START, TARGET_DAY]) assert.ok(["written", "existing"].includes(outcome(summary.results[day])), `${day}: ${outcome(summary.results[day])}`);
    assert.equal(outcome(summary.results[END]), "written", END);
    // The failure landed: the month recorded its batch failed, and gave both of its days their day workflows.
    const histories = await datasetHistories(client, dataset);
    const monthHistory = [...histories.entries()].find(([id]) => id.startsWith(`${month}#`))?.[1];
    assert.equal(monthHistory?.events?.filter((e) => e.activityTaskFailedEventAttributes).length, 1, "the batch failed once");
    for (const day of [START, TARGET_DAY]) assert.ok([...histories.keys()].some((id) => id.startsWith(`${dataset}/${day}#`)), `${day} got its day workflow`);
    assert.deepEqual((await handle.query(progressQuery)).running, []);
    await replaysAsRecorded(dataset);
  });
});

describe("a month that continued as new into a run an operator terminates", () => {
  test("the year records its unfinished days Terminated, keeps what was written, and the backfill ends", async (t) => {
    const serverDir = await testDir("liveness-can");
    // A tiny history limit makes the server suggest continue-as-new to the month after a few days.
    const own = await ownDevServer(serverDir, { "limit.historyCount.suggestContinueAsNew": 20 });
    const dataset = "live-can";
    const start = "2022-03-01";
    const end = "2022-03-12";
    const archive = join(serverDir, "archive");
    const keys = await makeArchive(archive, start, 12, { hours: 1, grid: [300, 600] });
    const canBucket = await uploadArchive(archive, keys, "liveness-can");
    const proxy = await toxiproxy.createProxy(dataset, process.env.AWS_ENDPOINT_URL!);
    await proxy.addToxic({ type: "bandwidth", attributes: { rate: 96 } });
    const spec = testDataset(dataset, { kind: "s3", bucket: canBucket, endpoint: proxy.url }, { kind: "local", path: join(serverDir, "out") }, "day");
    const worker = await createWorker({ connection: await own.workerConnection(), datasets: new DatasetRegistry([spec]), taskQueue: "live-can" });
    try {
      await worker.runUntil(async () => {
        const input = { dataset, start, end, maxConcurrentDays: 1, smallDayFiles: 0 };
        const handle = await own.client.workflow.start(backfillV3, { ...backfillOptions(input), taskQueue: "live-can" });
        const month = `${dataset}/2022-03`;
        // Wait until the month runs a second run (it continued as new), with days left to do.
        await until("the month's second run", async () => {
          const runs: string[] = [];
          for await (const e of own.client.workflow.list({ query: `WorkflowId = '${month}'` })) runs.push(e.runId);
          return runs.length > 1 ? runs : undefined;
        });
        const before = await handle.query(progressQuery);
        assert.ok(before.daysDone < 12, `only ${before.daysDone} days done: the month still has work`);
        await own.client.workflow.getHandle(month).terminate("liveness test");
        await until("the month's days stopped", async () => ((await own.client.workflow.getHandle(month).describe()).status.name === "RUNNING" ? undefined : true));
        await proxy.removeAllToxics();
        const summary = await endsWithin(handle, ENDS_WITHIN_MS);
        t.diagnostic(`${summary.status}: ${JSON.stringify(summary.days)}`);
        const days = Object.entries(summary.results).filter(([p]) => p.length === 10);
        const terminated = days.filter(([, r]) => r.outcome === "failed" && r.kind === "Terminated").length;
        const done = days.filter(([, r]) => r.outcome === "written").length;
        assert.ok(terminated >= 1, "the days the month did not finish are Terminated");
        assert.ok(done >= before.daysWritten && done >= 1, "what was written before stays written");
        assert.equal(done + terminated, 12, `every day accounted for: ${JSON.stringify(summary.report)}`);
        assert.equal(summary.status, "partial");
        assert.deepEqual((await handle.query(progressQuery)).running, []);
        const again = await own.client.workflow.execute(backfillV3, { ...backfillOptions({ dataset, start, end }), workflowId: `${dataset}/rerun`, taskQueue: "live-can" });
        assert.equal(again.status, "completed");
        assert.equal(again.days.written, terminated, "the re-run writes exactly the days that were terminated");
        assert.equal(again.days.existing, done);
        await replaysAsRecorded(dataset, own.client);
      });
    } finally {
      await own.stop();
    }
  });
});
