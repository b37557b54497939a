import { boundedAll } from "../concurrency.js";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { surveyDay } from "./day.js";
import { extractDayFiles, HeldExtractions } from "./extract.js";
import {
  addFileCounts,
  blockedPeriods,
  firstFailedDay,
  failureOf,
  noFileCounts,
  outputResult,
  rollsUp,
  rollupRule,
  runDaySteps,
  settledByOutputs,
  summarize,
  type BackfillSummary,
  type FileCounts,
  type PeriodResult,
  type PeriodResults,
} from "./model/index.js";
import { outputFor } from "./output.js";
import { planBackfill } from "./plan.js";

/**
 * The same backfill without Temporal, by the same plan and rules (lib/backfill/model): per year,
 * one listing of its outputs settles what is finished; then a month's days (`daysAtOnce` at a
 * time, files `concurrency` at a time in each), then the rollups. The workflows must give the same
 * results and write the same bytes (test/backfill.test.ts); it is also the anchor their overhead is
 * measured against (bench/). With Icechunk output its days go one at a time, each committed after
 * its extraction; a failed day blocks the later ones, as in the workflows.
 */
export async function backfillDirect(spec: ResolvedDatasetSpec, start: string, end: string, concurrency = 4, daysAtOnce = 1): Promise<BackfillSummary> {
  const output = outputFor(spec);
  const inOrder = output.rules.calendarOrder;
  const plan = planBackfill(spec.name, spec.aggregation, start, end, spec.output.format);
  const results: PeriodResults = {};
  let files = noFileCounts();

  // A day's files count once listed, also when the day then fails (as the day workflow counts them).
  // In calendar order (a store) the days go one at a time here, each written after its extraction.
  const runDay = async (day: string, counts: FileCounts): Promise<PeriodResult> => {
    const held = output.rules.dayFromMemory ? new HeldExtractions(spec, day) : undefined;
    try {
      const { result } = await runDaySteps(
        {
          survey: () => surveyDay(spec, day),
          extract: (sources) => extractDayFiles(spec, day, sources, concurrency, { held }),
          write: (staged) => output.writeDay(day, staged, { held }),
        },
        { handBackStaged: false },
        counts,
      );
      return result;
    } catch (error) {
      // The files extracted are staged for the day's next run.
      await held?.stage().catch(() => undefined);
      throw error;
    }
  };
  const rollup = async (period: string, whole: boolean, children: string[]): Promise<PeriodResult> => {
    const decision = rollupRule(whole, children, results);
    if ("result" in decision) return decision.result;
    return outputResult(await output.rollup(period, decision.build));
  };
  // Failures are recorded per period, as the workflows record them (without failFast); a period
  // with a result (settled by the outputs) is not run.
  const record = async (period: string, work: () => Promise<PeriodResult>): Promise<void> => {
    if (results[period] === undefined) results[period] = await work().catch(failureOf);
  };

  const daysSoFar: string[] = [];
  for (const year of plan.years) {
    Object.assign(results, settledByOutputs(year, plan.aggregation, await output.findOutputs(year.id)));
    for (const month of year.months) {
      await boundedAll(month.days, inOrder ? 1 : daysAtOnce, async (day) => {
        const blocker = inOrder ? firstFailedDay(daysSoFar, results) : undefined;
        daysSoFar.push(day);
        if (blocker) return void Object.assign(results, blockedPeriods([day], results, blocker));
        const counts = noFileCounts();
        await record(day, () => runDay(day, counts));
        files = addFileCounts(files, counts);
      });
      if (rollsUp(plan.aggregation, "month")) await record(month.id, () => rollup(month.id, month.whole, month.days));
    }
    if (rollsUp(plan.aggregation, "year")) await record(year.id, () => rollup(year.id, year.whole, year.months.map((m) => m.id)));
  }
  return summarize({ dataset: spec.name, start, end }, plan, results, files);
}
