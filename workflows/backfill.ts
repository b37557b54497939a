import { allHandlersFinished, condition, continueAsNew, setHandler, upsertSearchAttributes, workflowInfo } from "@temporalio/workflow";
import { noFileCounts, progressOf, summarize } from "../lib/backfill/model/index.js";
import { planning } from "./activities.js";
import { progressQuery } from "./messages.js";
import { childOptions, executePeriod, settingsFor, settingsOf, withStatus } from "./options.js";
import { trackProgress } from "./progress.js";
import { searchAttributesOf } from "./searchAttributes.js";
import type { BackfillInput, BackfillSummary } from "./types.js";
import { backfillYearV2 } from "./year.js";

/**
 * A backfill over a date range: one child per year (months, then days, below it), the results per
 * period like the seed notebook's. Started from the Temporal CLI:
 *   temporal workflow start --task-queue temporal-kerchunk --type backfillV2 \
 *     --input '{"dataset":"himawari8-sst","start":"2022-01-01","end":"2022-01-31"}'
 */
export async function backfillV2(input: BackfillInput): Promise<BackfillSummary> {
  // Answered from the start; nothing is known until the plan is made.
  setHandler(progressQuery, () => progressOf(input, [], { results: {}, files: noFileCounts(), listed: {} }, new Set(), "running"));
  const plan = await planning.planBackfill(input.dataset, input.start, input.end);
  const settings = settingsFor(input, plan.aggregation, workflowInfo().workflowId);
  // Set here too, for backfills started without them (e.g. from the Temporal CLI).
  upsertSearchAttributes(searchAttributesOf(input.dataset, `${input.start}..${input.end}`, "backfill"));
  const progress = trackProgress(input, plan);

  const summary = await withStatus(
    async () => {
      do {
        for (const year of plan.years) {
          if (progress.settled(year)) continue;
          if (workflowInfo().continueAsNewSuggested) {
            await condition(allHandlersFinished);
            await continueAsNew<typeof backfillV2>({ ...input, carried: progress.state });
          }
          const outcome = await executePeriod(backfillYearV2, {
            ...childOptions(settings, "year", year.id, `${input.dataset} ${year.id}: ${year.months.length} months`),
            args: [{ ...settingsOf(settings), year, checkpoint: progress.known(year) }],
          });
          progress.record(outcome);
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
