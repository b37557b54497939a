import { addFileCounts, isSettled, keptResults, noFileCounts, periodsOfMonth, periodsOfYear, rollsUp, statusOf, type PeriodResults } from "../lib/backfill/model/index.js";
import { backfillMonthV2 } from "./month.js";
import { childOptions, executePeriod, settingsOf, withStatus } from "./options.js";
import { rollup } from "./rollup.js";
import type { PeriodOutcome, YearInput } from "./types.js";

/** One year: its months one after another (a settled month is skipped whole), then (aggregation "year") the yearly rollup. */
export async function backfillYearV2(input: YearInput): Promise<PeriodOutcome> {
  const { year, aggregation } = input;
  return withStatus(
    async () => {
      const results: PeriodResults = { ...input.checkpoint };
      let files = noFileCounts();
      for (const month of year.months) {
        const periods = periodsOfMonth(month, aggregation);
        if (isSettled(periods, results)) continue;
        const outcome = await executePeriod(backfillMonthV2, {
          ...childOptions(input, "month", month.id, `${input.dataset} ${month.id}: ${month.days.length} days`),
          args: [{ ...settingsOf(input), month, checkpoint: keptResults(results, periods) }],
        });
        Object.assign(results, outcome.results);
        files = addFileCounts(files, outcome.files);
      }
      if (rollsUp(aggregation, "year") && results[year.id] === undefined) {
        results[year.id] = await rollup(input, year.id, year.whole, year.months.map((m) => m.id), results);
      }
      return { results, files };
    },
    (outcome) => statusOf(periodsOfYear(year, aggregation).map((p) => outcome.results[p])),
  );
}
