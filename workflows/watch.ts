import { CancellationScope, condition, log, sleep } from "@temporalio/workflow";
import { closedAs, closedFailure, type FailedResult, type ProgressState } from "../lib/backfill/model/index.js";
import { watching } from "./activities.js";

/**
 * The patch that brought the watch into `backfillV3`: a backfill whose history was recorded before
 * it replays, and goes on, as it started (a year that never reports is then waited for as before).
 */
export const WATCH_PATCH = "backfill-watches-years";

/** How often the backfill looks at the years it is waiting for, and how soon it looks again at one seen closed. */
export const WATCH_INTERVAL_MS = 15_000;
export const SECOND_LOOK_MS = 2_000;

/**
 * Years are children that outlive the run that started them and tell the backfill how they ended
 * in a last report (workflows/window.ts). A year that an operator terminated, or that timed out,
 * sends none, and the backfill would wait for it forever. So the backfill watches: every
 * WATCH_INTERVAL_MS, while it waits for years, one local activity asks the server which of them
 * have closed. A year seen closed twice, SECOND_LOOK_MS apart, with its last report still not in
 * is taken as ended with that status (`closedFailure`: `ERROR(Terminated)` ...), and the backfill
 * settles it from its outputs. The second look is for a year that ended normally: its last report
 * was recorded before it closed, so it is in by the second look, which runs in a later workflow task.
 * So a year that ended without a word is known within about WATCH_INTERVAL_MS + SECOND_LOOK_MS (17 s).
 *
 * Returns a scope to cancel when the backfill stops waiting; the backfill's own cancellation does
 * not stop it (it watches the years a cancelled backfill waits for).
 */
export function watchYears(state: ProgressState, closedWithoutReport: (year: string, failure: FailedResult) => void): CancellationScope {
  const scope = new CancellationScope({ cancellable: false });
  scope
    .run(async () => {
      let seenClosed = new Set<string>();
      for (;;) {
        await condition(() => Object.keys(state.yearsRunning).length > 0);
        await sleep(seenClosed.size > 0 ? SECOND_LOOK_MS : WATCH_INTERVAL_MS);
        const ids = Object.values(state.yearsRunning);
        if (ids.length === 0) continue;
        let closed: Record<string, string>;
        try {
          closed = await watching.closedWorkflows(ids);
        } catch (error) {
          log.warn("the backfill could not look at its years; it looks again later", { error: String(error) });
          continue;
        }
        const seen = new Set<string>();
        for (const [year, workflowId] of Object.entries(state.yearsRunning)) {
          const how = closedAs(closed[workflowId] ?? "RUNNING");
          if (how === undefined) continue;
          if (seenClosed.has(year)) closedWithoutReport(year, closedFailure(workflowId, how));
          else seen.add(year);
        }
        seenClosed = seen;
      }
    })
    .catch(() => undefined); // cancelled when the backfill stops waiting
  return scope;
}
