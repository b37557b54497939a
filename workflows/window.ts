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
import { settledByOutputs, type BackfillPlan, type BackfillSummary, type YearPlan } from "../lib/backfill/model/index.js";
import { steps } from "./activities.js";
import { childOptions, settingsOf, startPeriod } from "./options.js";
import type { Progress } from "./progress.js";
import type { BackfillInput, PeriodSettings } from "./types.js";
import { watchYears } from "./watch.js";
import { backfillYearV3 } from "./year.js";

/**
 * One pass over the backfill's years as a sliding window (Temporal's pattern for unbounded work):
 * at most `lanes.years` years running, each started as a child that outlives the run that started
 * it (parent close policy ABANDON) and tells the backfill how it ended in its last report. So the
 * backfill never awaits a child: when its history grows long (the months' reports), it continues
 * as new at once, carrying every result, the file counts and the years running, and the new run
 * goes on waiting for their reports. A year that cannot report (terminated) is found by a watch
 * (workflows/watch.ts). Failing (a year failed, failing fast) or cancelled, it asks the running
 * years to stop and waits until they have (their extractions stop first).
 */
export async function runYears(input: BackfillInput, plan: BackfillPlan, settings: PeriodSettings, progress: Progress): Promise<void> {
  const running = progress.state.yearsRunning;
  const watch = progress.watchesYears ? watchYears(progress.state, progress.closedWithoutReport) : undefined;
  try {
    for (;;) {
      const failure = progress.yearFailure();
      if (failure) throw ApplicationFailure.nonRetryable(failure.message, failure.kind);
      await settleEndedYears(settings, progress);
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
  } finally {
    watch?.cancel();
  }
}

/**
 * Years that ended without telling their results (an operator cancelled or terminated one, or it
 * failed): one listing of each one's outputs settles what it finished; the rest of it is failed
 * with how it ended, so nothing of it is left looking as if it runs, and a re-run redoes just that.
 */
async function settleEndedYears(settings: PeriodSettings, progress: Progress): Promise<void> {
  for (let ended = progress.nextEndedYear(); ended; ended = progress.nextEndedYear()) {
    const { year, failure } = ended;
    progress.settleEnded(year, failure, settledByOutputs(year, settings.aggregation, await steps.findOutputs(settings.dataset, year.id)));
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
