/**
 * CF time coordinates ("<unit> since <epoch>" in a calendar), enough to tell whether two files
 * encode time the same way and to re-encode values from one to the other, as kerchunk's `cf:`
 * selector does with cftime (num2date in the file's units, date2num in the first file's).
 */

const unitSeconds: Record<string, number> = {
  microseconds: 1e-6, microsecond: 1e-6, us: 1e-6,
  milliseconds: 1e-3, millisecond: 1e-3, msec: 1e-3, msecs: 1e-3, ms: 1e-3,
  seconds: 1, second: 1, secs: 1, sec: 1, s: 1,
  minutes: 60, minute: 60, mins: 60, min: 60,
  hours: 3600, hour: 3600, hrs: 3600, hr: 3600, h: 3600,
  days: 86400, day: 86400, d: 86400,
  weeks: 604800, week: 604800,
};

/** Calendar names as CF spells them, reduced to the arithmetic they mean. */
type CalendarKind = "standard" | "proleptic_gregorian" | "julian" | "noleap" | "all_leap" | "360_day";

const calendarKinds: Record<string, CalendarKind> = {
  standard: "standard", gregorian: "standard",
  proleptic_gregorian: "proleptic_gregorian",
  julian: "julian",
  noleap: "noleap", "365_day": "noleap",
  all_leap: "all_leap", "366_day": "all_leap",
  "360_day": "360_day",
};

/** The calendar a `calendar` attribute names ("Gregorian" and "standard" are one), as written when it names none CF knows. */
export function calendarKindOf(attribute: unknown): string {
  const name = typeof attribute === "string" ? attribute.trim().toLowerCase() : "standard";
  return calendarKinds[name] ?? name;
}

/** A parsed `units`/`calendar` pair. */
export interface CfTimeUnits {
  /** As written in the file, for messages. */
  text: string;
  calendar: CalendarKind;
  /** Seconds per unit. */
  unit: number;
  /** The epoch in seconds from the calendar's day 0 (UTC). */
  epoch: number;
  /** The epoch is on or after 1582-10-15, where "standard" and "proleptic_gregorian" agree. */
  modernEpoch: boolean;
}

/** True when `units` is a CF time unit ("... since ..."). */
export const isTimeUnits = (units: unknown): units is string => typeof units === "string" && / since /i.test(units);

/** Days from 0000-03-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil). */
function gregorianDays(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe;
}

function julianDays(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return yy * 365 + Math.floor(yy / 4) + doy;
}

const cumulativeDays = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

function calendarDays(calendar: CalendarKind, y: number, m: number, d: number): number {
  switch (calendar) {
    case "standard":
    case "proleptic_gregorian":
      return gregorianDays(y, m, d);
    case "julian":
      return julianDays(y, m, d);
    case "noleap":
      return y * 365 + cumulativeDays[m - 1]! + d - 1;
    case "all_leap":
      return y * 366 + cumulativeDays[m - 1]! + (m > 2 ? 1 : 0) + d - 1;
    case "360_day":
      return y * 360 + (m - 1) * 30 + d - 1;
  }
}

/** Parse CF time units; returns a reason string when they cannot be used. */
export function parseCfTimeUnits(units: string, calendarAttribute: unknown): CfTimeUnits | string {
  const calendarName = typeof calendarAttribute === "string" ? calendarAttribute.trim().toLowerCase() : "standard";
  const calendar = calendarKinds[calendarName];
  if (!calendar) return `calendar '${String(calendarAttribute)}' is not a CF calendar`;
  const match =
    /^\s*(\w+)\s+since\s+(-?\d{1,5})-(\d{1,2})-(\d{1,2})(?:[T\s]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}(?:\.\d*)?))?)?\s*(Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?\s*$/i.exec(
      units,
    );
  if (!match) return `units '${units}' are not '<unit> since <date>'`;
  const unit = unitSeconds[match[1]!.toLowerCase()];
  if (unit === undefined) return `unit '${match[1]}' has no fixed length (CF time units are days, hours, minutes, seconds...)`;
  const [y, mo, d] = [Number(match[2]), Number(match[3]), Number(match[4])];
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return `units '${units}' have an invalid date`;
  const secondsOfDay = Number(match[5] ?? 0) * 3600 + Number(match[6] ?? 0) * 60 + Number(match[7] ?? 0);
  let offset = 0;
  const zone = match[8];
  if (zone && /^[+-]/.test(zone)) {
    const z = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(zone)!;
    offset = (z[1] === "-" ? -1 : 1) * (Number(z[2]) * 3600 + Number(z[3] ?? 0) * 60);
  }
  return {
    text: units,
    calendar,
    unit,
    epoch: calendarDays(calendar, y, mo, d) * 86400 + secondsOfDay - offset,
    modernEpoch: y > 1582 || (y === 1582 && (mo > 10 || (mo === 10 && d >= 15))),
  };
}

/**
 * Whether values in `from` can be re-encoded into `to`: same calendar arithmetic. "standard"
 * (mixed Julian/Gregorian) and "proleptic_gregorian" agree only when both epochs are after the
 * 1582 switch (values before an epoch are not checked: Himawari-era data is not near it).
 */
export function sameCalendar(from: CfTimeUnits, to: CfTimeUnits): boolean {
  if (from.calendar === to.calendar) return true;
  const gregorian = (c: CalendarKind): boolean => c === "standard" || c === "proleptic_gregorian";
  return gregorian(from.calendar) && gregorian(to.calendar) && from.modernEpoch && to.modernEpoch;
}

/** Same calendar, unit and epoch: values mean the same without conversion. */
export function sameEncoding(a: CfTimeUnits, b: CfTimeUnits): boolean {
  return sameCalendar(a, b) && a.unit === b.unit && a.epoch === b.epoch;
}

/**
 * A value in `from` re-encoded into `to`. Whole seconds are exact in float64 over any realistic
 * range, so integer results stay integers.
 */
export function reencodeTime(value: number, from: CfTimeUnits, to: CfTimeUnits): number {
  const seconds = value * from.unit + (from.epoch - to.epoch);
  const result = seconds / to.unit;
  // Undo float noise from sub-second units (1e-3 is not exact in binary).
  const rounded = Math.round(result);
  return Math.abs(result - rounded) <= 1e-9 * Math.max(1, Math.abs(result)) ? rounded : result;
}
