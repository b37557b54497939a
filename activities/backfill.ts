import { coversWhole, dayRange, daysIn, monthsIn, yearsIn } from "../lib/calendar/periods.js";
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { aggregatePeriod, type AggregateSummary } from "../lib/backfill/aggregate.js";
import { extractToStaging, type ExtractSummary } from "../lib/backfill/extract.js";
import { outputKey } from "../lib/backfill/names.js";
import { listDaySources } from "../lib/backfill/sources.js";
import { checkOutputWritable } from "../lib/backfill/writable.js";
import { openStorage } from "../lib/datasets/spec.js";
import type { BackfillPlan } from "../workflows/types.js";
import { boundedAll } from "../lib/concurrency.js";
import { withTypedFailures } from "./failures.js";
import { withHeartbeats } from "./heartbeat.js";

/** The backfill's activities, bound to the worker's dataset configuration. */
export function createBackfillActivities(registry: DatasetRegistry) {
  return {
    /** Validate the request against the worker's configuration and plan the calendar tree. */
    async planBackfill(dataset: string, start: string, end: string): Promise<BackfillPlan> {
      return withTypedFailures(async () => {
        const spec = registry.get(dataset);
        const range = dayRange(start, end);
        await checkOutputWritable(spec);
        return {
          dataset,
          aggregation: spec.aggregation,
          years: yearsIn(range).map((year) => ({
            id: year.id,
            whole: coversWhole(year, range),
            months: monthsIn(year.year, range).map((month) => ({
              id: month.id,
              whole: coversWhole(month, range),
              days: daysIn(month, range).map((d) => d.id),
            })),
          })),
        };
      });
    },

    /** The output's URL if the period was already done (the checkpoint in storage), else null. */
    async findPeriodOutput(dataset: string, period: string): Promise<string | null> {
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

    /** Keys of a day's source files, in time order. */
    async listDaySources(dataset: string, day: string): Promise<string[]> {
      return withTypedFailures(async () => (await listDaySources(registry.get(dataset), day)).map((o) => o.key));
    },

    /** Translate one file into the day's staging area (skipped when staged already). */
    async extractFile(dataset: string, day: string, sourceKey: string): Promise<ExtractSummary> {
      return withTypedFailures(() => withHeartbeats(() => extractToStaging(registry.get(dataset), day, sourceKey)));
    },

    /**
     * Translate several files of a day (for archives of many small files, where one activity per
     * file costs more than the file). Each file is staged on its own, so a retry redoes only
     * the files that were not staged yet.
     */
    async extractFiles(dataset: string, day: string, sourceKeys: string[]): Promise<ExtractSummary[]> {
      return withTypedFailures(() =>
        withHeartbeats(async () => {
          const spec = registry.get(dataset);
          return boundedAll(sourceKeys, 4, (key) => extractToStaging(spec, day, key));
        }),
      );
    },

    /** Combine a day's staged references into the day's output (written once); staging is then removed. */
    async aggregateDay(dataset: string, day: string, stagedKeys: string[]): Promise<AggregateSummary> {
      return withTypedFailures(() => withHeartbeats(() => aggregatePeriod(registry.get(dataset), day, stagedKeys, { removeInputs: true })));
    },

    /** Roll a month up from its days, or a year from its months, without touching a source file. */
    async rollupPeriod(dataset: string, period: string, childPeriods: string[]): Promise<AggregateSummary> {
      return withTypedFailures(() =>
        withHeartbeats(() => {
          const spec = registry.get(dataset);
          return aggregatePeriod(spec, period, childPeriods.map((child) => outputKey(spec, child)));
        }),
      );
    },
  };
}

export type BackfillActivities = ReturnType<typeof createBackfillActivities>;

