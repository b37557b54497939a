import { ActivityFailure, RetryState } from "@temporalio/common";
import { ActivityCancellationType, isCancellation, proxyActivities, proxyLocalActivities, type ActivityOptions, type LocalActivityOptions } from "@temporalio/workflow";
import type { BackfillSteps, SmallDayLimits, WatchSteps } from "../lib/backfill/model/steps.js";

// One policy per kind of activity. Transient failures (S3 throttling, a worker that died) are
// retried with backoff; typed bad-input failures are non-retryable and end the attempt at once.
const backoff = { initialInterval: "1 second", backoffCoefficient: 2, maximumInterval: "1 minute" } as const;

/**
 * The quick steps (a year's output listing, a day's lookup and listing, a day's combine) run first
 * as a local activity: on the worker running the workflow, recorded with its next workflow task,
 * with no task queue round trip (docs/benchmarks.md: about a hundredth of an activity's server
 * cost). It tries once, at every level (the activity passes the SDK a single attempt too): when it
 * fails retryably, the step runs again as a regular activity, whose retries are durable, backed
 * off and visible in the Web UI, on any worker. Bad input (non-retryable) fails at once.
 */
const singleTry: LocalActivityOptions = { startToCloseTimeout: "2 minutes", retry: { maximumAttempts: 1 } };
async function localFirst<T>(local: () => Promise<T>, regular: () => Promise<T>): Promise<T> {
  try {
    return await local();
  } catch (error) {
    if (isCancellation(error) || (error instanceof ActivityFailure && error.retryState === RetryState.NON_RETRYABLE_FAILURE)) throw error;
    return regular();
  }
}

/** Lookups and listings as regular activities: no heartbeat; a slow listing only takes longer. */
const listingOptions: ActivityOptions = { startToCloseTimeout: "5 minutes", retry: { ...backoff, maximumAttempts: 10 } };
/**
 * Extraction is where the reading happens: regular activities, spread over the cluster's workers,
 * each visible with its attempts in the Web UI. They heartbeat every 2 s (activities/heartbeat.ts):
 * a killed worker's extractions are retried within 20 s, and a cancellation stops them (the day
 * waits until they have stopped).
 */
const extractionOptions: ActivityOptions = {
  startToCloseTimeout: "15 minutes",
  heartbeatTimeout: "20 seconds",
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { ...backoff, maximumAttempts: 20 },
};
/** Combining a day (after its local try) or rolling up a month or a year: heartbeats; a year of inputs may take minutes. */
const aggregationOptions: ActivityOptions = { startToCloseTimeout: "30 minutes", heartbeatTimeout: "20 seconds", retry: { ...backoff, maximumAttempts: 20 } };

/**
 * A day's commit to an Icechunk store: a regular activity with heartbeats (a local store's writer
 * may wait for another writer's lock), retried on what the IcechunkError marks retryable (a commit
 * conflict, the writer lock, a storage fault); the rest (a day out of calendar order, metadata
 * that differs from the store's) fails at once.
 */
const commitOptions: ActivityOptions = { startToCloseTimeout: "20 minutes", heartbeatTimeout: "20 seconds", retry: { ...backoff, maximumAttempts: 20 } };

/**
 * A batch of small days (several days' lookups, listings, extractions and combines in one activity):
 * heartbeats after each day with the days done, so a killed worker's batch is retried within 20 s
 * and resumes after its last finished day; a cancellation stops it between files. Its own failures
 * are retryable only (bad input is a day's result); when its retries run out, the month gives its
 * days their day workflows.
 */
const smallDaysOptions: ActivityOptions = {
  startToCloseTimeout: "30 minutes",
  heartbeatTimeout: "20 seconds",
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { ...backoff, maximumAttempts: 5 },
};

const local = proxyLocalActivities<BackfillSteps>(singleTry);
const listing = proxyActivities<BackfillSteps>(listingOptions);
const extraction = proxyActivities<BackfillSteps>(extractionOptions);
const aggregation = proxyActivities<BackfillSteps>(aggregationOptions);
const commit = proxyActivities<BackfillSteps>(commitOptions);
const smallDays = proxyActivities<BackfillSteps>(smallDaysOptions);

/** The backfill's look at its years (workflows/watch.ts): a local activity, quick, tried again at the next look. */
export const watching = proxyLocalActivities<WatchSteps>({ startToCloseTimeout: "30 seconds", retry: { maximumAttempts: 1 } });

/** Planning validates the request on the worker before anything starts: a local activity, retried briefly. */
export const planning = proxyLocalActivities<BackfillSteps>({ startToCloseTimeout: "1 minute", retry: { maximumAttempts: 3 } });

const lastSegment = (key: string): string => key.slice(key.lastIndexOf("/") + 1);

/** The backfill's steps, each under its kind's policy and with a summary the Web UI shows. */
export const steps = {
  findOutputs: (dataset: string, year: string) => {
    const summary = `outputs of ${year}`;
    return localFirst(
      () => local.findOutputs.executeWithOptions({ ...singleTry, summary }, [dataset, year]),
      () => listing.findOutputs.executeWithOptions({ ...listingOptions, summary }, [dataset, year]),
    );
  },
  surveyDay: (dataset: string, day: string) => {
    const summary = `list ${day}`;
    return localFirst(
      () => local.surveyDay.executeWithOptions({ ...singleTry, summary }, [dataset, day]),
      () => listing.surveyDay.executeWithOptions({ ...listingOptions, summary }, [dataset, day]),
    );
  },
  extractFile: (dataset: string, day: string, key: string) =>
    extraction.extractFile.executeWithOptions({ ...extractionOptions, summary: `extract ${lastSegment(key)}` }, [dataset, day, key]),
  extractFiles: (dataset: string, day: string, keys: string[], filesAtOnce: number) =>
    extraction.extractFiles.executeWithOptions({ ...extractionOptions, summary: `extract ${keys.length} files from ${lastSegment(keys[0] ?? "")}` }, [
      dataset,
      day,
      keys,
      filesAtOnce,
    ]),
  aggregateDay: (dataset: string, day: string, staged: string[]) => {
    const summary = `combine ${staged.length} files of ${day}`;
    return localFirst(
      () => local.aggregateDay.executeWithOptions({ ...singleTry, summary }, [dataset, day, staged]),
      () => aggregation.aggregateDay.executeWithOptions({ ...aggregationOptions, summary }, [dataset, day, staged]),
    );
  },
  runSmallDays: (dataset: string, days: string[], limits: SmallDayLimits) =>
    smallDays.runSmallDays.executeWithOptions({ ...smallDaysOptions, summary: `${days.length} small days from ${days[0] ?? ""}` }, [dataset, days, limits]),
  /** With `tag`, the store's tag of a month or a year (Icechunk output) instead of a rollup file. */
  rollupPeriod: (dataset: string, period: string, children: string[], tag = false) =>
    aggregation.rollupPeriod.executeWithOptions({ ...aggregationOptions, summary: tag ? `tag ${period}` : `roll up ${period} from ${children.length} outputs` }, [dataset, period, children]),
  commitDay: (dataset: string, day: string, staged: string[]) =>
    commit.commitDay.executeWithOptions({ ...commitOptions, summary: `commit ${day} (${staged.length} files)` }, [dataset, day, staged]),
};
