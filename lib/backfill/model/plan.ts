import type { PeriodResult, PeriodResults } from "./result.js";

/**
 * Which periods get an output of their own: days always; months and years as rollups (reference
 * files built from the days'; with Icechunk output, the store's tags: `planBackfill`).
 */
export type Aggregation = "day" | "month" | "year";

/**
 * Where a backfill's days go: "kerchunk", a reference file each (and rollups); "parquet", the same
 * as kerchunk Parquet folders; "icechunk", a commit each to one store, in calendar order, with a
 * tag per completed month and year.
 */
export type OutputFormat = "kerchunk" | "parquet" | "icechunk";

/**
 * The calendar tree of a backfill: years, their months, their days (ids like "2022", "2022-01",
 * "2022-01-13"), each flagged `whole` when the range covers all of it (only then is a rollup
 * complete). Made once by `planBackfill` (lib/backfill/plan.ts), for the workflows (through the
 * planning activity) and for `backfillDirect` alike.
 */
export interface BackfillPlan {
  dataset: string;
  aggregation: Aggregation;
  format: OutputFormat;
  years: YearPlan[];
}

export interface YearPlan {
  id: string;
  whole: boolean;
  months: MonthPlan[];
}

export interface MonthPlan {
  id: string;
  whole: boolean;
  days: string[];
}

/** Does a month or a year get a rollup of its own under this aggregation? */
export function rollsUp(aggregation: Aggregation, level: "month" | "year"): boolean {
  return level === "month" ? aggregation !== "day" : aggregation === "year";
}

export const daysOfYear = (year: YearPlan): string[] => year.months.flatMap((m) => m.days);
export const daysOfPlan = (plan: BackfillPlan): string[] => plan.years.flatMap(daysOfYear);

/** A month's periods that have results: its days, then its rollup when it has one. */
export function periodsOfMonth(month: MonthPlan, aggregation: Aggregation): string[] {
  return rollsUp(aggregation, "month") ? [...month.days, month.id] : [...month.days];
}

/** A year's periods that have results: every month's, then the year's rollup when it has one. */
export function periodsOfYear(year: YearPlan, aggregation: Aggregation): string[] {
  const periods = year.months.flatMap((m) => periodsOfMonth(m, aggregation));
  return rollsUp(aggregation, "year") ? [...periods, year.id] : periods;
}

/**
 * A month or a year is settled when each of its periods has a result, failed or not: a re-run of
 * the tree (after continue-as-new, or a retry) skips it whole.
 */
export function isSettled(periods: readonly string[], results: PeriodResults): boolean {
  return periods.every((p) => results[p] !== undefined);
}

/**
 * The results of `periods` that a later pass may keep (everything but failures, which are tried
 * again): what a parent hands a child, so inputs stay small and finished work is not redone.
 */
export function keptResults(results: PeriodResults, periods: readonly string[]): PeriodResults {
  const kept: PeriodResults = {};
  for (const period of periods) {
    const result: PeriodResult | undefined = results[period];
    if (result !== undefined && result.outcome !== "failed") kept[period] = result;
  }
  return kept;
}
