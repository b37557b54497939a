import { Context } from "@temporalio/activity";
import { aggregatePeriod } from "../lib/backfill/aggregate.js";
import { commitStagedDay } from "../lib/backfill/commit.js";
import { surveyDay } from "../lib/backfill/day.js";
import { extractDayFiles, extractToStaging } from "../lib/backfill/extract.js";
import type { BackfillSteps } from "../lib/backfill/model/steps.js";
import { outputFor } from "../lib/backfill/output.js";
import { failureOf, type SmallDayOutcome } from "../lib/backfill/model/index.js";
import { planBackfill } from "../lib/backfill/plan.js";
import { runSmallDays } from "../lib/backfill/smallDays.js";
import { checkRangeFitsState } from "../lib/backfill/rangeLimit.js";
import { checkOutputWritable } from "../lib/backfill/writable.js";
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { withTypedFailures } from "./failures.js";
import { reportFile } from "./fileEvents.js";
import { withHeartbeats } from "./heartbeat.js";

/**
 * The backfill's activities, bound to the worker's dataset configuration: each a thin wrapper of
 * lib/backfill that maps typed errors to Temporal failures; the long ones (extraction, rollups)
 * heartbeat and stop when cancelled. The workflows run the quick ones (planning, the surveys, a
 * day's combine) as local activities (workflows/activities.ts).
 */
/**
 * A local activity tries once, at every level (the SDK's own retries too): whatever fails goes at
 * once to the regular activity's durable retries (workflows/activities.ts).
 */
const tries = (): { tries?: number } => (Context.current().info.isLocal ? { tries: 1 } : {});

export function createBackfillActivities(registry: DatasetRegistry): BackfillSteps {
  return {
    async planBackfill(dataset, start, end) {
      return withTypedFailures(async () => {
        const spec = registry.get(dataset);
        const plan = planBackfill(dataset, spec.aggregation, start, end, spec.output.format);
        await checkRangeFitsState(spec, plan, start, end);
        await checkOutputWritable(spec);
        return plan;
      });
    },

    async findOutputs(dataset, year) {
      const spec = registry.get(dataset);
      return withTypedFailures(() => outputFor(spec).findOutputs(year, tries()));
    },

    async surveyDay(dataset, day) {
      return withTypedFailures(() => surveyDay(registry.get(dataset), day, tries()));
    },

    async extractFile(dataset, day, sourceKey) {
      return withTypedFailures(() => withHeartbeats((signal) => extractToStaging(registry.get(dataset), day, sourceKey, { signal })));
    },

    // For archives of many small files, where one activity per file costs more than the file. The
    // files are staged as they finish (in bundles), so a retry redoes only the files not staged yet.
    async extractFiles(dataset, day, sourceKeys, filesAtOnce) {
      return withTypedFailures(() =>
        withHeartbeats((signal) => extractDayFiles(registry.get(dataset), day, sourceKeys, filesAtOnce, { signal })),
      );
    },

    // Run as a local activity first (a day's combine is short: no heartbeats), as a regular one
    // when that failed (workflows/activities.ts): heartbeats then, as for any long step.
    async aggregateDay(dataset, day, stagedKeys) {
      const combine = () => aggregatePeriod(registry.get(dataset), day, stagedKeys, { removeInputs: true, ...tries() });
      return withTypedFailures(() => (Context.current().info.isLocal ? combine() : withHeartbeats(combine)));
    },

    // A batch of small days: a heartbeat after each day carries the outcomes so far, so a retry
    // (a killed worker) starts after the last day it heard of; a finished day is never redone.
    async runSmallDays(dataset, days, limits) {
      const context = Context.current();
      const earlier = context.info.heartbeatDetails as SmallDayOutcome[] | undefined;
      let latest: readonly SmallDayOutcome[] = earlier ?? [];
      return withTypedFailures(() =>
        withHeartbeats(
          (signal) =>
            runSmallDays(registry.get(dataset), days, limits, {
              done: latest,
              signal,
              onFile: (event) => {
                // A day workflow's failed extraction is logged by the SDK as a failed activity; a
                // file that fails inside a batch is the day's result, so it is logged here, once.
                if ("error" in event) {
                  const { kind, message } = failureOf(event.error);
                  context.log.warn(`${event.day}: ${kind}: ${message}`, { day: event.day, key: event.key, kind });
                }
                reportFile(context, event);
              },
              onDay: (done) => {
                latest = [...done];
                context.heartbeat(latest);
              },
            }),
          2000,
          () => latest,
        ),
      );
    },

    async rollupPeriod(dataset, period, childPeriods) {
      return withTypedFailures(() =>
        withHeartbeats(() => {
          return outputFor(registry.get(dataset)).rollup(period, childPeriods);
        }),
      );
    },

    // A regular activity with heartbeats: a local repository's writer may wait for another's lock.
    async commitDay(dataset, day, stagedKeys) {
      return withTypedFailures(() => withHeartbeats(() => commitStagedDay(registry.get(dataset), day, stagedKeys)));
    },
  };
}
