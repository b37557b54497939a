import { allHandlersFinished, ChildWorkflowFailure, condition, executeChild, patched, setHandler, upsertSearchAttributes, workflowInfo } from "@temporalio/workflow";
import { boundedSummary, newProgressState, progressOf, summarize } from "../lib/backfill/model/index.js";
import { planning } from "./activities.js";
import { censusOptions, censusV1 } from "./census.js";
import { describeFailure } from "./failures.js";
import { progressQuery } from "./messages.js";
import { settingsFor, withStatus } from "./options.js";
import { trackProgress } from "./progress.js";
import { searchAttributesOf } from "./searchAttributes.js";
import type { BackfillInput, BackfillResult } from "./types.js";
import { WATCH_PATCH } from "./watch.js";
import { runYears } from "./window.js";

/**
 * A backfill over a date range: one child per year (months, then days, below it), side by side as
 * maxConcurrentDays allows (workflows/window.ts), the results per period like the seed notebook's.
 * Started from the Temporal CLI:
 *   temporal workflow start --task-queue temporal-kerchunk --type backfillV3 \
 *     --input '{"dataset":"himawari8-sst","start":"2022-01-01","end":"2022-01-31"}'
 */
export async function backfillV3(input: BackfillInput): Promise<BackfillResult> {
  // Answered from the start; nothing is known until the plan is made.
  setHandler(progressQuery, () => progressOf(input, [], input.carried ?? newProgressState(), "running"));
  // Asked first, before any activity: a patch's marker is known on replay only in the workflow
  // task that recorded it, and the planning local activity's result can arrive in the task that
  // started it on replay and in a later one when it ran (a replay then found no patch: seen).
  const watchesYears = patched(WATCH_PATCH);
  const plan = await planning.planBackfill(input.dataset, input.start, input.end);
  const settings = settingsFor(input, plan, workflowInfo().workflowId);
  // Set here too, for backfills started without them (e.g. from the Temporal CLI).
  upsertSearchAttributes(searchAttributesOf(input.dataset, `${input.start}..${input.end}`, "backfill"));
  const progress = trackProgress(input, plan, watchesYears);

  const summary = await withStatus(
    async () => {
      do await runYears(input, plan, settings, progress);
      while (progress.retry());
      const summary = summarize(input, plan, progress.state.results, progress.state.files);
      // A long range's summary would pass Temporal's payload limit, which terminates the workflow.
      return boundedSummary(input.census ? { ...summary, census: await censusOfRange(input) } : summary);
    },
    (done) => done.status,
    progress.finish,
  );
  await condition(allHandlersFinished);
  return summary;
}

/**
 * The census a backfill was asked for, as its child (id `<backfill id>/census`): after the days,
 * so it reads their outputs. Its failure (a file it cannot read) is reported, not thrown: the
 * days written stay written and the backfill's status is theirs.
 */
async function censusOfRange(input: BackfillInput): Promise<BackfillResult["census"]> {
  const asked = typeof input.census === "object" ? input.census : {};
  const options = censusOptions({ dataset: input.dataset, start: input.start, end: input.end, ...asked }, `${workflowInfo().workflowId}/census`);
  try {
    return await executeChild(censusV1, options);
  } catch (error) {
    if (!(error instanceof ChildWorkflowFailure)) throw error;
    const { kind, message } = describeFailure(error.cause ?? error);
    return { error: `census ${options.workflowId} failed: ${kind}: ${message}` };
  }
}
