import { addFileCounts, countDays, noFileCounts, type BackfillRequest, type FileCounts } from "./summary.js";
import { isFailed, type FailedResult, type PeriodResults } from "./result.js";
import type { PeriodStatus } from "./status.js";

/**
 * What a running backfill knows, as plain data: carried across continue-as-new whole, so the
 * `progress` query stays exact over any number of runs.
 */
export interface ProgressState {
  results: PeriodResults;
  /** Files of the days that have ended, summed from the reports (each counted once, in one report). */
  files: FileCounts;
  /** Days running now, by the month running them (as its latest report said). */
  running: Record<string, string[]>;
  /** Years started and not yet ended (their last report not in yet), with their workflow ids. */
  yearsRunning: Record<string, string>;
  /**
   * Years that ended without telling their results (terminated, cancelled, failed...), with the
   * failure their unfinished periods get once their outputs are listed. Absent in states carried
   * by runs before it.
   */
  yearsEnded?: Record<string, FailedResult>;
}

export const newProgressState = (): ProgressState => ({ results: {}, files: noFileCounts(), running: {}, yearsRunning: {}, yearsEnded: {} });

/**
 * What a month tells its backfill, sampled rather than per day (at most one report per interval, and
 * one when it ends: workflows/reports.ts), so the backfill's history grows with time, not with days:
 * the results since its last report, the files of the days that ended since then, and the days
 * running now. A year reports once what its outputs settled (`running` empty).
 */
export interface PeriodReport {
  period: string;
  results: PeriodResults;
  files: FileCounts;
  running: string[];
  /**
   * On a year's last report, how it ended: "done" (every result of it has been reported), a
   * failure, or "cancelled". The backfill learns of its years' ends this way, not by awaiting
   * them, so it can continue as new while they run; a year that cannot send it (terminated, timed
   * out) is found by the backfill's watch (workflows/watch.ts), which then applies such a report itself.
   */
  ended?: "done" | "cancelled" | FailedResult;
}

/**
 * A report applied to the state: results set, files added, running replaced, a year's end noted.
 * A result with an output or without files is final: a later report cannot turn it into a failure
 * (a period that ended without telling its results is settled afterwards from its outputs, and
 * what the backfill heard before stays, e.g. `written` rather than `existing`); a failure may be
 * replaced (a retry). When a year ends, nothing of it runs any more: its months' running lists go.
 */
export function applyReport(state: ProgressState, report: PeriodReport): void {
  for (const [period, result] of Object.entries(report.results)) {
    const known = state.results[period];
    if (known === undefined || isFailed(known)) state.results[period] = result;
  }
  state.files = addFileCounts(state.files, report.files);
  if (report.running.length > 0) state.running[report.period] = [...report.running];
  else delete state.running[report.period];
  if (report.ended !== undefined) {
    delete state.yearsRunning[report.period];
    for (const period of Object.keys(state.running)) if (period.startsWith(`${report.period}-`)) delete state.running[period];
  }
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
  /** Files listed by the days that have ended (a day's files are reported with its result). */
  filesListed: number;
  /** Files of the days that have ended, whatever their outcome: equal to `filesListed` (kept for clients). */
  filesDone: number;
  /** Days running now. */
  running: string[];
}

export function progressOf(request: BackfillRequest, days: readonly string[], state: ProgressState, status: PeriodStatus): BackfillProgress {
  const counts = countDays(days, state.results);
  const running = Object.values(state.running)
    .flat()
    .filter((day) => state.results[day] === undefined)
    .sort();
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
    filesListed: state.files.listed,
    filesDone: state.files.listed,
    running,
  };
}

/** One line for the Web UI's current details and the CLI's progress bar. */
export function progressText(p: BackfillProgress): string {
  return (
    `${p.daysDone}/${p.daysTotal} days done (${p.daysWritten} written, ${p.daysExisting} existing, ${p.daysNoFiles} without files, ${p.daysFailed} failed), ` +
    `${p.filesDone} files${p.running.length ? `; running: ${p.running.slice(0, 8).join(", ")}${p.running.length > 8 ? ", ..." : ""}` : ""}`
  );
}
