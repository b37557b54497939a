import { aggregatePeriod } from "../lib/backfill/aggregate.js";
import { extractToStaging } from "../lib/backfill/extract.js";
import type { BackfillSteps } from "../lib/backfill/model/steps.js";
import { outputKey } from "../lib/backfill/names.js";
import { planBackfill } from "../lib/backfill/plan.js";
import { listDaySources } from "../lib/backfill/sources.js";
import { checkOutputWritable } from "../lib/backfill/writable.js";
import { boundedAll } from "../lib/concurrency.js";
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { openStorage } from "../lib/datasets/spec.js";
import { withTypedFailures } from "./failures.js";
import { withHeartbeats } from "./heartbeat.js";

/**
 * The backfill's activities, bound to the worker's dataset configuration: each a thin wrapper of
 * lib/backfill that maps typed errors to Temporal failures; the long ones (extraction,
 * aggregation) heartbeat and stop when cancelled.
 */
export function createBackfillActivities(registry: DatasetRegistry): BackfillSteps {
  return {
    async planBackfill(dataset, start, end) {
      return withTypedFailures(async () => {
        const spec = registry.get(dataset);
        const plan = planBackfill(dataset, spec.aggregation, start, end);
        await checkOutputWritable(spec);
        return plan;
      });
    },

    async findPeriodOutput(dataset, period) {
      return withTypedFailures(async () => {
        const spec = registry.get(dataset);
        const storage = openStorage(spec.output.storage);
        try {
          const key = outputKey(spec, period);
          return (await storage.exists(key)) ? storage.url(key) : null;
        } finally {
          await storage.close();
        }
      });
    },

    async listDaySources(dataset, day) {
      return withTypedFailures(async () => (await listDaySources(registry.get(dataset), day)).map((o) => o.key));
    },

    async extractFile(dataset, day, sourceKey) {
      return withTypedFailures(() => withHeartbeats((signal) => extractToStaging(registry.get(dataset), day, sourceKey, signal)));
    },

    // For archives of many small files, where one activity per file costs more than the file. Each
    // file is staged on its own, so a retry redoes only the files that were not staged yet.
    async extractFiles(dataset, day, sourceKeys, filesAtOnce) {
      return withTypedFailures(() =>
        withHeartbeats((signal) => {
          const spec = registry.get(dataset);
          return boundedAll(sourceKeys, filesAtOnce, (key) => extractToStaging(spec, day, key, signal));
        }),
      );
    },

    async aggregateDay(dataset, day, stagedKeys) {
      return withTypedFailures(() => withHeartbeats(() => aggregatePeriod(registry.get(dataset), day, stagedKeys, { removeInputs: true })));
    },

    async rollupPeriod(dataset, period, childPeriods) {
      return withTypedFailures(() =>
        withHeartbeats(() => {
          const spec = registry.get(dataset);
          return aggregatePeriod(spec, period, childPeriods.map((child) => outputKey(spec, child)));
        }),
      );
    },
  };
}
