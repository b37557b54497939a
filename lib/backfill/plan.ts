import { coversWhole, dayRange, daysIn, monthsIn, yearsIn } from "../calendar/periods.js";
import type { Aggregation, BackfillPlan } from "./model/plan.js";

/**
 * The calendar walk, written once: the years, months and days of an inclusive range (UTC), each
 * period flagged when the range covers it whole. Bad dates fail here with a ConfigError naming
 * `start` or `end`.
 */
export function planBackfill(dataset: string, aggregation: Aggregation, start: string, end: string): BackfillPlan {
  const range = dayRange(start, end);
  return {
    dataset,
    aggregation,
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
