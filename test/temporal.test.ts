import type { Client, Connection } from "@temporalio/client";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { presets } from "../lib/datasets/presets.js";
import { createWorker } from "../worker/worker.js";
import { ping } from "../workflows/ping.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";
import { clientFor, workerConnection } from "./harness/temporal.js";

let connection: Connection;
let client: Client;

before(async () => {
  ({ client, connection } = await clientFor());
});
after(async () => {
  await connection?.close();
});

test("a workflow and an activity round-trip through a real worker on the dev server", async () => {
  const nativeConnection = await workerConnection();
  const taskQueue = `ping-${Date.now()}`;
  const worker = await createWorker({ connection: nativeConnection, taskQueue, datasets: new DatasetRegistry(presets) });
  const workflowId = `ping-test-${Date.now()}`;
  const result = await worker.runUntil(
    client.workflow.execute(ping, { taskQueue, workflowId, args: ["the test"] }),
  );
  await nativeConnection.close();
  assert.match(result, new RegExp(`^pong to the test from .* pid ${process.pid} node ${process.version}$`));

  // The history shows the activity really ran (scheduled, started, completed).
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const kinds = (history.events ?? []).map((e) => e.eventType);
  assert.ok(kinds.includes(10), "ActivityTaskScheduled missing from history"); // EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
  assert.ok(kinds.includes(12), "ActivityTaskCompleted missing from history"); // EVENT_TYPE_ACTIVITY_TASK_COMPLETED
});

test("the dev server has our custom search attributes registered", async () => {
  const response = await connection.operatorService.listSearchAttributes({ namespace: "default" });
  const custom = response.customAttributes ?? {};
  for (const name of Object.keys(searchAttributeRegistrations)) {
    assert.ok(name in custom, `search attribute ${name} not registered (have: ${Object.keys(custom).join(", ")})`);
  }
});
