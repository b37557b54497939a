/**
 * Our metrics, beside the SDK's own: recorded through the SDK's metric meter (so they leave by
 * whatever exporter the worker's Runtime has, Prometheus with `temporal-kerchunk worker
 * --metrics-port`, OpenTelemetry otherwise), tagged with the namespace, task queue and activity
 * type under the SDK's label names (namespace, task_queue, activity_type). One activity interceptor observes every activity of ours from the outside, so
 * neither the activities nor lib/ know about metrics:
 *
 *   temporal_kerchunk_files_extracted      files whose references were written (reused="true": found staged by an earlier attempt)
 *   temporal_kerchunk_source_bytes_read    bytes read from source files
 *   temporal_kerchunk_file_latency         seconds per extracted file (an extraction activity's time per file)
 *   temporal_kerchunk_activity_failures    failed attempts, by error kind and whether Temporal retries them
 *   temporal_kerchunk_activity_retries     attempts after the first (each one a retry)
 *   temporal_kerchunk_outputs_committed    outputs written: day files, month/year rollups, Icechunk commits
 */
import { ApplicationFailure } from "@temporalio/common";
import { Runtime, type ActivityInterceptorsFactory } from "@temporalio/worker";
import type { ExtractSummary } from "../lib/backfill/model/index.js";

/** The activities whose results count as a written output. */
const committing = new Set(["aggregateDay", "rollupPeriod", "commitDay"]);
const extracting = new Set(["extractFile", "extractFiles"]);

/** The kind of a failure, as our typed errors name it (activities/failures.ts), else the error's name. */
function failureKind(error: unknown): { kind: string; retryable: boolean } {
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
      // Added to (0 on a first attempt) every time, so the series exists before the first retry.
      meter.createCounter("temporal_kerchunk_activity_retries", "1", "Activity attempts after the first").add(attempt > 1 ? 1 : 0);
      const started = performance.now();
      let result: unknown;
      try {
        result = await next(input);
      } catch (error) {
        const { kind, retryable } = failureKind(error);
        meter.createCounter("temporal_kerchunk_activity_failures", "1", "Failed activity attempts, by error kind").add(1, { kind, retryable: String(retryable) });
        throw error;
      }
      if (extracting.has(activityType)) {
        const summaries = (Array.isArray(result) ? result : [result]) as ExtractSummary[];
        const files = meter.createCounter("temporal_kerchunk_files_extracted", "1", "Source files whose references were staged");
        const bytes = meter.createCounter("temporal_kerchunk_source_bytes_read", "By", "Bytes read from source files");
        for (const summary of summaries) {
          files.add(1, { reused: String(summary.reused) });
          if (summary.bytesRead > 0) bytes.add(summary.bytesRead);
        }
        const translated = summaries.filter((s) => !s.reused).length;
        if (translated > 0) {
          const perFile = (performance.now() - started) / 1000 / translated;
          const latency = meter.createHistogram("temporal_kerchunk_file_latency", "float", "s", "Seconds to extract one source file");
          for (let i = 0; i < translated; i++) latency.record(perFile);
        }
      } else if (committing.has(activityType)) {
        meter.createCounter("temporal_kerchunk_outputs_committed", "1", "Outputs written (days, rollups, Icechunk commits)").add(1);
      }
      return result;
    },
  },
});
