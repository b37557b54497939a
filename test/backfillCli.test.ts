/**
 * `temporal-kerchunk backfill` of a range whose backfill is running already: it follows that one
 * (one line says so) instead of failing or starting another.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import type { Client, Connection } from "@temporalio/client";
import { repositoryRoot } from "../lib/servers/process.js";
import { backfillWorkflowId } from "../workflows/options.js";
import { temporalAddress } from "./harness/env.js";
import { clientFor } from "./harness/temporal.js";

const run = promisify(execFile);

let client: Client;
let connection: Connection;
before(async () => {
  ({ client, connection } = await clientFor());
});
after(async () => {
  await connection?.close();
});

/** The CLI's backfill, not waiting for the end; its stderr lines. */
async function backfill(dataset: string, taskQueue: string): Promise<string[]> {
  const { stderr } = await run(
    process.execPath,
    [
      "--import", "tsx", resolve(repositoryRoot, "cli/main.ts"),
      "backfill", "--dataset", dataset, "--start", "2022-01-01", "--end", "2022-01-02", "--no-wait", "--address", temporalAddress(), "--task-queue", taskQueue,
    ],
    { cwd: repositoryRoot },
  );
  return stderr.trimEnd().split("\n");
}

test("a backfill of a range that is running already follows it, saying so on one line", async () => {
  // No worker polls this task queue: the first backfill stays running.
  const dataset = `attach-${Date.now().toString(36)}`;
  const taskQueue = `${dataset}-queue`;
  const workflowId = backfillWorkflowId({ dataset, start: "2022-01-01", end: "2022-01-02" });
  try {
    assert.deepEqual(await backfill(dataset, taskQueue), [`started ${workflowId} on task queue ${taskQueue}`]);
    const first = await client.workflow.getHandle(workflowId).describe();
    const again = await backfill(dataset, taskQueue);
    assert.equal(again.length, 1, again.join("\n"));
    assert.match(again[0]!, new RegExp(`^${workflowId.replace(/[.]/g, "\\.")} is running already \\(since ${first.startTime.toISOString()}\\): following it$`));
    // Still the one run: nothing was started again.
    const now = await client.workflow.getHandle(workflowId).describe();
    assert.equal(now.runId, first.runId);
    assert.equal(now.status.name, "RUNNING");
  } finally {
    await client.workflow.getHandle(workflowId).terminate("test done").catch(() => undefined);
  }
});
