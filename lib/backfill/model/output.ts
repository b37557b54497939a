import type { Aggregation, OutputFormat } from "./plan.js";

/**
 * What a dataset's output format means for the backfill, decided here and nowhere else: the
 * workflows (this folder is in their bundle), `backfillDirect`, the steps and the activities all
 * ask `outputRules(format)` (lib/backfill/output.ts picks the writer the same way) instead of
 * comparing the format with a name.
 */
export interface OutputRules {
  /**
   * Days go into one store in calendar order (Icechunk): a day's files are staged and its month
   * commits them when every earlier day is settled; a failed day blocks the later ones; years,
   * months and the days' commits go one at a time; a day's output is found per year, not per day.
   * Otherwise (reference files) every day writes its own output, in any order.
   */
  calendarOrder: boolean;
  /** The output is one Icechunk repository (read with Icechunk), not reference files. */
  store: boolean;
  /** The plan's aggregation for a dataset's: a store tags every month and year ("year"). */
  aggregation(dataset: Aggregation): Aggregation;
}

const rules: Record<OutputFormat, OutputRules> = {
  kerchunk: { calendarOrder: false, store: false, aggregation: (dataset) => dataset },
  icechunk: { calendarOrder: true, store: true, aggregation: () => "year" },
};

export const outputRules = (format: OutputFormat): OutputRules => rules[format];
