/**
 * Our metrics, beside the SDK's own: recorded through the SDK's metric meter (so they leave by
 * whatever exporter the worker's Runtime has, Prometheus with `temporal-kerchunk worker
 * --metrics-port`, OpenTelemetry otherwise), tagged with the namespace, task queue and activity
 * type under the SDK's label names (namespace, task_queue, activity_type). One activity interceptor observes every activity of ours from the outside, so
 * neither the activities nor lib/ know about metrics:
 *
 *   temporal_kerchunk_files_extracted      files whose references were written (reused="true": found staged by an earlier attempt)
 *   temporal_kerchunk_source_bytes_read    bytes read from source files
 *   temporal_kerchunk_file_latency         seconds per extracted file (an extraction activity's time per file; a
 *                                          batch of small days times each file)
 *   temporal_kerchunk_activity_failures    failed attempts, by error kind and whether they are retried: an
 *                                          activity's, and a file's inside a batch of small days
 *   temporal_kerchunk_activity_retries     attempts after the first: an activity's, and a file's that a batch
 *                                          hands back to a day workflow after a retryable failure
 *
 * A batch of small days (runSmallDays) extracts many days' files in one activity: it reports each
 * file as it ends (activities/fileEvents.ts), and each counts here as an extraction activity's do.
 *   temporal_kerchunk_outputs_committed    outputs written: day files, month/year rollups, Icechunk commits
 */
import { ApplicationFailure, type MetricMeter } from "@temporalio/common";
import { Runtime, type ActivityInterceptorsFactory } from "@temporalio/worker";
import { listenToFiles } from "../activities/fileEvents.js";
import type { ExtractSummary } from "../lib/backfill/model/index.js";
import type { SmallDayFileEvent } from "../lib/backfill/smallDays.js";
import { TemporalKerchunkError } from "../lib/errors.js";

/** The activities whose results count as a written output. */
const committing = new Set(["aggregateDay", "rollupPeriod", "commitDay"]);
const extracting = new Set(["extractFile", "extractFiles"]);

/** The kind of a failure, as our typed errors name it (activities/failures.ts), else the error's name. */
function failureKind(error: unknown): { kind: string; retryable: boolean } {
  if (error instanceof TemporalKerchunkError) return { kind: error.kind, retryable: error.retryable };
  if (error instanceof ApplicationFailure) return { kind: error.type ?? "ApplicationFailure", retryable: !error.nonRetryable };
  if (error instanceof Error) return { kind: error.name === "CancelledFailure" ? "Cancelled" : error.name, retryable: true };
  return { kind: "Unknown", retryable: true };
}

/** Measures each activity of ours: add it to a Worker's `interceptors.activity`. */
export const activityMetrics: ActivityInterceptorsFactory = (context) => ({
  inbound: {
    async execute(input, next) {
      const { activityType, attempt, activityNamespace, taskQueue } = context.info;
      // The Runtime's meter with the SDK's own label names (the activity context's meter tags
      // taskQueue/activityType in camelCase), so one dashboard filters ours and the SDK's alike.
      const meter = Runtime.instance().metricMeter.withTags({ namespace: activityNamespace, task_queue: taskQueue, activity_type: activityType });
      const count = counters(meter);
      // Added to (0 on a first attempt) every time, so the series exists before the first retry.
      count.retries.add(attempt > 1 ? 1 : 0);
      const started = performance.now();
      let result: unknown;
      try {
        result = activityType === "runSmallDays" ? await listenToFiles(context, (event) => countBatchFile(count, event), () => next(input)) : await next(input);
      } catch (error) {
        count.failure(error);
        throw error;
      }
      if (extracting.has(activityType)) {
        const summaries = (Array.isArray(result) ? result : [result]) as ExtractSummary[];
        const translated = summaries.filter((s) => !s.reused).length;
        const perFile = translated > 0 ? (performance.now() - started) / 1000 / translated : 0;
        for (const summary of summaries) count.file(summary, perFile);
      } else if (committing.has(activityType)) {
        count.committed.add(1);
      }
      return result;
    },
  },
});

/** Our instruments on a meter tagged with an activity's labels. */
function counters(meter: MetricMeter) {
  const files = meter.createCounter("temporal_kerchunk_files_extracted", "1", "Source files whose references were staged");
  const bytes = meter.createCounter("temporal_kerchunk_source_bytes_read", "By", "Bytes read from source files");
  const latency = meter.createHistogram("temporal_kerchunk_file_latency", "float", "s", "Seconds to extract one source file");
  const failures = meter.createCounter("temporal_kerchunk_activity_failures", "1", "Failed activity attempts, by error kind");
  const retries = meter.createCounter("temporal_kerchunk_activity_retries", "1", "Activity attempts after the first");
  const committed = meter.createCounter("temporal_kerchunk_outputs_committed", "1", "Outputs written (days, rollups, Icechunk commits)");
  return {
    retries,
    committed,
    /** A file staged: counted, its bytes, and (translated, not reused) its seconds. */
    file(summary: ExtractSummary, seconds: number): void {
      files.add(1, { reused: String(summary.reused) });
      if (summary.bytesRead > 0) bytes.add(summary.bytesRead);
      if (!summary.reused) latency.record(seconds);
    },
    failure(error: unknown): void {
      const { kind, retryable } = failureKind(error);
      failures.add(1, { kind, retryable: String(retryable) });
    },
  };
}

/**
 * A file of a batch of small days: staged, or failed (a retryable failure hands its day back to a
 * day workflow, which tries the file again: a retry).
 */
function countBatchFile(count: ReturnType<typeof counters>, event: SmallDayFileEvent): void {
  if ("summary" in event) return count.file(event.summary, event.seconds);
  count.failure(event.error);
  if (failureKind(event.error).retryable) count.retries.add(1);
}
