/**
 * Inputs and results of the backfill workflows. Plain data only: imported by workflow code and by
 * clients. The results, the plan and the rules behind them are the backfill's domain model
 * (lib/backfill/model), which the workflows share with `backfillDirect` and the CLI.
 */
import type { Aggregation, BackfillSummary, FileCounts, Lanes, MonthPlan, OutputFormat, PeriodResult, PeriodResults, ProgressState, YearPlan } from "../lib/backfill/model/index.js";
import type { CensusSummary } from "../lib/census/model/index.js";

export type {
  BackfillProgress,
  BackfillSummary,
  FileCounts,
  PeriodReport,
  PeriodResult,
  PeriodResults,
  PeriodStatus,
} from "../lib/backfill/model/index.js";

/** What `temporal workflow start --type backfillV3 --input '{...}'` takes. No secrets, only names. */
export interface BackfillInput {
  /** A dataset the worker's configuration knows, e.g. "himawari8-sst". */
  dataset: string;
  /** First and last day, inclusive, "YYYY-MM-DD" (UTC). */
  start: string;
  end: string;
  /**
   * Day workflows running at once in the whole backfill (default 64): the days of a month side by
   * side, and months (and years) side by side when a month cannot hold that many (`lanesOf`).
   */
  maxConcurrentDays?: number;
  /**
   * Files translated at once within a day, however they are batched (default 1: a day's files one
   * after another, in one extraction activity). Raise it for ranges of few days with many slow files.
   */
  maxConcurrentFiles?: number;
  /**
   * Days of at most this many files (default 48, `DEFAULT_SMALL_DAY_FILES`) are done in batches of
   * a few days, one activity per batch, instead of a day workflow each: a day workflow's fixed cost
   * is a large share of such a day's work. Days with more files get their day workflow (per-file
   * activities and retries); so does a batched day that meets a retryable failure. 0: every day
   * gets its workflow.
   */
  smallDayFiles?: number;
  /** Stop the whole backfill at the first failed day (default false: record it and go on). */
  failFast?: boolean;
  /**
   * Files per extraction activity. By default a day's files are spread over
   * `min(files, maxConcurrentFiles)` activities (`extractionPlan`); 1 makes one activity per file.
   */
  filesPerActivity?: number;
  /**
   * After the days are done, take a census of the range (`censusV1` as a child, with these
   * options; `true`: sampled, stride 24). It reads the day outputs just written instead of their
   * files, so it costs little; the eras are in the result (`census`), census.json beside the outputs.
   */
  census?: boolean | { exhaustive?: boolean; stride?: number };
  /** Internal: the backfill's progress, carried across continue-as-new. */
  carried?: ProgressState;
}

/** What a backfill returns: its summary, and its census when it was asked for one. */
export interface BackfillResult extends BackfillSummary {
  /** The census's eras; or, when the census failed (the days stay as they are), its error in one line. */
  census?: CensusSummary | { error: string };
}

/** Settings every level passes down (and nothing of its own plan or results). */
export interface PeriodSettings {
  dataset: string;
  aggregation: Aggregation;
  /** The dataset's output: reference files, or an Icechunk store (days committed by their month, in order). */
  format: OutputFormat;
  /** maxConcurrentDays spread over the range's years, months and days (`lanesOf`). */
  lanes: Lanes;
  maxConcurrentFiles: number;
  filesPerActivity?: number;
  /** Days of at most this many files run in batches (0: none); absent in inputs of older runs (the default then). */
  smallDayFiles?: number;
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
  /** Results known already (settled by outputs, an earlier pass, or this month's run before continue-as-new). */
  checkpoint?: PeriodResults;
}

export interface DayInput extends PeriodSettings {
  day: string;
  /**
   * The day's source files as its month's batch of small days listed them (a day handed back for
   * its number of files, `listingToCarry`): the day starts from them instead of surveying itself.
   */
  sources?: string[];
}

/** What a year or a month returns: the results of it and of everything below it. */
export interface PeriodOutcome {
  results: PeriodResults;
}

/**
 * What a day returns: its result and its files (listed, also when it failed after listing); or,
 * with Icechunk output, its staged per-file references, which its month commits in calendar order.
 */
export type DayOutcome = { result: PeriodResult; files: FileCounts } | { staged: string[]; files: FileCounts };
