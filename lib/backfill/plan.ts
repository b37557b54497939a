import { coversWhole, dayRange, daysIn, monthsIn, yearsIn } from "../calendar/periods.js";
import { outputRules } from "./model/output.js";
import type { Aggregation, BackfillPlan, OutputFormat } from "./model/plan.js";

/**
 * The calendar walk, written once: the years, months and days of an inclusive range (UTC), each
 * period flagged when the range covers it whole. Bad dates fail here with a ConfigError naming
 * `start` or `end`. With Icechunk output every month and year gets a result of its own, its tag
 * (the store's "rollup": made by the same rule, once its days are all settled), so the plan's
 * aggregation is "year" whatever the dataset's (which must be "day" for a store).
 */
export function planBackfill(dataset: string, aggregation: Aggregation, start: string, end: string, format: OutputFormat = "kerchunk"): BackfillPlan {
  const range = dayRange(start, end);
  return {
    dataset,
    aggregation: outputRules(format).aggregation(aggregation),
    format,
    years: yearsIn(range).map((year) => ({
      id: year.id,
      whole: coversWhole(year, range),
      months: monthsIn(year.year, range).map((month) => ({
        id: month.id,
        whole: coversWhole(month, range),
        days: daysIn(month, range).map((day) => day.id),
      })),
    })),
  };
}
