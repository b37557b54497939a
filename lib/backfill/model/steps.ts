import type { FoundOutputs } from "./outputs.js";
import type { BackfillPlan } from "./plan.js";
import type { PeriodResult } from "./result.js";
import type { FileCounts } from "./summary.js";

/** What an extraction reports: small enough for workflow history. */
export interface ExtractSummary {
  source: string;
  staged: string;
  /** True when the staged refs already existed (nothing read). */
  reused: boolean;
  chunks: number;
  requests: number;
  bytesRead: number;
  skippedVariables: string[];
}

/** What an aggregation (a day's combine, or a rollup) reports. */
export interface AggregateSummary {
  /** URL of the period's reference file (the first, when drift split it). */
  output: string;
  /** Every output, in time order, when drift split the period into several (issue 17); absent for one. */
  outputs?: string[];
  /** True when it existed already (nothing combined, nothing written). */
  existing: boolean;
  inputs: number;
  /** Chunk references in the output (0 when it existed). */
  chunkRefs: number;
}

/** What a day's commit to an Icechunk store reports (small, for history and the Web UI). */
export interface CommitSummary {
  /** `<store>@<snapshot id>`: the snapshot that holds the day. */
  output: string;
  /** True when the day was in the store already (nothing written). */
  existing: boolean;
  snapshotId: string;
  /** The day's steps along the concat dimension, and its files. */
  steps: number;
  files: number;
  /** Commits tried (more than 1 when other writers moved the branch; 0 when found committed). */
  attempts: number;
  commitMs: number;
}

/** What a day's first step finds: its output, if it exists already, else its source files in time order. */
export type DaySurvey = { output: string; outputs?: string[] } | { sources: string[] };

/** What a batch of small days needs besides the days: the threshold, the files at once, whether to stop at a failed day. */
export interface SmallDayLimits {
  /** A day with more files than this is not done in the batch: it gets its day workflow. */
  smallDayFiles: number;
  maxConcurrentFiles: number;
  /** Days of the batch run side by side (1 when absent: one after another, as a batch scheduled before this setting runs). */
  daysAtOnce?: number;
  failFast: boolean;
}

/**
 * How one day of a batch of small days ended, as a day workflow would say it: its result and files,
 * or (Icechunk output) its staged references; or `dayWorkflow`: not done here (more files than
 * `smallDayFiles`, or a retryable failure, left to the day workflow's durable per-file retries),
 * with the files this batch translated for it before (`translated`, which the day workflow then
 * finds staged) and the batch's listing of its files when it is short enough to carry (`sources`,
 * `listingToCarry`): its day workflow then starts from it instead of listing again.
 */
export type SmallDayOutcome = { day: string } & (
  | { result: PeriodResult; files: FileCounts }
  | { staged: string[]; files: FileCounts }
  | { dayWorkflow: string; translated: number; sources?: string[] }
);

/**
 * The most characters of source keys a day's listing carries from a batch of small days to the day
 * workflow (through the batch's result and the day's input, both in the month's history): 24 hourly
 * Himawari keys take 2.6 kB; a day of 10-minute files (144 keys, 16 kB) is listed by its own day
 * workflow again, so a month's history grows by at most about 1 MB.
 */
export const MAX_CARRIED_LISTING_CHARS = 16 * 1024;

/** A day's listing if it is short enough to carry to its day workflow (MAX_CARRIED_LISTING_CHARS), else undefined. */
export function listingToCarry(sources: readonly string[]): string[] | undefined {
  let chars = 0;
  for (const key of sources) if ((chars += key.length) > MAX_CARRIED_LISTING_CHARS) return undefined;
  return [...sources];
}

/**
 * The steps of a backfill as a worker offers them (the activities; activities/backfill.ts
 * implements them over lib/backfill). Everything goes by name: the dataset's settings stay on the
 * worker, references travel through storage, only small summaries come back. The quick ones
 * (planning, the surveys, a day's combine) run as local activities: no task queue round trip.
 */
export interface BackfillSteps {
  /** Validate the request against the worker's configuration and plan the calendar tree. */
  planBackfill(dataset: string, start: string, end: string): Promise<BackfillPlan>;
  /**
   * Every output of a year's periods (days, months, the year), found by one listing; with Icechunk
   * output, the days the store holds and the tags of months and the year.
   */
  findOutputs(dataset: string, year: string): Promise<FoundOutputs>;
  /** A day's output if it exists (nothing else is done then), else the keys of its source files. */
  surveyDay(dataset: string, day: string): Promise<DaySurvey>;
  /** Translate one file into the day's staging area (skipped when staged already). */
  extractFile(dataset: string, day: string, sourceKey: string): Promise<ExtractSummary>;
  /** Translate several files of a day, `filesAtOnce` at a time, staged in bundles (a retry redoes only the files not staged). */
  extractFiles(dataset: string, day: string, sourceKeys: string[], filesAtOnce: number): Promise<ExtractSummary[]>;
  /** Combine a day's staged references into the day's output (written once); staging is then removed. */
  aggregateDay(dataset: string, day: string, stagedKeys: string[]): Promise<AggregateSummary>;
  /**
   * Roll a month up from its days, or a year from its months, without touching a source file;
   * with Icechunk output, tag the month or year in the store instead.
   */
  rollupPeriod(dataset: string, period: string, childPeriods: string[]): Promise<AggregateSummary>;
  /**
   * Small days, `daysAtOnce` side by side, each done as its day workflow would do it (survey,
   * extract, combine or stage), with a heartbeat after each: a retry resumes after the last finished day.
   * Days with more files than `smallDayFiles` are handed back for a day workflow.
   */
  runSmallDays(dataset: string, days: string[], limits: SmallDayLimits): Promise<SmallDayOutcome[]>;
  /** Icechunk output: commit a day from its staged per-file references (exactly once); staging is then removed. */
  commitDay(dataset: string, day: string, stagedKeys: string[]): Promise<CommitSummary>;
}

/**
 * What the backfill asks the server about the periods it started and does not await (its years):
 * which have closed, and how (`WorkflowExecutionStatusName`: "TERMINATED", "COMPLETED", ...).
 * Ids still running (a reset's new run, a run continued as new) or not found are left out.
 */
export interface WatchSteps {
  closedWorkflows(workflowIds: string[]): Promise<Record<string, string>>;
}
