import type { WorkflowHandle } from "@temporalio/client";
import { summaryLines } from "../lib/backfill/model/summary.js";
import type { backfillV3 } from "../workflows/backfill.js";
import { progressQuery } from "../workflows/messages.js";
import type { BackfillProgress, BackfillSummary } from "../workflows/types.js";

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

/** Wait for a backfill, redrawing its progress (from the `progress` query) on stderr. */
export async function followBackfill(handle: WorkflowHandle<typeof backfillV3>, intervalMs = 500): Promise<BackfillSummary> {
  const tty = process.stderr.isTTY;
  let last = "";
  let done = false;
  const result = handle.result().finally(() => {
    done = true;
  });
  while (!done) {
    try {
      const line = progressLine(await handle.query(progressQuery));
      if (line !== last) {
        process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
        last = line;
      }
    } catch {
      // The workflow may be between runs (continue-as-new) or not started yet: try again.
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, intervalMs))]);
  }
  if (tty) process.stderr.write("\n");
  return result;
}

/** The result per period as the seed notebook printed it, then the totals and the status. */
export function printSummary(summary: BackfillSummary): void {
  for (const line of summaryLines(summary)) console.log(line);
}
