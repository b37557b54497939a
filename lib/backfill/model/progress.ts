import type { PeriodResult, PeriodResults } from "./result.js";
import type { PeriodStatus } from "./status.js";
import { countDays, type FileCounts } from "./summary.js";
import type { BackfillRequest } from "./summary.js";

/**
 * What a running backfill knows, as plain data: carried across continue-as-new whole, so the
 * `progress` query stays exact over any number of runs.
 */
export interface ProgressState {
  results: PeriodResults;
  files: FileCounts;
  /** Files listed per day (a day reports them when it has listed its sources). */
  listed: Record<string, number>;
}

/** What a day workflow tells its backfill: its files once listed, and its result when done. */
export interface DayReport {
  day: string;
  stage: "listed" | "done";
  files: number;
  result?: PeriodResult;
}

/** The `progress` query's answer. The day counts are the summary's (`countDays`), so they agree. */
export interface BackfillProgress extends BackfillRequest {
  status: PeriodStatus;
  daysTotal: number;
  daysDone: number;
  daysWritten: number;
  daysExisting: number;
  daysNoFiles: number;
  daysFailed: number;
  filesListed: number;
  filesDone: number;
  /** Days listed and not yet done. */
  running: string[];
}

/** A day's report applied to the state and to the set of days running now. */
export function applyReport(state: ProgressState, running: Set<string>, report: DayReport): void {
  if (report.stage === "listed") {
    state.listed[report.day] = report.files;
    running.add(report.day);
    return;
  }
  running.delete(report.day);
  if (report.result !== undefined) state.results[report.day] = report.result;
}

export function progressOf(request: BackfillRequest, days: readonly string[], state: ProgressState, running: ReadonlySet<string>, status: PeriodStatus): BackfillProgress {
  const counts = countDays(days, state.results);
  let filesListed = 0;
  let filesDone = 0;
  for (const day of days) {
    const files = state.listed[day] ?? 0;
    filesListed += files;
    if (state.results[day] !== undefined) filesDone += files;
  }
  return {
    dataset: request.dataset,
    start: request.start,
    end: request.end,
    status,
    daysTotal: counts.total,
    daysDone: counts.written + counts.existing + counts.noFiles + counts.failed,
    daysWritten: counts.written,
    daysExisting: counts.existing,
    daysNoFiles: counts.noFiles,
    daysFailed: counts.failed,
    filesListed,
    filesDone,
    running: [...running].sort(),
  };
}

/** One line for the Web UI's current details and the CLI's progress bar. */
export function progressText(p: BackfillProgress): string {
  return (
    `${p.daysDone}/${p.daysTotal} days done (${p.daysWritten} written, ${p.daysExisting} existing, ${p.daysNoFiles} without files, ${p.daysFailed} failed), ` +
    `${p.filesDone}/${p.filesListed} files${p.running.length ? `; running: ${p.running.join(", ")}` : ""}`
  );
}
