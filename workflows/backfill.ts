import { allHandlersFinished, condition, continueAsNew, setHandler, upsertSearchAttributes, workflowInfo } from "@temporalio/workflow";
import { newProgressState, progressOf, summarize } from "../lib/backfill/model/index.js";
import { boundedAll } from "../lib/concurrency.js";
import { planning } from "./activities.js";
import { progressQuery } from "./messages.js";
import { childOptions, executePeriod, settingsFor, settingsOf, withStatus } from "./options.js";
import { trackProgress } from "./progress.js";
import { searchAttributesOf } from "./searchAttributes.js";
import type { BackfillInput, BackfillSummary } from "./types.js";
import { backfillYearV3 } from "./year.js";

/**
 * A backfill over a date range: one child per year (months, then days, below it), side by side as
 * maxConcurrentDays allows, the results per period like the seed notebook's. Started from the
 * Temporal CLI:
 *   temporal workflow start --task-queue temporal-kerchunk --type backfillV3 \
 *     --input '{"dataset":"himawari8-sst","start":"2022-01-01","end":"2022-01-31"}'
 */
export async function backfillV3(input: BackfillInput): Promise<BackfillSummary> {
  // Answered from the start; nothing is known until the plan is made.
  setHandler(progressQuery, () => progressOf(input, [], input.carried ?? newProgressState(), "running"));
  const plan = await planning.planBackfill(input.dataset, input.start, input.end);
  const settings = settingsFor(input, plan, workflowInfo().workflowId);
  // Set here too, for backfills started without them (e.g. from the Temporal CLI).
  upsertSearchAttributes(searchAttributesOf(input.dataset, `${input.start}..${input.end}`, "backfill"));
  const progress = trackProgress(input, plan);

  const summary = await withStatus(
    async () => {
      do {
        const pending = plan.years.filter((year) => !progress.settled(year));
        await boundedAll(pending, settings.lanes.years, async (year) => {
          // The sliding window's end: when the server suggests it, start no more years, let the
          // running ones finish (their months keep reporting), then continue as new below.
          if (workflowInfo().continueAsNewSuggested) return;
          const outcome = await executePeriod(backfillYearV3, {
            ...childOptions(settings, "year", year.id, `${input.dataset} ${year.id}: ${year.months.length} months`),
            args: [{ ...settingsOf(settings), year, checkpoint: progress.known(year) }],
          });
          progress.record(outcome);
        });
        if (plan.years.some((year) => !progress.settled(year))) {
          await condition(allHandlersFinished);
          await continueAsNew<typeof backfillV3>({ ...input, carried: progress.state });
        }
      } while (progress.retry());
      return summarize(input, plan, progress.state.results, progress.state.files);
    },
    (done) => done.status,
    progress.finish,
  );
  await condition(allHandlersFinished);
  return summary;
}
