import { ApplicationFailure } from "@temporalio/common";
import { patched, workflowInfo } from "@temporalio/workflow";
import { batches, batchLanes, DEFAULT_SMALL_DAY_FILES, isFailed, SMALL_DAYS_PER_BATCH, type FileCounts, type PeriodResult } from "../lib/backfill/model/index.js";
import { boundedAll } from "../lib/concurrency.js";
import { steps } from "./activities.js";
import { isOwnCancellation } from "./failures.js";
import type { MonthInput } from "./types.js";

/**
 * The patch that brought batches of small days into `backfillMonthV3`. A month whose history was
 * recorded before it (no marker) replays, and goes on, with a day workflow for every day, as it
 * started; a month started since records the marker and batches (Temporal's `patched`).
 */
export const SMALL_DAYS_PATCH = "small-day-batches";

/** How a month hears of its days: started, ended with a result, or staged (Icechunk output). */
export interface DayEnds {
  started(day: string): void;
  result(day: string, result: PeriodResult, files: FileCounts): void;
  staged(day: string, staged: string[], files: FileCounts): void;
  /** Send what the backfill has not heard yet (before failing fast). */
  flush(): Promise<void>;
}

/**
 * A day left to a day workflow, with the files a batch translated for it before (counted once) and
 * the listing the batch made of it, when it carried one (the day workflow then lists nothing).
 */
export interface HandedBack {
  day: string;
  translated: number;
  sources?: string[];
}

/** Whether this month runs small days in batches: the setting allows it, and its history is not older than batches. */
export function batchesSmallDays(input: MonthInput): boolean {
  return (input.smallDayFiles ?? DEFAULT_SMALL_DAY_FILES) > 0 && patched(SMALL_DAYS_PATCH);
}

/**
 * A month's pending days in batches of consecutive days (SMALL_DAYS_PER_BATCH), one `runSmallDays`
 * activity each, side by side as the month's lanes allow, each batch running its days side by side
 * on its share of them (`batchLanes`). Each day's outcome reaches the month as a day workflow's
 * would; failing fast, the first failed day fails the month. Returns the days left to day workflows: those with more files
 * than `smallDayFiles`, those that met a retryable failure, and every day of a batch whose own
 * retries ran out (a finished one then finds its output).
 */
export async function runSmallDayBatches(input: MonthInput, days: readonly string[], ends: DayEnds): Promise<HandedBack[]> {
  const lanes = batchLanes(days.length, SMALL_DAYS_PER_BATCH, input.lanes.daysPerMonth);
  const limits = { smallDayFiles: input.smallDayFiles ?? DEFAULT_SMALL_DAY_FILES, maxConcurrentFiles: input.maxConcurrentFiles, daysAtOnce: lanes.daysAtOnce, failFast: input.failFast };
  const handedBack: HandedBack[] = [];
  await boundedAll(batches(days, SMALL_DAYS_PER_BATCH), lanes.batchesAtOnce, async (batch) => {
    // As for day workflows: past the server's advice, start nothing more; the month continues as new.
    if (workflowInfo().continueAsNewSuggested) return;
    for (const day of batch) ends.started(day);
    let outcomes;
    try {
      outcomes = await steps.runSmallDays(input.dataset, batch, limits);
    } catch (error) {
      if (isOwnCancellation(error)) throw error;
      handedBack.push(...batch.map((day) => ({ day, translated: 0 })));
      return;
    }
    for (const outcome of outcomes) {
      if ("dayWorkflow" in outcome) handedBack.push({ day: outcome.day, translated: outcome.translated, ...(outcome.sources ? { sources: outcome.sources } : {}) });
      else if ("staged" in outcome) ends.staged(outcome.day, outcome.staged, outcome.files);
      else {
        ends.result(outcome.day, outcome.result, outcome.files);
        if (input.failFast && isFailed(outcome.result)) {
          await ends.flush();
          throw ApplicationFailure.nonRetryable(outcome.result.message, outcome.result.kind);
        }
      }
    }
    const answered = new Set(outcomes.map((outcome) => outcome.day));
    handedBack.push(...batch.filter((day) => !answered.has(day)).map((day) => ({ day, translated: 0 })));
  });
  return handedBack;
}
