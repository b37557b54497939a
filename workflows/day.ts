import { getExternalWorkflowHandle, isCancellation, setCurrentDetails } from "@temporalio/workflow";
import {
  batches,
  existing,
  extractionLanes,
  noFileCounts,
  noFiles,
  outputResult,
  statusOf,
  type ExtractSummary,
  type FileCounts,
  type PeriodResult,
} from "../lib/backfill/model/index.js";
import { boundedAll } from "../lib/concurrency.js";
import { steps } from "./activities.js";
import { describeFailure, recordFailure } from "./failures.js";
import { dayReportSignal } from "./messages.js";
import { withStatus } from "./options.js";
import type { DayInput, DayReport, PeriodOutcome } from "./types.js";

interface DayDone {
  result: PeriodResult;
  files: FileCounts;
}

/**
 * One day: skip it if its output exists; list its files; extract them (at most maxConcurrentFiles
 * at once, filesPerActivity per activity, each retried on its own); combine them into the day's
 * reference file, written once.
 */
export async function backfillDayV2(input: DayInput): Promise<PeriodOutcome> {
  const { day } = input;
  // Progress goes to the backfill that started us; if it is gone, the day's work still counts.
  const report = async (message: DayReport): Promise<void> => {
    if (input.reportTo) await getExternalWorkflowHandle(input.reportTo).signal(dayReportSignal, message).catch(() => undefined);
  };
  return withStatus(
    async () => {
      let done: DayDone;
      try {
        done = await runDay(input, report);
      } catch (error) {
        // Failing fast: the backfill still hears how the day ended (a cancelled one is not a result).
        if (input.failFast && !isCancellation(error)) await report({ day, stage: "done", files: 0, result: describeFailure(error) });
        done = { result: recordFailure(error, input.failFast), files: noFileCounts() };
      }
      await report({ day, stage: "done", files: done.files.listed, result: done.result });
      return { results: { [day]: done.result }, files: done.files };
    },
    (outcome) => statusOf([outcome.results[day]]),
  );
}

async function runDay(input: DayInput, report: (message: DayReport) => Promise<void>): Promise<DayDone> {
  const { dataset, day } = input;
  const found = await steps.findPeriodOutput(dataset, day);
  if (found !== null) return { result: existing(found), files: noFileCounts() };

  const sources = await steps.listDaySources(dataset, day);
  await report({ day, stage: "listed", files: sources.length });
  if (sources.length === 0) return { result: noFiles(), files: noFileCounts() };
  setCurrentDetails(`${sources.length} files`);

  const lanes = extractionLanes(input.maxConcurrentFiles, input.filesPerActivity);
  let extractedSoFar = 0;
  const perBatch = await boundedAll(batches(sources, input.filesPerActivity), lanes.activities, async (batch): Promise<ExtractSummary[]> => {
    const summaries = batch.length === 1 ? [await steps.extractFile(dataset, day, batch[0]!)] : await steps.extractFiles(dataset, day, batch, lanes.filesAtOnce);
    extractedSoFar += batch.length;
    setCurrentDetails(`${extractedSoFar}/${sources.length} files extracted`);
    return summaries;
  });
  const extracted = perBatch.flat();
  const reused = extracted.filter((e) => e.reused).length;
  const combined = await steps.aggregateDay(dataset, day, extracted.map((e) => e.staged));
  return { result: outputResult(combined), files: { listed: sources.length, extracted: extracted.length - reused, reused } };
}
