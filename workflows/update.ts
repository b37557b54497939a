import { executeChild } from "@temporalio/workflow";
import { backfillV3 } from "./backfill.js";
import { backfillOptions } from "./options.js";
import type { BackfillSummary } from "./types.js";

export interface UpdateInput {
  dataset: string;
  /** Hours after midnight UTC before a day is taken as complete (the archive's delivery lag). Default 3. */
  lagHours?: number;
  /** Also re-check this many days before the current month (a late file, a failed day). Default 0. */
  lookbackDays?: number;
}

const DAY = 86_400_000;
const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * What a Temporal Schedule runs to keep a dataset current: backfill the current month up to the
 * last complete day. Days already built are skipped by their outputs, so each run only builds the
 * new day(s); a month (and year) rollup is built by the run that completes its period.
 * Workflow time (not the machine clock) decides what "today" is, so replays agree.
 * Its name stays `updateDataset` (schedules name it); it keeps no state of its own.
 */
export async function updateDataset(input: UpdateInput): Promise<BackfillSummary | { upToDate: string }> {
  const now = Date.now();
  const lastComplete = isoDay(now - (input.lagHours ?? 3) * 3_600_000 - DAY);
  const monthStart = `${lastComplete.slice(0, 8)}01`;
  const start = isoDay(Date.parse(`${monthStart}T00:00:00Z`) - (input.lookbackDays ?? 0) * DAY);
  if (start > lastComplete) return { upToDate: lastComplete };
  const request = { dataset: input.dataset, start, end: lastComplete };
  return executeChild(backfillV3, {
    ...backfillOptions(request, `${input.dataset}/update/${lastComplete}`),
    staticSummary: `update ${input.dataset} to ${lastComplete}`,
  });
}
