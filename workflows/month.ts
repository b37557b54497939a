import { allHandlersFinished, condition, continueAsNew, workflowInfo } from "@temporalio/workflow";
import { addFileCounts, isSettled, noFileCounts, periodsOfMonth, rollsUp, statusOf, type PeriodResults } from "../lib/backfill/model/index.js";
import { boundedAll } from "../lib/concurrency.js";
import { backfillDayV2 } from "./day.js";
import { recordFailure } from "./failures.js";
import { childOptions, executePeriod, settingsOf, withStatus } from "./options.js";
import { rollup } from "./rollup.js";
import type { MonthInput, PeriodOutcome } from "./types.js";

/** One month: its days, at most maxConcurrentDays at once, then (aggregation "month" or "year") the monthly rollup. */
export async function backfillMonthV2(input: MonthInput): Promise<PeriodOutcome> {
  const { month, aggregation } = input;
  return withStatus(
    async () => {
      const results: PeriodResults = { ...input.checkpoint };
      let files = input.files ?? noFileCounts();
      const pending = month.days.filter((day) => results[day] === undefined);
      await boundedAll(pending, input.maxConcurrentDays, async (day) => {
        // Histories stay small (a month has at most 31 children), but honour the server's advice:
        // stop starting days, let the running ones finish, and carry the results over.
        if (workflowInfo().continueAsNewSuggested) return;
        try {
          const outcome = await executePeriod(backfillDayV2, {
            ...childOptions(input, "day", day, `${input.dataset} ${day}`),
            args: [{ ...settingsOf(input), day }],
          });
          Object.assign(results, outcome.results);
          files = addFileCounts(files, outcome.files);
        } catch (error) {
          results[day] = recordFailure(error, input.failFast);
        }
      });
      if (!isSettled(month.days, results)) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof backfillMonthV2>({ ...settingsOf(input), month, checkpoint: results, files });
      }
      if (rollsUp(aggregation, "month") && results[month.id] === undefined) {
        results[month.id] = await rollup(input, month.id, month.whole, month.days, results);
      }
      return { results, files };
    },
    (outcome) => statusOf(periodsOfMonth(month, aggregation).map((p) => outcome.results[p])),
  );
}
