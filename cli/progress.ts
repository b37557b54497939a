import type { WorkflowHandle } from "@temporalio/client";
import type { BackfillProgress, BackfillSummary } from "../workflows/types.js";

/** One line: a bar of days done, failures, files. */
export function progressLine(p: BackfillProgress, width = 30): string {
  const fraction = p.daysTotal === 0 ? 1 : p.daysDone / p.daysTotal;
  const filled = Math.round(fraction * width);
  const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
  return (
    `[${bar}] ${p.daysDone}/${p.daysTotal} days` +
    (p.daysFailed ? `, ${p.daysFailed} failed` : "") +
    (p.daysExisting ? `, ${p.daysExisting} existing` : "") +
    `, ${p.filesDone}/${p.filesListed} files` +
    (p.running.length ? `  (${p.running.slice(0, 3).join(", ")}${p.running.length > 3 ? ", ..." : ""})` : "")
  );
}

/** Wait for a backfill, redrawing its progress (from the `progress` query) on stderr. */
export async function followBackfill(handle: WorkflowHandle, intervalMs = 500): Promise<BackfillSummary> {
  const tty = process.stderr.isTTY;
  let last = "";
  let done = false;
  const result = handle.result().finally(() => {
    done = true;
  }) as Promise<BackfillSummary>;
  while (!done) {
    try {
      const line = progressLine(await handle.query<BackfillProgress>("progress"));
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

export function printSummary(summary: BackfillSummary): void {
  for (const [period, result] of Object.entries(summary.results).sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${period}: ${result}`);
  }
  const d = summary.days;
  console.log(
    `${summary.dataset} ${summary.start}..${summary.end}: ${d.total} days: ${d.written} written, ${d.existing} existing, ` +
      `${d.noFiles} without files, ${d.failed} failed; files: ${summary.files.listed} listed, ${summary.files.extracted} extracted, ${summary.files.reused} reused`,
  );
}
