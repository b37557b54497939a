import { ActivityCancellationType, proxyActivities, proxyLocalActivities, type ActivityOptions } from "@temporalio/workflow";
import type { BackfillSteps } from "../lib/backfill/model/steps.js";

// One policy per kind of activity. Transient failures (S3 throttling, a worker that died) are
// retried with backoff; typed bad-input failures are non-retryable and end the attempt at once.
const backoff = { initialInterval: "1 second", backoffCoefficient: 2, maximumInterval: "1 minute" } as const;

/** Output lookups (one HEAD or stat): quick, no heartbeat. */
const lookupOptions: ActivityOptions = { startToCloseTimeout: "1 minute", retry: { ...backoff, maximumAttempts: 10 } };
/** Listing a day's sources: one call per thousand keys, no heartbeat; a slow listing only takes longer. */
const listingOptions: ActivityOptions = { startToCloseTimeout: "5 minutes", retry: { ...backoff, maximumAttempts: 10 } };
/**
 * Extraction heartbeats every 2 s (activities/heartbeat.ts): a killed worker's extractions are
 * retried within 20 s, and a cancellation stops them (the day waits until they have stopped).
 */
const extractionOptions: ActivityOptions = {
  startToCloseTimeout: "15 minutes",
  heartbeatTimeout: "20 seconds",
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { ...backoff, maximumAttempts: 20 },
};
/** Combining a day or rolling up a month or year: heartbeats too; a year of inputs may take minutes. */
const aggregationOptions: ActivityOptions = { startToCloseTimeout: "30 minutes", heartbeatTimeout: "20 seconds", retry: { ...backoff, maximumAttempts: 20 } };

const lookup = proxyActivities<BackfillSteps>(lookupOptions);
const listing = proxyActivities<BackfillSteps>(listingOptions);
const extraction = proxyActivities<BackfillSteps>(extractionOptions);
const aggregation = proxyActivities<BackfillSteps>(aggregationOptions);

/** Planning validates the request on the worker before anything starts: a local activity, retried briefly. */
export const planning = proxyLocalActivities<BackfillSteps>({ startToCloseTimeout: "1 minute", retry: { maximumAttempts: 3 } });

const lastSegment = (key: string): string => key.slice(key.lastIndexOf("/") + 1);

/** The backfill's steps, each under its kind's policy and with a summary the Web UI shows. */
export const steps = {
  findPeriodOutput: (dataset: string, period: string) =>
    lookup.findPeriodOutput.executeWithOptions({ ...lookupOptions, summary: `is ${period} done?` }, [dataset, period]),
  listDaySources: (dataset: string, day: string) => listing.listDaySources.executeWithOptions({ ...listingOptions, summary: `list ${day}` }, [dataset, day]),
  extractFile: (dataset: string, day: string, key: string) =>
    extraction.extractFile.executeWithOptions({ ...extractionOptions, summary: `extract ${lastSegment(key)}` }, [dataset, day, key]),
  extractFiles: (dataset: string, day: string, keys: string[], filesAtOnce: number) =>
    extraction.extractFiles.executeWithOptions({ ...extractionOptions, summary: `extract ${keys.length} files from ${lastSegment(keys[0] ?? "")}` }, [
      dataset,
      day,
      keys,
      filesAtOnce,
    ]),
  aggregateDay: (dataset: string, day: string, staged: string[]) =>
    aggregation.aggregateDay.executeWithOptions({ ...aggregationOptions, summary: `combine ${staged.length} files of ${day}` }, [dataset, day, staged]),
  rollupPeriod: (dataset: string, period: string, children: string[]) =>
    aggregation.rollupPeriod.executeWithOptions({ ...aggregationOptions, summary: `roll up ${period} from ${children.length} outputs` }, [dataset, period, children]),
};
