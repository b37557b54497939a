import { DateTime } from "luxon";
import { ConfigError } from "../errors.js";

/** A calendar period by level: "2022", "2022-01", "2022-01-13". Always UTC. */
export type PeriodLevel = "year" | "month" | "day";

export interface Period {
  level: PeriodLevel;
  /** "2022", "2022-01" or "2022-01-13". */
  id: string;
  year: number;
  month?: number;
  day?: number;
}

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Parse a "YYYY-MM-DD" date (UTC); the setting name goes into the error. */
export function parseDay(text: string, setting: string): DateTime {
  if (!ISO_DAY.test(text)) throw new ConfigError(setting, `expected a date like 2022-01-13, got '${text}'`);
  const day = DateTime.fromISO(text, { zone: "utc" });
  if (!day.isValid) throw new ConfigError(setting, `'${text}' is not a calendar date (${day.invalidExplanation ?? day.invalidReason})`);
  return day;
}

export function dayPeriod(date: DateTime): Period {
  return { level: "day", id: date.toFormat("yyyy-MM-dd"), year: date.year, month: date.month, day: date.day };
}

export function monthPeriod(year: number, month: number): Period {
  return { level: "month", id: `${year}-${String(month).padStart(2, "0")}`, year, month };
}

export function yearPeriod(year: number): Period {
  return { level: "year", id: String(year), year };
}

/** Parse a period id back ("2022", "2022-01", "2022-01-13"). */
export function parsePeriod(id: string): Period {
  if (/^\d{4}$/.test(id)) return yearPeriod(Number(id));
  const month = /^(\d{4})-(\d{2})$/.exec(id);
  if (month) {
    const m = Number(month[2]);
    if (m < 1 || m > 12) throw new ConfigError("period", `'${id}' has no month ${m}`);
    return monthPeriod(Number(month[1]), m);
  }
  return dayPeriod(parseDay(id, "period"));
}

/** The inclusive day range of a request, validated. */
export interface DayRange {
  start: DateTime;
  end: DateTime;
}

export function dayRange(start: string, end: string): DayRange {
  const first = parseDay(start, "start");
  const last = parseDay(end, "end");
  if (last < first) throw new ConfigError("end", `end ${end} is before start ${start}`);
  return { start: first, end: last };
}

/** Days of `range` (inclusive) that fall in `period` (a year or a month), in order. */
export function daysIn(period: Period, range: DayRange): Period[] {
  const from = DateTime.utc(period.year, period.month ?? 1, 1);
  const to = period.level === "year" ? from.endOf("year") : from.endOf("month");
  const first = range.start > from ? range.start : from;
  const last = range.end < to ? range.end : to;
  const days: Period[] = [];
  for (let d = first.startOf("day"); d <= last; d = d.plus({ days: 1 })) days.push(dayPeriod(d));
  return days;
}

/** Months of `range` within `year` (partial months at the range ends included). */
export function monthsIn(year: number, range: DayRange): Period[] {
  const months: Period[] = [];
  for (let month = 1; month <= 12; month++) {
    const start = DateTime.utc(year, month, 1);
    if (start.endOf("month") >= range.start && start <= range.end) months.push(monthPeriod(year, month));
  }
  return months;
}

export function yearsIn(range: DayRange): Period[] {
  const years: Period[] = [];
  for (let year = range.start.year; year <= range.end.year; year++) years.push(yearPeriod(year));
  return years;
}

/** True when the range covers the whole period (so a rollup of it is complete). */
export function coversWhole(period: Period, range: DayRange): boolean {
  const from = DateTime.utc(period.year, period.month ?? 1, 1);
  const to = (period.level === "year" ? from.endOf("year") : period.level === "month" ? from.endOf("month") : from.endOf("day")).startOf("day");
  return range.start <= from && range.end >= to;
}
