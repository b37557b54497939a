/**
 * Failing fast, or cancelling a backfill, stops the extractions still running: they heartbeat, and
 * the heartbeat's answer carries the cancellation (activities/heartbeat.ts). The sources sit behind
 * Toxiproxy at 4 KB/s, so an extraction left alone would read for over a minute.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { Client, Connection, WorkflowHandle } from "@temporalio/client";
import { WorkflowFailedError } from "@temporalio/client";
import { CancelledFailure } from "@temporalio/common";
import { Worker } from "@temporalio/worker";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { stagingFolder, stagingKey } from "../lib/backfill/names.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { resolveDatasetSpec, type DatasetSpec } from "../lib/datasets/spec.js";
import { sleep } from "../lib/servers/process.js";
import { ToxiproxyServer, type ProxyHandle } from "./harness/servers/toxiproxy.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { progressQuery } from "../workflows/messages.js";
import { backfillOptions } from "../workflows/options.js";
import { statusKey } from "../workflows/searchAttributes.js";
import { makeArchive, testDataset, uploadArchive } from "./harness/archive.js";
import { s3, testDir } from "./harness/env.js";
import { datasetHistories } from "./harness/outputs.js";
import { clientFor, workerConnection } from "./harness/temporal.js";

/** An extraction left alone reads a 256 KiB head at 4 KB/s: over a minute. Stopping must take far less. */
const STOP_WITHIN_MS = 20_000;

let client: Client;
let connection: Connection;
let dir: string;
let keys: string[];
let bucket: string;
const toxiproxy = new ToxiproxyServer();
let proxy: ProxyHandle;

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("cancel");
  // Two days of two files of about 550 KB each.
  keys = await makeArchive(join(dir, "archive"), "2022-05-01", 2, { hours: 2, grid: [300, 600] });
  bucket = await uploadArchive(join(dir, "archive"), keys, "cancel");
  await toxiproxy.start();
  proxy = await toxiproxy.createProxy("cancel", process.env.AWS_ENDPOINT_URL!);
  await proxy.addToxic({ type: "bandwidth", attributes: { rate: 4 } });
});
after(async () => {
  await connection?.close();
  await toxiproxy.stop();
});

const spec = (name: string): DatasetSpec => testDataset(name, { kind: "s3", bucket, endpoint: proxy.url }, { kind: "local", path: join(dir, `out-${name}`) }, "day");

/** Waits until the worker runs no activity; returns how long that took. */
async function activitiesStopped(worker: Worker): Promise<number> {
  const started = Date.now();
  while (worker.getStatus().numInFlightActivities > 0 && Date.now() - started < 120_000) await sleep(100);
  return Date.now() - started;
}

/**
 * Cancel a backfill a second after `activities` activities run: it must end cancelled within
 * STOP_WITHIN_MS, with no activity left running on the worker.
 */
async function cancelOnceRunning(t: TestContext, worker: Worker, handle: WorkflowHandle<typeof backfillV3>, activities: number): Promise<void> {
  while (worker.getStatus().numInFlightActivities < activities) await sleep(100);
  await sleep(1000);
  const cancelled = Date.now();
  await handle.cancel();
  await assert.rejects(handle.result(), (e: unknown) => e instanceof WorkflowFailedError && e.cause instanceof CancelledFailure);
  const took = Date.now() - cancelled;
  t.diagnostic(`backfill ended ${took} ms after the cancel`);
  assert.ok(took < STOP_WITHIN_MS, `the backfill took ${took} ms to end after the cancel`);
  assert.equal(worker.getStatus().numInFlightActivities, 0);
}

describe("running extractions stop", () => {
  test("fail-fast: a corrupt file fails the backfill, and its day's other extraction stops", async (t) => {
    const [corrupt, slow] = keys.filter((k) => k.includes("/2022/05/01/"));
    const store = s3();
    await store.send(new PutObjectCommand({ Bucket: bucket, Key: corrupt!, Body: "garbage, not HDF5" }));
    store.destroy();
    const dataset = spec("cancel-fast");
    const worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry([dataset]), taskQueue: "cancel-fast" });
    await worker.runUntil(async () => {
      const input = { dataset: dataset.name, start: "2022-05-01", end: "2022-05-01", maxConcurrentFiles: 2, failFast: true };
      const failure = await client.workflow.execute(backfillV3, { ...backfillOptions(input), taskQueue: "cancel-fast" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(failure instanceof WorkflowFailedError, String(failure));
      assert.match(JSON.stringify(failure, (_, v: unknown) => (v instanceof Error ? { ...v, message: v.message } : v)), /Hdf5FormatError/);
      const took = await activitiesStopped(worker);
      t.diagnostic(`extraction stopped ${took} ms after the backfill failed`);
      assert.ok(took < STOP_WITHIN_MS, `the slow file's extraction ran on for ${took} ms after the backfill failed`);
      assert.ok(!existsSync(join(dir, "out-cancel-fast", stagingKey(resolveDatasetSpec(dataset), "2022-05-01", slow!))), "the cancelled extraction still staged its refs");
    });
  });

  test("cancel: a cancelled backfill stops its running extractions, each recorded as cancelled", async (t) => {
    const dataset = spec("cancel-req");
    const worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry([dataset]), taskQueue: "cancel-req" });
    await worker.runUntil(async () => {
      // A day workflow with its two extraction activities (smallDayFiles 0; a batch is cancelled below).
      const input = { dataset: dataset.name, start: "2022-05-02", end: "2022-05-02", maxConcurrentFiles: 2, smallDayFiles: 0 };
      const handle = await client.workflow.start(backfillV3, { ...backfillOptions(input), taskQueue: "cancel-req" });
      for (let i = 0; i < 300 && (await handle.query(progressQuery)).running.length === 0; i++) await sleep(100);
      await cancelOnceRunning(t, worker, handle, 2);
      const histories = [...(await datasetHistories(client, dataset.name)).entries()];
      const day = histories.find(([id]) => id.startsWith(`${dataset.name}/2022-05-02#`))?.[1];
      const canceled = (day?.events ?? []).filter((e) => e.activityTaskCanceledEventAttributes).length;
      assert.equal(canceled, 2, "both extractions recorded as cancelled in the day's history");
      assert.equal((await handle.describe()).typedSearchAttributes.get(statusKey), "failed");
    });
  });

  test("cancel: a batch of small days stops its running extractions, recorded as cancelled; nothing staged after", async (t) => {
    const dataset = spec("cancel-batch");
    const resolved = resolveDatasetSpec(dataset);
    const worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry([dataset]), taskQueue: "cancel-batch" });
    await worker.runUntil(async () => {
      const input = { dataset: dataset.name, start: "2022-05-02", end: "2022-05-02", maxConcurrentFiles: 2 };
      const handle = await client.workflow.start(backfillV3, { ...backfillOptions(input), taskQueue: "cancel-batch" });
      await cancelOnceRunning(t, worker, handle, 1);
      const histories = [...(await datasetHistories(client, dataset.name)).entries()];
      const month = histories.find(([id]) => id.startsWith(`${dataset.name}/2022-05#`))?.[1];
      const events = month?.events ?? [];
      assert.equal(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === "runSmallDays").length, 1, "one batch");
      assert.equal(events.filter((e) => e.activityTaskCanceledEventAttributes).length, 1, "the batch recorded as cancelled in the month's history");
      assert.ok(!histories.some(([id]) => id.includes("/2022-05-02#")), "no day workflow");
      // The cancelled extractions wrote nothing, then or later.
      await sleep(2000);
      // (A batch stages its days' files in bundles: the day's staging folder holds nothing at all.)
      const staging = join(dir, "out-cancel-batch", stagingFolder(resolved, "2022-05-02"));
      assert.deepEqual(existsSync(staging) ? readdirSync(staging) : [], [], "staged after the cancel");
    });
  });
});
