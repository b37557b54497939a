import { outputRules } from "./output.js";
import type { BackfillPlan } from "./plan.js";

/**
 * How a backfill spreads `maxConcurrentDays` days at once over its calendar: days of one month run
 * side by side, and when a month cannot hold that many (or the range has more months), months run
 * side by side too, within a year and then years side by side, since nothing orders them; only a
 * rollup waits for its own children. Months are preferred over more days in one month only when a
 * month is full: a month's workflow handles its days' starts and ends one workflow task at a time,
 * so more months also means more of that work in parallel.
 *
 * The bound is exact: `years x monthsPerYear x daysPerMonth <= maxConcurrentDays`. For a range of
 * whole years: 4: one month, 4 days in it. 64 (the default): three months of 21 days. 500: two
 * years of eight months of 29 days (464). A one-month range gets all of it: up to 31 days.
 */
export interface Lanes {
  years: number;
  monthsPerYear: number;
  daysPerMonth: number;
}

/** The most days of a month that can run at once (a month has at most 31). */
const DAYS_IN_LONGEST_MONTH = 31;
const MONTHS_IN_YEAR = 12;

export function lanesOf(maxConcurrentDays: number, plan?: BackfillPlan): Lanes {
  const days = Math.max(1, Math.floor(maxConcurrentDays));
  if (plan && outputRules(plan.format).calendarOrder) return { years: 1, monthsPerYear: 1, daysPerMonth: Math.min(DAYS_IN_LONGEST_MONTH, days) };
  const yearsInRange = plan ? Math.max(1, plan.years.length) : Number.POSITIVE_INFINITY;
  const monthsInRange = plan ? Math.max(1, plan.years.reduce((n, y) => n + y.months.length, 0)) : Number.POSITIVE_INFINITY;
  const monthsInAYear = plan ? Math.max(1, ...plan.years.map((y) => y.months.length)) : MONTHS_IN_YEAR;
  const months = Math.min(Math.ceil(days / DAYS_IN_LONGEST_MONTH), monthsInRange);
  const years = Math.min(Math.ceil(months / Math.min(MONTHS_IN_YEAR, monthsInAYear)), yearsInRange);
  return { years, monthsPerYear: Math.min(monthsInAYear, Math.floor(months / years)), daysPerMonth: Math.min(DAYS_IN_LONGEST_MONTH, Math.floor(days / months)) };
}

/**
 * How a month's batches of small days share its days at once (`daysPerMonth`): a batch per lane
 * (all of them when there are lanes enough), each running its days side by side on an equal share
 * of the lanes, or all of its days when the month's pending days fit its lanes. The bound holds:
 * `batchesAtOnce x daysAtOnce <= daysPerMonth`, or every pending day at once.
 */
export function batchLanes(days: number, batchSize: number, daysPerMonth: number): { batchesAtOnce: number; daysAtOnce: number } {
  const lanes = Math.max(1, Math.floor(daysPerMonth));
  const size = Math.max(1, Math.floor(batchSize));
  const batchesAtOnce = Math.max(1, Math.min(Math.ceil(days / size), lanes));
  return { batchesAtOnce, daysAtOnce: days <= lanes ? size : Math.max(1, Math.floor(lanes / batchesAtOnce)) };
}
