/**
 * Which day of a dataset an object key belongs to, by the dataset's path template: the key is
 * matched against `<root>/<template><extension>` with the date tokens captured, and the day they
 * name is confirmed by the same glob a day's listing uses (`daySourceGlob`), so an event is taken
 * exactly when the backfill's listing of that day would find the key.
 */
import { DateTime } from "luxon";
import { daySourceGlob } from "../backfill/names.js";
import { compileGlob } from "../calendar/template.js";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { joinKey } from "../storage/storage.js";

const TOKEN = /\{(year|month|day|hour|doy)\}/g;
const digits: Record<string, number> = { year: 4, month: 2, day: 2, hour: 2, doy: 3 };

/** A regular expression for a template's keys, its date tokens as named groups (a repeat must agree). */
export function templatePattern(glob: string): RegExp {
  let source = "";
  let last = 0;
  const seen = new Set<string>();
  const literal = (part: string): string => (part ? compileGlob(part).pattern.source.slice(1, -1) : "");
  for (const match of glob.matchAll(TOKEN)) {
    const name = match[1]!;
    source += literal(glob.slice(last, match.index));
    source += seen.has(name) ? `\\k<${name}>` : `(?<${name}>\\d{${digits[name]}})`;
    seen.add(name);
    last = match.index! + match[0].length;
  }
  source += literal(glob.slice(last));
  return new RegExp(`^${source}$`);
}

/** The day a source key (relative to the source storage) belongs to, or undefined when it is not one of the dataset's files. */
export function dayOfKey(spec: ResolvedDatasetSpec, key: string, pattern = templatePattern(joinKey(spec.source.root, `${spec.source.template}${spec.source.extension}`))): string | undefined {
  const groups = pattern.exec(key)?.groups;
  if (!groups?.year) return undefined;
  const date =
    groups.month && groups.day
      ? DateTime.fromObject({ year: Number(groups.year), month: Number(groups.month), day: Number(groups.day) }, { zone: "utc" })
      : groups.doy
        ? DateTime.fromObject({ year: Number(groups.year), ordinal: Number(groups.doy) }, { zone: "utc" })
        : undefined;
  if (!date?.isValid) return undefined;
  const day = date.toISODate()!;
  return daySourceGlob(spec, day).pattern.test(key) ? day : undefined;
}

/** The key inside the dataset's source storage of an object of `bucket`, or undefined when the object is not under it. */
export function sourceKeyOf(spec: ResolvedDatasetSpec, bucket: string, objectKey: string): string | undefined {
  const storage = spec.source.storage;
  if (storage.kind !== "s3" || storage.bucket !== bucket) return undefined;
  const prefix = joinKey(storage.prefix ?? "");
  if (!prefix) return objectKey;
  return objectKey.startsWith(`${prefix}/`) ? objectKey.slice(prefix.length + 1) : undefined;
}
