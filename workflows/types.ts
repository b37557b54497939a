/**
 * Inputs and results of the backfill workflows. Plain data only: imported by workflow code and by
 * clients. The results, the plan and the rules behind them are the backfill's domain model
 * (lib/backfill/model), which the workflows share with `backfillDirect` and the CLI.
 */
import type { Aggregation, FileCounts, MonthPlan, PeriodResults, ProgressState, YearPlan } from "../lib/backfill/model/index.js";

export type {
  BackfillProgress,
  BackfillSummary,
  DayReport,
  FileCounts,
  PeriodResult,
  PeriodResults,
  PeriodStatus,
} from "../lib/backfill/model/index.js";

/** What `temporal workflow start --type backfillV2 --input '{...}'` takes. No secrets, only names. */
export interface BackfillInput {
  /** A dataset the worker's configuration knows, e.g. "himawari8-sst". */
  dataset: string;
  /** First and last day, inclusive, "YYYY-MM-DD" (UTC). */
  start: string;
  end: string;
  /** Day workflows running at once within a month (default 4). */
  maxConcurrentDays?: number;
  /** Files translated at once within a day, however they are batched (default 4). */
  maxConcurrentFiles?: number;
  /** Stop the whole backfill at the first failed day (default false: record it and go on). */
  failFast?: boolean;
  /**
   * Files translated per extraction activity (default 1: one retryable activity per file). Raise it
   * for archives of many small files, where an activity costs more than the file (docs/benchmarks.md).
   */
  filesPerActivity?: number;
  /** Internal: the backfill's progress, carried across continue-as-new. */
  carried?: ProgressState;
}

/** Settings every level passes down (and nothing of its own plan or results). */
export interface PeriodSettings {
  dataset: string;
  aggregation: Aggregation;
  maxConcurrentDays: number;
  maxConcurrentFiles: number;
  filesPerActivity: number;
  failFast: boolean;
  /** Workflow id of the backfill to report progress to (absent when run on its own). */
  reportTo?: string;
}

export interface YearInput extends PeriodSettings {
  year: YearPlan;
  /** Results known from an earlier pass (never failures): those periods are not run again. */
  checkpoint?: PeriodResults;
}

export interface MonthInput extends PeriodSettings {
  month: MonthPlan;
  checkpoint?: PeriodResults;
  /** File counts so far, carried across continue-as-new. */
  files?: FileCounts;
}

export interface DayInput extends PeriodSettings {
  day: string;
}

/** What a period workflow returns: the results of it and everything below it, and file counts. */
export interface PeriodOutcome {
  results: PeriodResults;
  files: FileCounts;
}
