import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle, type WorkflowStartOptions } from "@temporalio/client";
import { summaryLines } from "../lib/backfill/model/summary.js";
import { backfillV3 } from "../workflows/backfill.js";
import { progressQuery } from "../workflows/messages.js";
import type { BackfillProgress, BackfillResult } from "../workflows/types.js";
import { censusLines } from "./census.js";

/** One line: a bar of days done, then the counts (the same counts the summary gives at the end). */
export function progressLine(p: BackfillProgress, width = 30): string {
  // No days yet: the backfill is still planning.
  const fraction = p.daysTotal === 0 ? 0 : p.daysDone / p.daysTotal;
  const filled = Math.round(fraction * width);
  const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
  return (
    `[${bar}] ${p.daysDone}/${p.daysTotal} days` +
    (p.daysFailed ? `, ${p.daysFailed} failed` : "") +
    (p.daysNoFiles ? `, ${p.daysNoFiles} without files` : "") +
    (p.daysExisting ? `, ${p.daysExisting} existing` : "") +
    `, ${p.filesDone} files` +
    (p.running.length ? `  (${p.running.slice(0, 3).join(", ")}${p.running.length > 3 ? ", ..." : ""})` : "")
  );
}

/** A backfill's handle, and whether it was started now or was running already (then we follow it). */
export interface StartedBackfill {
  handle: WorkflowHandle<typeof backfillV3>;
  /** When the backfill we follow was started, if it was running already. */
  runningSince?: Date;
}

/**
 * Start a backfill, or follow the one of the same workflow id when it is running already: a second
 * `backfill` (or `demo --resume`) of a range attaches to the first instead of failing. Temporal's
 * conflict policy USE_EXISTING would attach too, but its answer does not say which happened; the
 * default policy (FAIL) does, and a closed run's id is reused (ALLOW_DUPLICATE) either way.
 */
export async function startOrFollow(client: Client, options: WorkflowStartOptions<typeof backfillV3>): Promise<StartedBackfill> {
  try {
    return { handle: await client.workflow.start(backfillV3, { ...options, workflowIdConflictPolicy: "FAIL", workflowIdReusePolicy: "ALLOW_DUPLICATE" }) };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    const handle = client.workflow.getHandle<typeof backfillV3>(options.workflowId);
    const { startTime } = await handle.describe();
    return { handle, runningSince: startTime };
  }
}

export interface FollowOptions {
  intervalMs?: number;
  /** Stops following (the promise rejects with its reason); the backfill goes on. */
  signal?: AbortSignal;
}

/** Wait for a backfill, redrawing its progress (from the `progress` query) on stderr. */
export async function followBackfill(handle: WorkflowHandle<typeof backfillV3>, options: FollowOptions = {}): Promise<BackfillResult> {
  const { intervalMs = 500, signal } = options;
  const tty = process.stderr.isTTY;
  let last = "";
  let done = false;
  const result = handle.result().finally(() => {
    done = true;
  });
  // Heard here, so a result that fails after we stopped following is not an unhandled rejection.
  result.catch(() => undefined);
  const aborted = signal ? new Promise((r) => signal.addEventListener("abort", r, { once: true })) : undefined;
  while (!done) {
    if (signal?.aborted) {
      if (tty && last) process.stderr.write("\n");
      throw signal.reason;
    }
    try {
      const line = progressLine(await handle.query(progressQuery));
      if (line !== last) {
        process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
        last = line;
      }
    } catch {
      // The workflow may be between runs (continue-as-new) or not started yet: try again.
    }
    await Promise.race([
      result.catch(() => undefined),
      new Promise((r) => setTimeout(r, intervalMs)),
      ...(aborted ? [aborted] : []),
    ]);
  }
  if (tty) process.stderr.write("\n");
  return result;
}

/** The result per period as the seed notebook printed it, then the totals and the status; then the census, if one was taken. */
export function printSummary(summary: BackfillResult): void {
  for (const line of summaryLines(summary)) console.log(line);
  const { census } = summary;
  if (!census) return;
  if ("error" in census) console.log(census.error);
  else for (const line of censusLines(census)) console.log(line);
}
