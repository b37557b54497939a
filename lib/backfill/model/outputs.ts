import type { Aggregation, MonthPlan, YearPlan } from "./plan.js";
import { periodsOfMonth, rollsUp } from "./plan.js";
import { existing, noFiles, type PeriodOutputs, type PeriodResult, type PeriodResults } from "./result.js";
import { rollupRule } from "./rollup.js";

/**
 * The outputs a listing found for a year's periods: period id ("2022-01-13", "2022-01", "2022") → its
 * URL, or its URLs in time order when drift split it (every part present: see `completeOutputs`).
 */
export type FoundOutputs = Record<string, PeriodOutputs>;

/** One listed output: its period, and which part of how many when drift split the period. */
export interface ListedOutput {
  period: string;
  url: string;
  part?: { part: number; parts: number };
}

/**
 * The periods a listing of outputs settles: a period's single output, or all the parts of a period
 * split by drift (in part order, which is time order). A period with some parts missing (a run cut
 * short between two parts' writes) is not found: it is combined again, and the parts already
 * written stand (each is written once).
 */
export function completeOutputs(listed: Iterable<ListedOutput>): FoundOutputs {
  const single: Record<string, string> = {};
  const parts: Record<string, { count: number; urls: string[] }> = {};
  for (const { period, url, part } of listed) {
    if (!part) {
      single[period] = url;
      continue;
    }
    const entry = (parts[period] ??= { count: part.parts, urls: [] });
    if (entry.count !== part.parts) entry.count = -1; // parts of two different splits: not one set
    entry.urls[part.part - 1] = url;
  }
  const found: FoundOutputs = {};
  for (const [period, { count, urls }] of Object.entries(parts)) {
    if (count > 0 && urls.length === count && Array.from(urls).every((u) => u !== undefined)) found[period] = urls;
  }
  return Object.assign(found, single);
}

/**
 * What a year's existing outputs settle without visiting anything: skip finished periods from the
 * top. Results for the periods settled; a period missing from the answer must still be visited.
 *  - a period with an output, and the range covering it whole (a day always), is `existing`;
 *  - under a rollup output (its month's or its year's), a day without an output of its own had no
 *    files when the rollup was built (the rollup rule builds nothing while a child with files lacks
 *    an output), so it is `noFiles`, without listing anything;
 *  - a rollup without an output of its own (or over part of the range) whose children are all
 *    settled gets the rollup rule's result when the rule needs no building (`noFiles`, `partial`);
 *    one that would be built is left to visit (e.g. a month output deleted under its year's).
 * So an existing year output settles the year's every period: no month or day is visited. The
 * workflows (backfillYear) and `backfillDirect` both apply it to one listing per year.
 */
export function settledByOutputs(year: YearPlan, aggregation: Aggregation, found: FoundOutputs): PeriodResults {
  const settled: PeriodResults = {};
  const yearCovers = rollsUp(aggregation, "year") && found[year.id] !== undefined;
  for (const month of year.months) Object.assign(settled, settledMonth(month, aggregation, found, yearCovers));
  if (rollsUp(aggregation, "year")) {
    const result = settledRollup(year.id, year.whole, year.months.map((m) => m.id), settled, found);
    if (result) settled[year.id] = result;
  }
  return settled;
}

function settledMonth(month: MonthPlan, aggregation: Aggregation, found: FoundOutputs, yearCovers: boolean): PeriodResults {
  const settled: PeriodResults = {};
  const monthRollsUp = rollsUp(aggregation, "month");
  const covered = yearCovers || (monthRollsUp && found[month.id] !== undefined);
  for (const day of month.days) {
    const output = found[day];
    if (output !== undefined) settled[day] = existing(output);
    else if (covered) settled[day] = noFiles();
  }
  if (monthRollsUp) {
    const result = settledRollup(month.id, month.whole, month.days, settled, found);
    if (result) settled[month.id] = result;
  }
  return settled;
}

/** A month's or a year's own result from outputs: its output (whole), or the rollup rule once its children are settled, unless it would build. */
function settledRollup(id: string, whole: boolean, children: string[], settled: PeriodResults, found: FoundOutputs): PeriodResult | undefined {
  const output = found[id];
  if (output !== undefined && whole) return existing(output);
  if (!children.every((child) => settled[child] !== undefined)) return undefined;
  const decision = rollupRule(whole, children, settled);
  return "result" in decision ? decision.result : undefined;
}

/** The months of a year that the results leave to visit (some period of theirs has no result). */
export const unsettledMonths = (year: YearPlan, aggregation: Aggregation, results: PeriodResults): MonthPlan[] =>
  year.months.filter((month) => periodsOfMonth(month, aggregation).some((p) => results[p] === undefined));

