/**
 * Where a day goes on the store's concat axis, which stays strictly increasing (calendar order):
 *  - after the store's last value: appended;
 *  - exactly the values of a run already in the store: the day was committed before (a retried or
 *    overlapping commit), nothing is written;
 *  - anything else before the store's end (a day that would have to be inserted, or one that
 *    partly overlaps what is stored): refused with an IcechunkError, since a Zarr array cannot
 *    grow in the middle.
 * Values are compared in the store's units: a day whose time units differ (another epoch) is
 * re-encoded first, with the same CF arithmetic the combine uses.
 */
import { isTimeUnits, parseCfTimeUnits, reencodeTime, sameCalendar, sameEncoding } from "../model/cfTime.js";
import { fitsInteger } from "../model/zarrMeta.js";
import { IcechunkError } from "../errors.js";
import type { PyJsonValue } from "../json/pyJson.js";
import type { DayReferences } from "./dayRefs.js";
import { numericOfV3, type V3ArrayMetadata } from "./zarrV3.js";

export type Placement = { kind: "append"; offset: number } | { kind: "committed"; offset: number };

interface Context {
  store: string;
  day: string;
}

/** The day's coordinate values in the store coordinate's units and dtype. */
export function valuesInStoreUnits(day: DayReferences, coordinate: V3ArrayMetadata, context: Context): number[] {
  const fail = (problem: string, detail: string): never => {
    throw new IcechunkError(problem, context.store, detail, false, { day: context.day, variable: day.dim });
  };
  const storeAttrs = coordinate.attributes;
  const dayUnits = day.coordinateAttrs.units;
  const storeUnits = storeAttrs.units;
  let values = day.values;
  const timeLike = isTimeUnits(dayUnits) || isTimeUnits(storeUnits);
  if (timeLike && !(isTimeUnits(dayUnits) && isTimeUnits(storeUnits) && dayUnits === storeUnits && same(day.coordinateAttrs.calendar, storeAttrs.calendar))) {
    if (!isTimeUnits(dayUnits) || !isTimeUnits(storeUnits)) fail("mismatched-time-units", `units '${String(dayUnits)}' differ from the store's '${String(storeUnits)}'`);
    const from = parseCfTimeUnits(dayUnits as string, day.coordinateAttrs.calendar);
    const to = parseCfTimeUnits(storeUnits as string, storeAttrs.calendar);
    if (typeof from === "string") return fail("invalid-time-units", from);
    if (typeof to === "string") return fail("invalid-time-units", `the store's ${to}`);
    if (!sameCalendar(from, to)) fail("mismatched-calendar", `calendar '${String(day.coordinateAttrs.calendar ?? "standard")}' differs from the store's '${String(storeAttrs.calendar ?? "standard")}'`);
    if (!sameEncoding(from, to)) values = values.map((v) => reencodeTime(v, from, to));
  }
  const numeric = numericOfV3(coordinate);
  if (numeric && (numeric.kind === "int" || numeric.kind === "uint")) {
    const bad = values.find((v) => !fitsInteger(v, numeric));
    if (bad !== undefined) fail("unrepresentable-coordinate", `value ${bad} (in the store's units) does not fit the store's ${String(coordinate.data_type)} coordinate`);
  }
  return values;
}

function same(a: PyJsonValue | undefined, b: PyJsonValue | undefined): boolean {
  const norm = (v: PyJsonValue | undefined): string => (typeof v === "string" ? v.trim().toLowerCase() : String(v ?? "standard"));
  return norm(a) === norm(b);
}

/** First index of `value` in the sorted `values`, or -1. */
function indexOf(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (values[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return values[low] === value ? low : -1;
}

export function placeDay(stored: readonly number[], values: readonly number[], context: Context & { dim: string }): Placement {
  const fail = (problem: string, detail: string): never => {
    throw new IcechunkError(problem, context.store, detail, false, { day: context.day, variable: context.dim });
  };
  if (values.length === 0) fail("empty-day", "the day has no values along the concat dimension");
  for (let i = 1; i < values.length; i++) if (!(values[i]! > values[i - 1]!)) fail("unordered-day", `values ${values[i - 1]} and ${values[i]} are not increasing`);
  const last = stored[stored.length - 1];
  if (last === undefined || values[0]! > last) return { kind: "append", offset: stored.length };
  const start = indexOf(stored, values[0]!);
  if (start >= 0 && start + values.length <= stored.length && values.every((v, i) => stored[start + i] === v)) return { kind: "committed", offset: start };
  const overlapping = values.filter((v) => indexOf(stored, v) >= 0).length;
  if (overlapping > 0) {
    return fail(
      "partial-overlap",
      `${overlapping} of the day's ${values.length} ${context.dim} values are already in the store and ${values.length - overlapping} are not: ` +
        `the store cannot take the missing ones without rewriting the day (was it committed with fewer files?)`,
    );
  }
  return fail(
    "out-of-order",
    `the day's ${context.dim} values (${values[0]} to ${values[values.length - 1]}) come before the store's last value ${last}: ` +
      `a store grows only at its end, so days must be committed in calendar order`,
  );
}
