import type { Client, Connection } from "@temporalio/client";
import { WorkflowFailedError } from "@temporalio/client";
import { Worker } from "@temporalio/worker";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DateTime } from "luxon";
import { DatasetRegistry, loadDatasetRegistry } from "../lib/datasets/config.js";
import { resolveDatasetSpec, type DatasetSpec } from "../lib/datasets/spec.js";
import { ConfigError } from "../lib/errors.js";
import { TemporalKerchunkPlugin } from "../worker/plugin.js";
import { createWorker } from "../worker/worker.js";
import type { BackfillInput, BackfillSummary } from "../workflows/types.js";
import { makeArchive, testDataset, writeConfig } from "./harness/archive.js";
import { testDir } from "./harness/env.js";
import { clientFor, workerConnection } from "./harness/temporal.js";

let client: Client;
let connection: Connection;
let dir: string;

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("operations");
});
after(async () => {
  await connection?.close();
});

describe("the worker plugin", () => {
  test("adds our workflows and activities to a user's own Worker, keeping the user's activities", async () => {
    const archive = join(dir, "plugin-archive");
    await makeArchive(archive, "2022-05-01", 1, { hours: 2, grid: [10, 20] });
    const spec = testDataset("plugin-ds", { kind: "local", path: archive }, { kind: "local", path: join(dir, "plugin-out") });
    const taskQueue = "plugin";
    const worker = await Worker.create({
      connection: await workerConnection(),
      taskQueue,
      activities: { userActivity: async () => "mine" },
      plugins: [new TemporalKerchunkPlugin({ datasets: [spec] })],
    });
    const summary = (await worker.runUntil(
      client.workflow.execute("backfill", { taskQueue, workflowId: "plugin-ds/backfill", args: [{ dataset: "plugin-ds", start: "2022-05-01", end: "2022-05-01" }] }),
    )) as BackfillSummary;
    assert.equal(summary.days.written, 1);
    assert.ok(existsSync(join(dir, "plugin-out/refs/AHI-L2-FLDK-SST/20220501.json")));
    // Compiled worker options hold activities by name.
    const registered = worker.options.activities as Map<string, unknown>;
    assert.ok(registered.has("userActivity"), "the user's activity was dropped");
    assert.ok(registered.has("extractFile") && registered.has("aggregateDay"), "our activities are missing");
  });
});

describe("bad input is rejected at once, naming what to fix", () => {
  const datasets = (): DatasetRegistry =>
    new DatasetRegistry([testDataset("ok-ds", { kind: "local", path: join(dir, "none") }, { kind: "local", path: join(dir, "never") })]);

  async function failure(input: BackfillInput): Promise<string> {
    const worker = await createWorker({ connection: await workerConnection(), datasets: datasets(), taskQueue: "bad-input" });
    const error = await worker
      .runUntil(client.workflow.execute("backfill", { taskQueue: "bad-input", workflowId: `bad-${Date.now()}-${Math.random()}`, args: [input] }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof WorkflowFailedError, `expected the workflow to fail, got ${String(error)}`);
    let cause: unknown = error;
    const messages: string[] = [];
    while (cause) {
      messages.push((cause as Error).message);
      cause = (cause as { cause?: unknown }).cause;
    }
    return messages.join(" | ");
  }

  test("workflow input: unknown dataset, end before start, not a date", async () => {
    assert.match(await failure({ dataset: "nope", start: "2022-01-01", end: "2022-01-02" }), /unknown dataset 'nope' \(this worker knows: ok-ds\)/);
    assert.match(await failure({ dataset: "ok-ds", start: "2022-02-01", end: "2022-01-01" }), /invalid end: end 2022-01-01 is before start 2022-02-01/);
    assert.match(await failure({ dataset: "ok-ds", start: "2022-02-30", end: "2022-03-01" }), /invalid start: '2022-02-30' is not a calendar date/);
    assert.ok(!existsSync(join(dir, "never")), "something was written for a rejected request");
  });

  test("dataset settings: malformed or unknown template tokens, credentials, bad storage, bad config file", async () => {
    const base = testDataset("x", { kind: "local", path: "/tmp" }, { kind: "local", path: "/tmp" });
    const reject = (spec: DatasetSpec, pattern: RegExp): void => {
      assert.throws(() => resolveDatasetSpec(spec), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
    };
    reject({ ...base, source: { ...base.source, template: "{year}/{mnth}/{day}" } }, /datasets\.x\.source\.template: unknown token \{mnth\}/);
    reject({ ...base, source: { ...base.source, template: "{year}/{month}/{day" } }, /datasets\.x\.source\.template: unbalanced/);
    reject({ ...base, source: { ...base.source, template: "{year}/{month}" } }, /must contain \{day\} or \{doy\}/);
    reject(
      { ...base, source: { ...base.source, storage: { kind: "s3", bucket: "b-ok", secretAccessKey: "canary" } as unknown as DatasetSpec["source"]["storage"] } },
      /credentials do not belong in dataset settings/,
    );
    reject({ ...base, output: { ...base.output, storage: { kind: "ftp" } as unknown as DatasetSpec["output"]["storage"] } }, /datasets\.x\.output\.storage\.kind: expected 's3' or 'local'/);
    reject({ ...base, name: "has space" }, /datasets\.has space\.name/);
    const config = await writeConfig(dir, [{ ...base, aggregation: "week" as DatasetSpec["aggregation"] }]);
    await assert.rejects(loadDatasetRegistry(config), /datasets\.x\.aggregation: expected day, month or year, got 'week'/);
    await assert.rejects(loadDatasetRegistry(join(dir, "missing.json")), /invalid config file: .*missing\.json/);
  });
});

describe("the schedule", () => {
  test("a triggered schedule builds the current month's complete days and nothing newer", async () => {
    // Workflow time is real time: make files for this month up to today, hourly x 1.
    const now = DateTime.utc();
    const lastComplete = now.minus({ hours: 3 }).minus({ days: 1 }).startOf("day");
    const monthStart = lastComplete.startOf("month");
    const days = Math.round(now.startOf("day").diff(monthStart, "days").days) + 1;
    const archive = join(dir, "schedule-archive");
    await makeArchive(archive, monthStart.toISODate()!, days, { hours: 1, grid: [8, 16] });
    const outFolder = join(dir, "schedule-out");
    const spec = testDataset("sched-ds", { kind: "local", path: archive }, { kind: "local", path: outFolder });
    const taskQueue = "schedule";
    const worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry([spec]), taskQueue });
    const { scheduleCommand } = await import("../cli/schedule.js");
    const address = process.env.TK_TEST_TEMPORAL_ADDRESS!;
    const common = ["--dataset", "sched-ds", "--address", address, "--task-queue", taskQueue, "--id", "sched-ds/update"];
    await worker.runUntil(async () => {
      assert.equal(await scheduleCommand.run([...common, "--every", "24h", "--trigger"]), 0);
      const schedule = client.schedule.getHandle("sched-ds/update");
      let update;
      for (let i = 0; i < 300 && !update; i++) {
        update = (await schedule.describe()).info.recentActions[0]?.action.workflow;
        if (!update) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(update, "the schedule did not start a run");
      const result = (await client.workflow.getHandle(update.workflowId, update.firstExecutionRunId).result()) as BackfillSummary;
      assert.equal(result.end, lastComplete.toISODate());
      assert.equal(result.days.failed, 0);
      assert.equal(await scheduleCommand.run([...common, "--delete"]), 0);
    });
    const built = (d: DateTime): boolean => existsSync(join(outFolder, "refs/AHI-L2-FLDK-SST", `${d.toFormat("yyyyMMdd")}.json`));
    for (let d = monthStart; d <= lastComplete; d = d.plus({ days: 1 })) assert.ok(built(d), `${d.toISODate()} not built`);
    assert.ok(!built(lastComplete.plus({ days: 1 })), "an incomplete day was built");
  });
});
