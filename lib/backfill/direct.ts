import { boundedAll } from "../concurrency.js";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { aggregatePeriod } from "./aggregate.js";
import { commitStagedDay, findStoreOutputs, tagStorePeriod } from "./commit.js";
import { extractToStaging } from "./extract.js";
import {
  addFileCounts,
  blockedPeriods,
  firstFailedDay,
  existing,
  failureOf,
  noFileCounts,
  noFiles,
  outputResult,
  rollsUp,
  rollupRule,
  settledByOutputs,
  summarize,
  type BackfillSummary,
  type FileCounts,
  type PeriodResult,
  type PeriodResults,
} from "./model/index.js";
import { outputKey } from "./names.js";
import { planBackfill } from "./plan.js";
import { findOutputs, surveyDay } from "./sources.js";

/**
 * The same backfill without Temporal, by the same plan and rules (lib/backfill/model): per year,
 * one listing of its outputs settles what is finished; then a month's days (`daysAtOnce` at a
 * time, files `concurrency` at a time in each), then the rollups. The workflows must give the same
 * results and write the same bytes (test/backfill.test.ts); it is also the anchor their overhead is
 * measured against (bench/). With Icechunk output its days go one at a time, each committed after
 * its extraction; a failed day blocks the later ones, as in the workflows.
 */
export async function backfillDirect(spec: ResolvedDatasetSpec, start: string, end: string, concurrency = 4, daysAtOnce = 1): Promise<BackfillSummary> {
  const icechunk = spec.output.format === "icechunk";
  const plan = planBackfill(spec.name, spec.aggregation, start, end, spec.output.format);
  const results: PeriodResults = {};
  let files = noFileCounts();

  // A day's files count once listed, also when the day then fails (as the day workflow counts them).
  // With Icechunk output a day is committed after extraction, in calendar order (one day at a time here).
  const runDay = async (day: string, counts: FileCounts): Promise<PeriodResult> => {
    const survey = await surveyDay(spec, day);
    if ("output" in survey) return existing(survey.output);
    counts.listed = survey.sources.length;
    if (survey.sources.length === 0) return noFiles();
    const extracted = await boundedAll(survey.sources, concurrency, (source) => extractToStaging(spec, day, source));
    counts.reused = extracted.filter((e) => e.reused).length;
    counts.extracted = extracted.length - counts.reused;
    const staged = extracted.map((e) => e.staged);
    if (icechunk) return outputResult(await commitStagedDay(spec, day, staged));
    return outputResult(await aggregatePeriod(spec, day, staged, { removeInputs: true }));
  };
  const rollup = async (period: string, whole: boolean, children: string[]): Promise<PeriodResult> => {
    const decision = rollupRule(whole, children, results);
    if ("result" in decision) return decision.result;
    if (icechunk) return outputResult(await tagStorePeriod(spec, period, decision.build.length));
    return outputResult(await aggregatePeriod(spec, period, decision.build.map((child) => outputKey(spec, child))));
  };
  // Failures are recorded per period, as the workflows record them (without failFast); a period
  // with a result (settled by the outputs) is not run.
  const record = async (period: string, work: () => Promise<PeriodResult>): Promise<void> => {
    if (results[period] === undefined) results[period] = await work().catch(failureOf);
  };

  const daysSoFar: string[] = [];
  for (const year of plan.years) {
    Object.assign(results, settledByOutputs(year, plan.aggregation, await (icechunk ? findStoreOutputs(spec, year.id) : findOutputs(spec, year.id))));
    for (const month of year.months) {
      await boundedAll(month.days, icechunk ? 1 : daysAtOnce, async (day) => {
        const blocker = icechunk ? firstFailedDay(daysSoFar, results) : undefined;
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
