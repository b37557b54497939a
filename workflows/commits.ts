import { blockedBy, firstFailedDay, outputResult, type FileCounts, type PeriodResult, type PeriodResults } from "../lib/backfill/model/index.js";
import { steps } from "./activities.js";
import { describeFailure, isOwnCancellation, recordFailure } from "./failures.js";
import type { monthReports } from "./reports.js";
import type { PeriodSettings } from "./types.js";

/**
 * A month's commits to its Icechunk store, in calendar order although its days finish in any
 * order: each finished day's staged references wait here, and the contiguous prefix of finished
 * days is committed day by day (a `commit <day>` activity each, its snapshot in the day's result),
 * skipping days without files. A failed day (or a failed commit) stops the commits there; `finish`
 * gives the days staged behind it their result ("BlockedByEarlierDay"). One commit runs at a time.
 */
export function calendarCommits(settings: PeriodSettings, days: readonly string[], results: PeriodResults, reports: ReturnType<typeof monthReports>) {
  const waiting = new Map<string, { staged: string[]; files: FileCounts }>();
  let chain: Promise<void> = Promise.resolve();

  const commitReady = async (): Promise<void> => {
    for (const day of days) {
      const known = results[day];
      if (known !== undefined) {
        if (known.outcome === "failed") return; // the days after it wait for a re-run
        continue; // committed, in the store already, or without files
      }
      const ready = waiting.get(day);
      if (!ready) return; // still running: the prefix ends here
      let result: PeriodResult;
      try {
        result = outputResult(await steps.commitDay(settings.dataset, day, ready.staged));
      } catch (error) {
        if (!isOwnCancellation(error)) reports.ended(day, describeFailure(error), ready.files);
        result = recordFailure(error, settings.failFast);
        waiting.delete(day);
        results[day] = result;
        return;
      }
      waiting.delete(day);
      results[day] = result;
      reports.ended(day, result, ready.files);
    }
  };
  /** Commit what is ready now, after whatever commit is running (a failure surfaces in `finish`). */
  const advance = (): void => {
    chain = chain.then(commitReady);
    chain.catch(() => undefined);
  };

  return {
    /** A day finished extracting: it is committed when every earlier day is settled. */
    staged(day: string, staged: string[], files: FileCounts): void {
      waiting.set(day, { staged, files });
      advance();
    },
    /** A day ended otherwise (no files, failed): later days may be ready now, or blocked. */
    ended: advance,
    /** Wait for the commits; days still staged are behind a failed day. */
    async finish(): Promise<void> {
      advance();
      await chain;
      const blocker = firstFailedDay(days, results);
      for (const [day, { files }] of waiting) {
        const result = blockedBy(blocker ?? day);
        results[day] = result;
        reports.ended(day, result, files);
      }
      waiting.clear();
    },
  };
}
