import { getExternalWorkflowHandle, sleep } from "@temporalio/workflow";
import { addFileCounts, noFileCounts, type FileCounts, type PeriodReport, type PeriodResult, type PeriodResults } from "../lib/backfill/model/index.js";
import { reportSignal } from "./messages.js";

/**
 * How often a month may tell its backfill what changed. A signal per day (two, before) made days
 * the size of the backfill's history; sampled, that history grows with the months running and the
 * time they take, and the `progress` query is never more than this behind.
 */
export const REPORT_INTERVAL_MS = 5_000;

/** Send one report to the backfill, if there is one; a backfill that has gone (terminated) is no reason to fail. */
export async function sendReport(reportTo: string | undefined, report: PeriodReport): Promise<void> {
  if (reportTo) await getExternalWorkflowHandle(reportTo).signal(reportSignal, report).catch(() => undefined);
}

/**
 * A month's reports to its backfill: the first change is sent at once (the days it started), later
 * ones at most every REPORT_INTERVAL_MS (a timer sends what waited, so nothing waits longer), and
 * `flush` sends the rest (before the month ends or continues as new: every day's result and files
 * are reported exactly once). Reports go one after another, in order.
 */
export function monthReports(reportTo: string | undefined, period: string) {
  let results: PeriodResults = {};
  let files: FileCounts = noFileCounts();
  const running = new Set<string>();
  let dirty = false;
  let lastSent = Number.NEGATIVE_INFINITY;
  let timer = false;
  let sending: Promise<void> = Promise.resolve();

  const send = (): Promise<void> => {
    if (dirty) {
      const report: PeriodReport = { period, results, files, running: [...running] };
      results = {};
      files = noFileCounts();
      dirty = false;
      lastSent = Date.now();
      sending = sending.then(() => sendReport(reportTo, report));
    }
    return sending;
  };
  const changed = (): void => {
    dirty = true;
    if (!reportTo) return;
    const wait = lastSent + REPORT_INTERVAL_MS - Date.now();
    if (wait <= 0) void send();
    else if (!timer) {
      timer = true;
      sleep(wait).then(
        () => {
          timer = false;
          void send();
        },
        // Cancelled with the month: what waited is sent by the final flush, if there is one.
        () => (timer = false),
      );
    }
  };

  return {
    started(day: string): void {
      running.add(day);
      changed();
    },
    ended(period: string, result: PeriodResult, ended: FileCounts = noFileCounts()): void {
      running.delete(period);
      results[period] = result;
      files = addFileCounts(files, ended);
      changed();
    },
    flush: send,
  };
}
