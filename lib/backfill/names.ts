import { basename } from "node:path/posix";
import { compileGlob, expandForDay } from "../calendar/template.js";
import { parsePeriod, type Period } from "../calendar/periods.js";
import { DateTime } from "luxon";
import { joinKey } from "../storage/storage.js";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";

/** "2022-01-13" → "20220113", "2022-01" → "202201", "2022" → "2022": the seed's file naming. */
export function compactPeriod(period: Period): string {
  return period.id.replace(/-/g, "");
}

/** Where a period's reference file goes: <dest>/<root>/<YYYYMMDD><suffix>.json. */
export function outputKey(spec: ResolvedDatasetSpec, periodId: string): string {
  return joinKey(spec.output.prefix, spec.source.root, `${compactPeriod(parsePeriod(periodId))}${spec.output.suffix}.json`);
}

/**
 * The period whose output a key is, if it is one (the inverse of `outputKey`): "<...>/20220113.json"
 * → "2022-01-13", "202201.json" → "2022-01", "2022.json" → "2022"; anything else → undefined.
 */
export function periodOfOutputKey(spec: ResolvedDatasetSpec, key: string): string | undefined {
  const folder = joinKey(spec.output.prefix, spec.source.root);
  const ending = `${spec.output.suffix}.json`;
  const name = folder ? (key.startsWith(`${folder}/`) ? key.slice(folder.length + 1) : undefined) : key;
  if (name === undefined || !name.endsWith(ending)) return undefined;
  const compact = /^(\d{4})(\d{2})?(\d{2})?$/.exec(name.slice(0, name.length - ending.length));
  if (!compact) return undefined;
  return compact.slice(1).filter((part) => part !== undefined).join("-");
}

/** The key prefix every output of a year's periods starts with (one listing finds them all). */
export function yearOutputsPrefix(spec: ResolvedDatasetSpec, year: string): string {
  return joinKey(spec.output.prefix, spec.source.root, compactPeriod(parsePeriod(year)));
}

/** Per-file references of a day waiting to be combined: <dest>/<root>/.staging/<YYYYMMDD>/<file>.json. */
export function stagingKey(spec: ResolvedDatasetSpec, dayId: string, sourceKey: string): string {
  return joinKey(spec.output.prefix, spec.source.root, ".staging", compactPeriod(parsePeriod(dayId)), `${basename(sourceKey)}.json`);
}

/** The glob that finds one day's source files: <root>/<template for the day><extension>. */
export function daySourceGlob(spec: ResolvedDatasetSpec, dayId: string): { prefix: string; pattern: RegExp } {
  const day = DateTime.fromISO(dayId, { zone: "utc" });
  return compileGlob(joinKey(spec.source.root, `${expandForDay(spec.source.template, day)}${spec.source.extension}`));
}
