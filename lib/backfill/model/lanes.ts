/**
 * How a backfill spreads `maxConcurrentDays` days at once over its calendar: days of one month run
 * side by side, and when a month cannot hold that many, months run side by side too (within a year,
 * then years side by side), since nothing orders them; only a rollup waits for its own children.
 *
 * The bound is exact: `years x monthsPerYear x daysPerMonth <= maxConcurrentDays`. 4 (the default):
 * one month at a time, 4 days in it. 32: two months of 16 days. 200: seven months of 28 days. 500:
 * two years of eight months of 29 days (464).
 */
export interface Lanes {
  years: number;
  monthsPerYear: number;
  daysPerMonth: number;
}

/** The most days of a month that can run at once (a month has at most 31). */
const DAYS_IN_LONGEST_MONTH = 31;
const MONTHS_IN_YEAR = 12;

export function lanesOf(maxConcurrentDays: number): Lanes {
  const days = Math.max(1, Math.floor(maxConcurrentDays));
  const months = Math.ceil(days / DAYS_IN_LONGEST_MONTH);
  const years = Math.ceil(months / MONTHS_IN_YEAR);
  return { years, monthsPerYear: Math.floor(months / years), daysPerMonth: Math.floor(days / months) };
}
