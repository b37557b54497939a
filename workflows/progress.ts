import { setCurrentDetails, setHandler } from "@temporalio/workflow";
import {
  applyReport,
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
  type ProgressState,
  type YearPlan,
} from "../lib/backfill/model/index.js";
import { progressQuery, reportSignal, retryFailedUpdate } from "./messages.js";
import type { BackfillInput, PeriodStatus } from "./types.js";

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
  setHandler(reportSignal, (report) => {
    applyReport(state, report);
    if (report.ended !== undefined && report.ended !== "done" && report.ended !== "cancelled") yearFailure ??= report.ended;
    reports++;
    describe();
  });
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
