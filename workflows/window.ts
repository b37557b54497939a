import { ApplicationFailure } from "@temporalio/common";
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  workflowInfo,
} from "@temporalio/workflow";
import type { BackfillPlan, BackfillSummary, YearPlan } from "../lib/backfill/model/index.js";
import { childOptions, settingsOf, startPeriod } from "./options.js";
import type { Progress } from "./progress.js";
import type { BackfillInput, PeriodSettings } from "./types.js";
import { backfillYearV3 } from "./year.js";

/**
 * One pass over the backfill's years as a sliding window (Temporal's pattern for unbounded work):
 * at most `lanes.years` years running, each started as a child that outlives the run that started
 * it (parent close policy ABANDON) and tells the backfill how it ended in its last report. So the
 * backfill never awaits a child: when its history grows long (the months' reports), it continues
 * as new at once, carrying every result, the file counts and the years running, and the new run
 * goes on waiting for their reports. Failing (a year failed, failing fast) or cancelled, it asks the
 * running years to stop and waits until they have (their extractions stop first).
 */
export async function runYears(input: BackfillInput, plan: BackfillPlan, settings: PeriodSettings, progress: Progress): Promise<void> {
  const running = progress.state.yearsRunning;
  try {
    for (;;) {
      const failure = progress.yearFailure();
      if (failure) throw ApplicationFailure.nonRetryable(failure.message, failure.kind);
      progress.blockAfterFailedDays(running);
      const pending = plan.years.filter((year) => !progress.settled(year) && running[year.id] === undefined);
      if (pending.length === 0 && Object.keys(running).length === 0) return;
      if (workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        await continueAsNew<(input: BackfillInput) => Promise<BackfillSummary>>({ ...input, carried: progress.state });
      }
      for (const year of pending.slice(0, Math.max(0, settings.lanes.years - Object.keys(running).length))) {
        running[year.id] = await startYear(settings, year, progress);
      }
      const seen = progress.reports();
      await condition(() => progress.reports() !== seen || workflowInfo().continueAsNewSuggested);
    }
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error; // the years go on, reporting to the next run
    await CancellationScope.nonCancellable(async () => {
      await Promise.all(Object.values(running).map((id) => getExternalWorkflowHandle(id).cancel().catch(() => undefined)));
      // A year that has gone without its last report (terminated) is not waited for forever.
      await condition(() => Object.keys(running).length === 0, "5 minutes");
    });
    throw error;
  }
}

async function startYear(settings: PeriodSettings, year: YearPlan, progress: Progress): Promise<string> {
  const handle = await startPeriod(backfillYearV3, {
    ...childOptions(settings, "year", year.id, `${settings.dataset} ${year.id}: ${year.months.length} months`),
    args: [{ ...settingsOf(settings), year, checkpoint: progress.known(year) }],
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
  return handle.workflowId;
}
