import type { PeriodResult } from "./result.js";

/** A workflow's status as its `TkStatus` search attribute, its `progress` query and its summary show it. */
export type PeriodStatus = "running" | "completed" | "partial" | "failed";
export type FinalStatus = Exclude<PeriodStatus, "running">;

/**
 * The status of a finished day, month, year or backfill, from the results of every period in it
 * (days and rollups):
 *  - `completed`: nothing failed (days without files and rollups over part of a period are fine);
 *  - `partial`: something failed and something else has an output: re-run (or `retryFailed`) to finish it;
 *  - `failed`: something failed and nothing has an output.
 */
export function statusOf(results: Iterable<PeriodResult | undefined>): FinalStatus {
  let anyFailed = false;
  let anyOutput = false;
  for (const result of results) {
    if (result?.outcome === "failed") anyFailed = true;
    else if (result?.outcome === "written" || result?.outcome === "existing") anyOutput = true;
  }
  return !anyFailed ? "completed" : anyOutput ? "partial" : "failed";
}
