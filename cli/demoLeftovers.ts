/**
 * What the demo stops on its own server so that the next demo starts clean: a backfill it stopped
 * before it ended, workflows a killed demo left running, and a dev server a killed demo left on
 * the work folder's database.
 */
import type { Client, WorkflowHandle } from "@temporalio/client";
import { ServerProcessError } from "../lib/errors.js";
import { processExists, processesNaming, sleep } from "../lib/servers/process.js";
import type { backfillV3 } from "../workflows/backfill.js";

/** How long an interrupted demo waits for its cancelled backfill to end before terminating what still runs. */
const CANCEL_GRACE_MS = 5_000;

/**
 * Stop a backfill the demo stops before it ended (interrupted, or failed while following it): cancel
 * it (its years stop their extractions, then it ends cancelled), wait up to CANCEL_GRACE_MS, then
 * terminate whatever still runs on the demo's own server. So the server's database holds nothing
 * running, and the next demo starts clean.
 */
export async function stopBackfill(client: Client, handle: WorkflowHandle<typeof backfillV3>): Promise<void> {
  await handle.cancel().catch(() => undefined);
  await Promise.race([handle.result().catch(() => undefined), sleep(CANCEL_GRACE_MS)]);
  await terminateRunning(client, "the demo stopped before its backfill ended");
}

/**
 * Stop a dev server that a killed demo (SIGKILL: nothing of it could stop its server) left running
 * on this work folder's database: two servers on one SQLite file would break it. Found by its
 * command line (where there is /proc).
 */
export async function stopLeftoverServer(dbFile: string): Promise<void> {
  for (const { pid, args } of await processesNaming(dbFile)) {
    if (!args.includes("start-dev") || !args.includes(dbFile)) continue;
    console.log(`stopping the dev server (pid ${pid}) that a killed demo left running on ${dbFile}`);
    // It leads a process group of its own (ownProcessGroup).
    const signal = (name: NodeJS.Signals): void => {
      try {
        process.kill(-pid, name);
      } catch {
        try {
          process.kill(pid, name);
        } catch {
          // gone meanwhile, or not ours to signal (told below)
        }
      }
    };
    signal("SIGTERM");
    for (let waited = 0; processExists(pid) && waited < 10_000; waited += 100) await sleep(100);
    if (processExists(pid)) signal("SIGKILL");
    for (let waited = 0; processExists(pid) && waited < 2_000; waited += 100) await sleep(100);
    if (processExists(pid)) throw new ServerProcessError("temporal dev server", `pid ${pid}, which this demo cannot stop, runs on ${dbFile}: stop it, or give the demo another work folder`);
  }
}

/** Terminate every workflow running on the demo's server; how many there were. */
export async function terminateRunning(client: Client, reason: string): Promise<number> {
  let count = 0;
  for await (const workflow of client.workflow.list({ query: "ExecutionStatus = 'Running'" })) {
    // One that ended since it was listed is not an error.
    await client.workflow
      .getHandle(workflow.workflowId, workflow.runId)
      .terminate(reason)
      .then(() => count++, () => undefined);
  }
  return count;
}
