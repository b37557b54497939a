import { boundedAll } from "../concurrency.js";
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { aggregatePeriod } from "./aggregate.js";
import { extractToStaging } from "./extract.js";
import {
  addFileCounts,
  existing,
  failureOf,
  noFileCounts,
  noFiles,
  outputResult,
  rollsUp,
  rollupRule,
  summarize,
  type BackfillSummary,
  type FileCounts,
  type PeriodResult,
  type PeriodResults,
} from "./model/index.js";
import { outputKey } from "./names.js";
import { planBackfill } from "./plan.js";
import { listDaySources } from "./sources.js";

/**
 * The same backfill without Temporal, by the same plan and rules (lib/backfill/model): day by day,
 * files `concurrency` at a time, then the rollups. The workflows must give the same results and
 * write the same bytes (test/backfill.test.ts); it is also the baseline for their overhead.
 */
export async function backfillDirect(spec: ResolvedDatasetSpec, start: string, end: string, concurrency = 4): Promise<BackfillSummary> {
  const plan = planBackfill(spec.name, spec.aggregation, start, end);
  const results: PeriodResults = {};
  let files = noFileCounts();
  const output = openStorage(spec.output.storage);

  const runDay = async (day: string): Promise<{ result: PeriodResult; files: FileCounts }> => {
    const key = outputKey(spec, day);
    if (await output.exists(key)) return { result: existing(output.url(key)), files: noFileCounts() };
    const sources = await listDaySources(spec, day);
    if (sources.length === 0) return { result: noFiles(), files: noFileCounts() };
    const extracted = await boundedAll(sources, concurrency, (source) => extractToStaging(spec, day, source.key));
    const reused = extracted.filter((e) => e.reused).length;
    const summary = await aggregatePeriod(spec, day, extracted.map((e) => e.staged), { removeInputs: true });
    return { result: outputResult(summary), files: { listed: sources.length, extracted: extracted.length - reused, reused } };
  };
  const rollup = async (period: string, whole: boolean, children: string[]): Promise<PeriodResult> => {
    const decision = rollupRule(whole, children, results);
    if ("result" in decision) return decision.result;
    return outputResult(await aggregatePeriod(spec, period, decision.build.map((child) => outputKey(spec, child))));
  };
  // Failures are recorded per period, as the workflows record them (without failFast).
  const record = async (period: string, work: () => Promise<PeriodResult>): Promise<void> => {
    results[period] = await work().catch(failureOf);
  };

  try {
    for (const year of plan.years) {
      for (const month of year.months) {
        for (const day of month.days) {
          await record(day, async () => {
            const done = await runDay(day);
            files = addFileCounts(files, done.files);
            return done.result;
          });
        }
        if (rollsUp(plan.aggregation, "month")) await record(month.id, () => rollup(month.id, month.whole, month.days));
      }
      if (rollsUp(plan.aggregation, "year")) await record(year.id, () => rollup(year.id, year.whole, year.months.map((m) => m.id)));
    }
    return summarize({ dataset: spec.name, start, end }, plan, results, files);
  } finally {
    await output.close();
  }
}
