import { CancellationScope, isCancellation } from "@temporalio/workflow";
import {
  abandonedResults,
  blockedMonth,
  daysOfYear,
  firstFailedDay,
  keptResults,
  noFileCounts,
  outputRules,
  periodsOfMonth,
  periodsOfYear,
  rollsUp,
  settledByOutputs,
  statusOf,
  unsettledMonths,
  type PeriodReport,
  type PeriodResults,
} from "../lib/backfill/model/index.js";
import { boundedAll } from "../lib/concurrency.js";
import { steps } from "./activities.js";
import { backfillMonthV3 } from "./month.js";
import { describeFailure, isOwnCancellation } from "./failures.js";
import { childOptions, executePeriod, settingsOf, withStatus } from "./options.js";
import { sendReport } from "./reports.js";
import { rollup } from "./rollup.js";
import type { PeriodOutcome, YearInput } from "./types.js";

/**
 * One year: first, one listing of its outputs settles what is finished (an existing year output
 * settles it all: no month or day is visited); then the months left, side by side (its share of
 * maxConcurrentDays, `lanesOf`); then (aggregation "year") the yearly rollup. Its last report tells
 * the backfill how it ended.
 */
export async function backfillYearV3(input: YearInput): Promise<PeriodOutcome> {
  const { year } = input;
  const last = (ended: PeriodReport["ended"], results: PeriodResults = {}): Promise<void> =>
    sendReport(input.reportTo, { period: year.id, results, files: noFileCounts(), running: [], ended });
  try {
    const outcome = await runYear(input);
    await last("done", outcome.results);
    return outcome;
  } catch (error) {
    // The backfill learns how the year ended from this report (it does not await its years).
    await CancellationScope.nonCancellable(() => last(isCancellation(error) ? "cancelled" : describeFailure(error)));
    throw error;
  }
}

function runYear(input: YearInput): Promise<PeriodOutcome> {
  const { year, aggregation } = input;
  return withStatus(
    async () => {
      const settled = settledByOutputs(year, aggregation, await steps.findOutputs(input.dataset, year.id));
      const results: PeriodResults = { ...settled, ...input.checkpoint };
      const months = unsettledMonths(year, aggregation, results);
      // The backfill hears at once what the outputs settled (one report), not when the year ends.
      if (months.length > 0 && Object.keys(settled).length > 0) await sendReport(input.reportTo, { period: year.id, results: settled, files: noFileCounts(), running: [] });

      await boundedAll(months, input.lanes.monthsPerYear, async (month) => {
        // Icechunk output: months run one after another, and a failed day holds back the rest.
        const blocker = outputRules(input.format).calendarOrder ? firstFailedDay(daysOfYear(year), results) : undefined;
        if (blocker) return void Object.assign(results, blockedMonth(month, results, blocker));
        try {
          const outcome = await executePeriod(backfillMonthV3, {
            ...childOptions(input, "month", month.id, `${input.dataset} ${month.id}: ${month.days.length} days`),
            args: [{ ...settingsOf(input), month, checkpoint: keptResults(results, periodsOfMonth(month, aggregation)) }],
          });
          Object.assign(results, outcome.results);
        } catch (error) {
          // The month ended without its results: an operator terminated or cancelled it (or a run
          // it continued as new into), or it timed out or failed. Its days are settled from their
          // outputs, the rest failed; the backfill hears it at once, and the year goes on.
          if (input.failFast || isOwnCancellation(error)) throw error;
          const settled = settledByOutputs(year, aggregation, await steps.findOutputs(input.dataset, year.id));
          const ended = abandonedResults(periodsOfMonth(month, aggregation), results, settled, describeFailure(error));
          Object.assign(results, ended);
          await sendReport(input.reportTo, { period: month.id, results: ended, files: noFileCounts(), running: [] });
        }
      });
      if (rollsUp(aggregation, "year") && results[year.id] === undefined) {
        results[year.id] = await rollup(input, year.id, year.whole, year.months.map((m) => m.id), results);
      }
      return { results };
    },
    (outcome) => statusOf(periodsOfYear(year, aggregation).map((p) => outcome.results[p])),
  );
}
