import { patched, setCurrentDetails, setHandler } from "@temporalio/workflow";
import {
  abandonedResults,
  applyReport,
  closedFailure,
  noFileCounts,
  blockedYear,
  daysOfYear,
  firstFailedDay,
  daysOfPlan,
  isFailed,
  isSettled,
  keptResults,
  newProgressState,
  outputRules,
  periodsOfYear,
  progressOf,
  progressText,
  type BackfillPlan,
  type FailedResult,
  type PeriodReport,
  type PeriodResults,
  type ProgressState,
  type YearPlan,
} from "../lib/backfill/model/index.js";
import { progressQuery, reportSignal, retryFailedUpdate } from "./messages.js";
import type { BackfillInput, PeriodStatus } from "./types.js";
import { WATCH_PATCH } from "./watch.js";

/**
 * The backfill's progress: its state (results, file counts, the days and years running: all plain
 * data, carried across continue-as-new), the handlers of its `progress` query, `report` signal and
 * `retryFailed` update, and the Web UI's current details.
 */
export type Progress = ReturnType<typeof trackProgress>;

export function trackProgress(input: BackfillInput, plan: BackfillPlan) {
  const days = daysOfPlan(plan);
  const periods = plan.years.flatMap((year) => periodsOfYear(year, plan.aggregation));
  const state: ProgressState = input.carried ?? newProgressState();
  let status: PeriodStatus = "running";
  let retryRequested = false;
  let reports = 0;
  let yearFailure: FailedResult | undefined;

  const progress = () => progressOf(input, days, state, status);
  const describe = (): void => setCurrentDetails(`**${status}**: ${progressText(progress())}`);
  const failedPeriods = (): string[] => periods.filter((p) => isFailed(state.results[p]));

  setHandler(progressQuery, progress);
  /**
   * A report in, from a month or a year, or made by the watch for a year that closed without its
   * last one. A year that ended otherwise than "done" (cancelled by an operator, failed,
   * terminated) fails the backfill when it fails fast; else its unfinished periods wait to be
   * settled from its outputs (`endedYears`), and the backfill goes on.
   */
  const receive = (report: PeriodReport): void => {
    const workflowId = state.yearsRunning[report.period] ?? report.period;
    applyReport(state, report);
    if (report.ended !== undefined && report.ended !== "done") {
      const failure = report.ended === "cancelled" ? closedFailure(workflowId, "Cancelled") : report.ended;
      if (input.failFast || !patched(WATCH_PATCH)) yearFailure ??= failure;
      else (state.yearsEnded ??= {})[report.period] = failure;
    }
    reports++;
    describe();
  };
  setHandler(reportSignal, receive);
  setHandler(
    retryFailedUpdate,
    () => {
      const count = failedPeriods().length;
      retryRequested ||= count > 0;
      return count;
    },
    {
      validator: () => {
        if (status !== "running") throw new Error(`the backfill has ended (${status}): run the range again to retry what failed`);
      },
    },
  );
  describe();

  return {
    state,
    /** Every period of the year has a result (failed or not): a pass skips it. */
    settled: (year: YearPlan): boolean => isSettled(periodsOfYear(year, plan.aggregation), state.results),
    /** What a year's child is told it need not do again. */
    known: (year: YearPlan) => keptResults(state.results, periodsOfYear(year, plan.aggregation)),
    /**
     * Icechunk output: years not started yet after a failed day are blocked (the store takes days
     * in calendar order), given their results without running.
     */
    blockAfterFailedDays(running: Record<string, string>): void {
      if (!outputRules(plan.format).calendarOrder) return;
      const before: string[] = [];
      for (const year of plan.years) {
        const blocker = firstFailedDay(before, state.results);
        if (blocker && running[year.id] === undefined) Object.assign(state.results, blockedYear(year, state.results, blocker));
        before.push(...daysOfYear(year));
      }
    },
    /** The watch found a year closed without its last report: as if it had sent one. */
    closedWithoutReport(year: string, failure: FailedResult): void {
      receive({ period: year, results: {}, files: noFileCounts(), running: [], ended: failure });
    },
    /** A year that ended without its results, to settle from its outputs, if any is waiting. */
    nextEndedYear(): { year: YearPlan; failure: FailedResult } | undefined {
      const [id, failure] = Object.entries(state.yearsEnded ?? {})[0] ?? [];
      const year = plan.years.find((y) => y.id === id);
      return year && failure ? { year, failure } : undefined;
    },
    /** Its outputs listed (`settled`): what they show is kept, the rest of its periods failed. */
    settleEnded(year: YearPlan, failure: FailedResult, settled: PeriodResults): void {
      Object.assign(state.results, abandonedResults(periodsOfYear(year, plan.aggregation), state.results, settled, failure));
      delete state.yearsEnded?.[year.id];
      reports++;
      describe();
    },
    /** Reports received so far in this run: the sliding window wakes when it changes. */
    reports: (): number => reports,
    /** The failure a year ended with, if one did (failing fast, or the year workflow itself failed). */
    yearFailure: (): FailedResult | undefined => yearFailure,
    /** After a pass: when `retryFailed` asked for it, forget the failures (so their years run again) and say so. */
    retry(): boolean {
      if (!retryRequested) return false;
      retryRequested = false;
      for (const period of failedPeriods()) delete state.results[period];
      return true;
    },
    finish(final: PeriodStatus): void {
      status = final;
      describe();
    },
  };
}
