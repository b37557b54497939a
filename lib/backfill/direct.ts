import { coversWhole, dayRange, daysIn, monthsIn, yearsIn } from "../calendar/periods.js";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { openStorage } from "../datasets/spec.js";
import { boundedAll } from "../concurrency.js";
import { aggregatePeriod } from "./aggregate.js";
import { extractToStaging } from "./extract.js";
import { outputKey } from "./names.js";
import { listDaySources } from "./sources.js";

/**
 * The same backfill without Temporal: day by day, files `concurrency` at a time, then rollups.
 * What the workflows must reproduce byte for byte, and the baseline for their overhead.
 */
export async function backfillDirect(
  spec: ResolvedDatasetSpec,
  start: string,
  end: string,
  concurrency = 4,
): Promise<Record<string, string>> {
  const range = dayRange(start, end);
  const results: Record<string, string> = {};
  const output = openStorage(spec.output.storage);
  // Same rule as the workflows: days without files are gaps, any other failure blocks the rollup.
  const rollup = async (period: string, children: string[]): Promise<void> => {
    const present = children.filter((c) => results[c] !== "ERROR(NOFILES)");
    if (present.length === 0 || present.some((c) => results[c] === undefined || results[c]!.startsWith("ERROR("))) return;
    const summary = await aggregatePeriod(spec, period, present.map((c) => outputKey(spec, c)));
    results[period] = summary.existing ? "existing" : summary.output;
  };
  try {
    for (const year of yearsIn(range)) {
      const months = monthsIn(year.year, range);
      for (const month of months) {
        const days = daysIn(month, range);
        for (const day of days) {
          if (await output.exists(outputKey(spec, day.id))) {
            results[day.id] = "existing";
            continue;
          }
          const sources = await listDaySources(spec, day.id);
          if (sources.length === 0) {
            results[day.id] = "ERROR(NOFILES)";
            continue;
          }
          try {
            const staged = (await boundedAll(sources, concurrency, (source) => extractToStaging(spec, day.id, source.key))).map((s) => s.staged);
            const summary = await aggregatePeriod(spec, day.id, staged, { removeInputs: true });
            results[day.id] = summary.existing ? "existing" : summary.output;
          } catch (error) {
            const e = error as { kind?: string; name?: string; message?: string };
            results[day.id] = `ERROR(${e.kind ?? e.name ?? "Error"}): ${e.message}`;
          }
        }
        if (spec.aggregation !== "day" && coversWhole(month, range)) await rollup(month.id, days.map((d) => d.id));
      }
      if (spec.aggregation === "year" && coversWhole(year, range)) await rollup(year.id, months.map((m) => m.id));
    }
    return results;
  } finally {
    await output.close();
  }
}
