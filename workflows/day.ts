import { setCurrentDetails } from "@temporalio/workflow";
import { extractionPlan, noFileCounts, outputRules, runDaySteps, statusOf, type ExtractSummary, type FileCounts, type PeriodResult } from "../lib/backfill/model/index.js";
import { boundedAll } from "../lib/concurrency.js";
import { steps } from "./activities.js";
import { recordFailure } from "./failures.js";
import { withStatus } from "./options.js";
import type { DayInput, DayOutcome } from "./types.js";

/**
 * One day: done already if its output exists; else list its files, extract them (at most
 * maxConcurrentFiles at once, spread over a few activities, each file staged as it finishes) and
 * combine them into the day's reference file, written once (with Icechunk output: return the staged
 * references, which the month commits in calendar order). The lookup, the listing and the
 * combine are local activities; the extractions are regular ones, retried each on its own. The day
 * tells its month how it ended (its result); the month reports to the backfill.
 */
export async function backfillDayV3(input: DayInput): Promise<DayOutcome> {
  const files: FileCounts = noFileCounts();
  return withStatus(
    async () => {
      try {
        return { ...(await runDay(input, files)), files };
      } catch (error) {
        // Failing fast (or cancelled): rethrown. Otherwise the failure is the day's result, and the
        // files it listed still count.
        return { result: recordFailure(error, input.failFast), files };
      }
    },
    (outcome) => ("result" in outcome ? statusOf([outcome.result]) : "completed"),
  );
}

async function runDay(input: DayInput, files: FileCounts): Promise<{ result: PeriodResult } | { staged: string[] }> {
  const { dataset, day } = input;
  return runDaySteps(
    {
      // Listed already by the month's batch of small days (its output was not there then): not again.
      survey: () => (input.sources ? Promise.resolve({ sources: input.sources }) : steps.surveyDay(dataset, day)),
      extract: async (sources) => {
        const plan = extractionPlan(sources, input.maxConcurrentFiles, input.filesPerActivity);
        let extractedSoFar = 0;
        const perBatch = await boundedAll(plan.batches, plan.activities, async (batch): Promise<ExtractSummary[]> => {
          const summaries = batch.length === 1 ? [await steps.extractFile(dataset, day, batch[0]!)] : await steps.extractFiles(dataset, day, batch, plan.filesAtOnce);
          extractedSoFar += batch.length;
          setCurrentDetails(`${extractedSoFar}/${sources.length} files extracted`);
          return summaries;
        });
        return perBatch.flat();
      },
      write: (staged) => steps.aggregateDay(dataset, day, staged),
    },
    // An Icechunk store takes days in calendar order: the month commits this one when its turn comes.
    { handBackStaged: outputRules(input.format).calendarOrder, listed: (count) => setCurrentDetails(`${count} files`) },
    files,
  );
}
