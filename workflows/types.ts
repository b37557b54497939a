/**
 * Inputs, results and messages of the backfill workflows. Plain data only: this module is imported
 * by workflow code (deterministic sandbox) and by activities and clients alike.
 */

/** What `temporal workflow start --type backfill --input '{...}'` takes. No secrets, only names. */
export interface BackfillInput {
  /** A dataset the worker's configuration knows, e.g. "himawari8-sst". */
  dataset: string;
  /** First and last day, inclusive, "YYYY-MM-DD" (UTC). */
  start: string;
  end: string;
  /** Day workflows running at once within a month (default 4). */
  maxConcurrentDays?: number;
  /** Extraction activities running at once within a day (default 4). */
  maxConcurrentFiles?: number;
  /** Stop the whole backfill at the first failed day (default false: record it and go on). */
  failFast?: boolean;
  /**
   * Files translated per extraction activity (default 1: one retryable activity per file). Raise it
   * for archives of many small files, where an activity costs more than the file (docs/benchmarks.md).
   */
  filesPerActivity?: number;
  /** Internal: results carried across continue-as-new. */
  checkpoint?: Record<string, PeriodResult>;
}

/**
 * Per period, as the seed notebook reported it: the output's URL when written now, "existing"
 * when it was there already, "ERROR(NOFILES)" for a day without sources, "ERROR(<kind>): <message>"
 * for a failure, "PARTIAL" for a rollup skipped because the range covers only part of its period.
 */
export type PeriodResult = string;

export const isFailure = (result: PeriodResult | undefined): boolean => result?.startsWith("ERROR(") ?? false;

/** The calendar tree of a backfill, planned (and validated) by an activity on the worker. */
export interface BackfillPlan {
  dataset: string;
  aggregation: "day" | "month" | "year";
  years: YearPlan[];
}

export interface YearPlan {
  id: string;
  /** The range covers the whole year (a yearly rollup is possible). */
  whole: boolean;
  months: MonthPlan[];
}

export interface MonthPlan {
  id: string;
  whole: boolean;
  days: string[];
}

/** Settings every level passes down. */
export interface PeriodSettings {
  dataset: string;
  aggregation: "day" | "month" | "year";
  maxConcurrentDays: number;
  maxConcurrentFiles: number;
  filesPerActivity: number;
  failFast: boolean;
  /** Workflow id of the backfill to report progress to (absent when run on its own). */
  reportTo?: string;
}

export interface YearInput extends PeriodSettings {
  year: YearPlan;
  checkpoint?: Record<string, PeriodResult>;
}

export interface MonthInput extends PeriodSettings {
  month: MonthPlan;
  checkpoint?: Record<string, PeriodResult>;
}

export interface DayInput extends PeriodSettings {
  day: string;
}

/** What a period workflow returns: the results of it and everything below it, and file counts. */
export interface PeriodOutcome {
  results: Record<string, PeriodResult>;
  files: FileCounts;
}

export interface FileCounts {
  /** Source files listed. */
  listed: number;
  /** Files translated now. */
  extracted: number;
  /** Files whose staged references existed already. */
  reused: number;
}

/** Day workflows tell the backfill what they found and how they ended (the `progress` query's source). */
export interface DayReport {
  day: string;
  stage: "listed" | "done";
  files: number;
  result?: PeriodResult;
}

export interface BackfillProgress {
  dataset: string;
  start: string;
  end: string;
  daysTotal: number;
  daysDone: number;
  daysFailed: number;
  daysExisting: number;
  filesListed: number;
  filesDone: number;
  running: string[];
}

export interface BackfillSummary {
  dataset: string;
  start: string;
  end: string;
  results: Record<string, PeriodResult>;
  days: { total: number; written: number; existing: number; failed: number; noFiles: number };
  files: FileCounts;
}
