import { failed, type FailedResult, type PeriodResults } from "./result.js";

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
