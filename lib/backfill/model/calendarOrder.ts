import type { MonthPlan, YearPlan } from "./plan.js";
import { failed, type FailedResult, type PeriodResult, type PeriodResults } from "./result.js";
import { rollupRule } from "./rollup.js";

/**
 * An Icechunk store takes days in calendar order (its time axis grows only at its end), so a day
 * that failed holds back every later day of the backfill: they are not committed (the month stops
 * its commits there; later months and years are not run) and end failed of this kind. A re-run
 * commits them once the earlier day works; nothing after it is lost or out of order.
 */
export const BLOCKED = "BlockedByEarlierDay";

export const blockedBy = (earlier: string): FailedResult =>
  failed(BLOCKED, `not committed: ${earlier} failed before it, and the store takes days in calendar order (a re-run commits it once ${earlier} works)`);

/** The first of `days` (in calendar order) whose result is a failure, if any. */
export const firstFailedDay = (days: readonly string[], results: PeriodResults): string | undefined =>
  days.find((day) => results[day]?.outcome === "failed");

/** Results for each of `periods` that has none yet: blocked by `earlier`. */
export function blockedPeriods(periods: readonly string[], results: PeriodResults, earlier: string): PeriodResults {
  const blocked: PeriodResults = {};
  for (const period of periods) if (results[period] === undefined) blocked[period] = blockedBy(earlier);
  return blocked;
}

/** A rollup's (tag's) result once its children are settled: the rule's (partial, Incomplete), never built. */
function unbuilt(whole: boolean, children: string[], results: PeriodResults, earlier: string): PeriodResult {
  const decision = rollupRule(whole, children, results);
  return "result" in decision ? decision.result : blockedBy(earlier);
}

/** A month not run because of an earlier failed day: its days blocked, its tag by the rollup rule. */
export function blockedMonth(month: MonthPlan, results: PeriodResults, earlier: string): PeriodResults {
  const blocked = blockedPeriods(month.days, results, earlier);
  if (results[month.id] === undefined) blocked[month.id] = unbuilt(month.whole, month.days, { ...results, ...blocked }, earlier);
  return blocked;
}

/** A year not run because of an earlier failed day: every month blocked, then its own tag by the rule. */
export function blockedYear(year: YearPlan, results: PeriodResults, earlier: string): PeriodResults {
  const blocked: PeriodResults = {};
  for (const month of year.months) Object.assign(blocked, blockedMonth(month, { ...results, ...blocked }, earlier));
  const all = { ...results, ...blocked };
  if (all[year.id] === undefined) blocked[year.id] = unbuilt(year.whole, year.months.map((m) => m.id), all, earlier);
  return blocked;
}
