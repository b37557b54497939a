import { allHandlersFinished, condition, patched, setHandler, upsertSearchAttributes, workflowInfo } from "@temporalio/workflow";
import { newProgressState, progressOf, summarize } from "../lib/backfill/model/index.js";
import { planning } from "./activities.js";
import { progressQuery } from "./messages.js";
import { settingsFor, withStatus } from "./options.js";
import { trackProgress } from "./progress.js";
import { searchAttributesOf } from "./searchAttributes.js";
import type { BackfillInput, BackfillSummary } from "./types.js";
import { WATCH_PATCH } from "./watch.js";
import { runYears } from "./window.js";

/**
 * A backfill over a date range: one child per year (months, then days, below it), side by side as
 * maxConcurrentDays allows (workflows/window.ts), the results per period like the seed notebook's.
 * Started from the Temporal CLI:
 *   temporal workflow start --task-queue temporal-kerchunk --type backfillV3 \
 *     --input '{"dataset":"himawari8-sst","start":"2022-01-01","end":"2022-01-31"}'
 */
export async function backfillV3(input: BackfillInput): Promise<BackfillSummary> {
  // Answered from the start; nothing is known until the plan is made.
  setHandler(progressQuery, () => progressOf(input, [], input.carried ?? newProgressState(), "running"));
  // Asked before the first local activity, so its marker is in the first workflow task. Asked first
  // after it (runYears), a replay on another worker (a restart, a query) can see the local
  // activity's result in an earlier task than the one that recorded the marker, answer "not
  // patched" and fail on the marker (nondeterminism): seen on the production-shaped cluster.
  patched(WATCH_PATCH);
  const plan = await planning.planBackfill(input.dataset, input.start, input.end);
  const settings = settingsFor(input, plan, workflowInfo().workflowId);
  // Set here too, for backfills started without them (e.g. from the Temporal CLI).
  upsertSearchAttributes(searchAttributesOf(input.dataset, `${input.start}..${input.end}`, "backfill"));
  const progress = trackProgress(input, plan);

  const summary = await withStatus(
    async () => {
      do await runYears(input, plan, settings, progress);
      while (progress.retry());
      return summarize(input, plan, progress.state.results, progress.state.files);
    },
    (done) => done.status,
    progress.finish,
  );
  await condition(allHandlersFinished);
  return summary;
}
