import { allHandlersFinished, condition, continueAsNew, workflowInfo } from "@temporalio/workflow";
import { isSettled, outputRules, periodsOfMonth, rollsUp, statusOf, withTranslatedBefore, type PeriodResults } from "../lib/backfill/model/index.js";
import { boundedAll } from "../lib/concurrency.js";
import { backfillDayV3 } from "./day.js";
import { describeFailure, isOwnCancellation, recordFailure } from "./failures.js";
import { calendarCommits } from "./commits.js";
import { childOptions, executePeriod, settingsOf, withStatus } from "./options.js";
import { monthReports } from "./reports.js";
import { rollup } from "./rollup.js";
import { batchesSmallDays, runSmallDayBatches, type DayEnds, type HandedBack } from "./smallDays.js";
import type { MonthInput, PeriodOutcome } from "./types.js";

/**
 * One month: its small days in batches, one activity each (workflows/smallDays.ts), and the other
 * days as day workflows, side by side (its share of maxConcurrentDays, `lanesOf`); then
 * (aggregation "month" or "year") the monthly rollup. It reports to the backfill at most every few
 * seconds. With Icechunk output it commits its days in calendar order as they finish
 * (workflows/commits.ts) and then tags itself, when the range covers it whole (its "rollup").
 */
export async function backfillMonthV3(input: MonthInput): Promise<PeriodOutcome> {
  const { month, aggregation } = input;
  const reports = monthReports(input.reportTo, month.id);
  return withStatus(
    async () => {
      const results: PeriodResults = { ...input.checkpoint };
      // Icechunk output: days are committed by the month, in calendar order, as they finish.
      const store = outputRules(input.format).calendarOrder ? calendarCommits(input, month.days, results, reports) : undefined;
      const ends: DayEnds = {
        started: reports.started,
        result(day, result, files) {
          results[day] = result;
          reports.ended(day, result, files);
          store?.ended();
        },
        staged: (day, staged, files) => store!.staged(day, staged, files),
        flush: reports.flush,
      };
      const pending = month.days.filter((day) => results[day] === undefined);
      const dayWorkflows: HandedBack[] = batchesSmallDays(input) ? await runSmallDayBatches(input, pending, ends) : pending.map((day) => ({ day, translated: 0 }));
      await boundedAll(dayWorkflows, input.lanes.daysPerMonth, async ({ day, translated, sources }) => {
        // Histories stay small (a month has at most 31 children), but honour the server's advice:
        // stop starting days, let the running ones finish, and carry the results over.
        if (workflowInfo().continueAsNewSuggested) return;
        reports.started(day);
        try {
          const outcome = await executePeriod(backfillDayV3, {
            ...childOptions(input, "day", day, `${input.dataset} ${day}`),
            args: [{ ...settingsOf(input), day, ...(sources ? { sources } : {}) }],
          });
          const files = withTranslatedBefore(outcome.files, translated);
          if ("staged" in outcome) return ends.staged(day, outcome.staged, files);
          return ends.result(day, outcome.result, files);
        } catch (error) {
          // A day that an operator terminated or cancelled, or that timed out, failed: the month goes
          // on. Failing fast, the backfill still hears how the day ended before the failure reaches
          // it (the month's own cancellation is not a day's result).
          if (!isOwnCancellation(error)) reports.ended(day, describeFailure(error));
          if (input.failFast) await reports.flush();
          results[day] = recordFailure(error, input.failFast);
        }
        store?.ended();
      });
      await store?.finish();
      if (!isSettled(month.days, results)) {
        await reports.flush();
        await condition(allHandlersFinished);
        await continueAsNew<typeof backfillMonthV3>({ ...settingsOf(input), month, checkpoint: results });
      }
      if (rollsUp(aggregation, "month") && results[month.id] === undefined) {
        results[month.id] = await rollup(input, month.id, month.whole, month.days, results);
        reports.ended(month.id, results[month.id]!);
      }
      await reports.flush();
      return { results };
    },
    (outcome) => statusOf(periodsOfMonth(month, aggregation).map((p) => outcome.results[p])),
  );
}
