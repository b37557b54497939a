import { basename } from "node:path/posix";
import { compileGlob, expandForDay } from "../calendar/template.js";
import { parsePeriod, type Period } from "../calendar/periods.js";
import { DateTime } from "luxon";
import { joinKey } from "../storage/storage.js";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { partName, parsePartTail } from "../combine/index.js";
import type { ListedOutput } from "./model/outputs.js";
import { outputRules, type ReferenceFileLayout } from "./model/output.js";

/** "2022-01-13" → "20220113", "2022-01" → "202201", "2022" → "2022": the seed's file naming. */
export function compactPeriod(period: Period): string {
  return period.id.replace(/-/g, "");
}

const layoutOf = (spec: ResolvedDatasetSpec): ReferenceFileLayout => outputRules(spec.output.format).files;

/**
 * Where a period's reference file goes: <dest>/<root>/<YYYYMMDD><suffix>.json, or the Parquet
 * folder <YYYYMMDD><suffix>.parq (output.format "parquet").
 */
export function outputKey(spec: ResolvedDatasetSpec, periodId: string): string {
  return joinKey(spec.output.prefix, spec.source.root, `${compactPeriod(parsePeriod(periodId))}${spec.output.suffix}${layoutOf(spec).extension}`);
}

/**
 * The key whose presence means the output at `key` is there, whole: the JSON file itself, or the
 * Parquet folder's `.zmetadata` (written last).
 */
export function completeKey(spec: ResolvedDatasetSpec, key: string): string {
  return `${key}${layoutOf(spec).completeMarker}`;
}

/** The output a listed key completes (`completeKey`'s inverse): a folder's data files complete none. */
export function outputOfCompleteKey(spec: ResolvedDatasetSpec, key: string): string | undefined {
  const marker = layoutOf(spec).completeMarker;
  return key.endsWith(marker) ? key.slice(0, key.length - marker.length) : undefined;
}

/**
 * Where one part of a period's output goes when drift splits the period (issue 17): the part's
 * number and the count before the extension, "<YYYYMMDD><suffix>.era001of002.json", so that sorting
 * the names gives time order and a listing tells whether every part is there.
 */
export function outputPartKey(spec: ResolvedDatasetSpec, periodId: string, part: number, parts: number): string {
  return partName(outputKey(spec, periodId), part, parts);
}

/** The key prefix of every output of one period (its single output, or its parts): "<...>/20220113<suffix>.". */
export function periodOutputsPrefix(spec: ResolvedDatasetSpec, periodId: string): string {
  return joinKey(spec.output.prefix, spec.source.root, `${compactPeriod(parsePeriod(periodId))}${spec.output.suffix}.`);
}

/**
 * The period (and part) whose output a key is, if it is one (the inverse of `outputKey` and
 * `outputPartKey`): "<...>/20220113.json" → 2022-01-13, "202201.era002of003.json" → 2022-01 part 2
 * of 3, "2022.json" → 2022 (".parq" with output.format "parquet"); anything else → undefined.
 */
export function outputOfKey(spec: ResolvedDatasetSpec, key: string): Omit<ListedOutput, "url"> | undefined {
  const folder = joinKey(spec.output.prefix, spec.source.root);
  const name = folder ? (key.startsWith(`${folder}/`) ? key.slice(folder.length + 1) : undefined) : key;
  if (name === undefined) return undefined;
  const extension = layoutOf(spec).extension;
  const split = name.endsWith(extension) ? /^(.*)(\.era\d{3,}of\d{3,})$/.exec(name.slice(0, -extension.length)) : null;
  const part = split ? parsePartTail(split[2]!) : undefined;
  if (split && !part) return undefined;
  const stem = split ? split[1]! : name.endsWith(extension) ? name.slice(0, -extension.length) : undefined;
  if (stem === undefined || !stem.endsWith(spec.output.suffix)) return undefined;
  const compact = /^(\d{4})(\d{2})?(\d{2})?$/.exec(stem.slice(0, stem.length - spec.output.suffix.length));
  if (!compact) return undefined;
  const period = compact.slice(1).filter((p) => p !== undefined).join("-");
  return part ? { period, part } : { period };
}

/** The period whose output (or output part) a key is, if it is one. */
export function periodOfOutputKey(spec: ResolvedDatasetSpec, key: string): string | undefined {
  return outputOfKey(spec, key)?.period;
}

/** The key prefix every output of a year's periods starts with (one listing finds them all). */
export function yearOutputsPrefix(spec: ResolvedDatasetSpec, year: string): string {
  return joinKey(spec.output.prefix, spec.source.root, compactPeriod(parsePeriod(year)));
}

/**
 * Compact ids of the days named lately: a day's files each name it, and parsing it (a calendar
 * check) cost more than the rest of their staging key. Bounded: a long-running worker sees many days.
 */
const compactDays = new Map<string, string>();

/** The folder of a day's per-file references waiting to be combined: <dest>/<root>/.staging/<YYYYMMDD>. */
export function stagingFolder(spec: ResolvedDatasetSpec, dayId: string): string {
  let day = compactDays.get(dayId);
  if (day === undefined) {
    day = compactPeriod(parsePeriod(dayId));
    if (compactDays.size >= 1024) compactDays.clear();
    compactDays.set(dayId, day);
  }
  return joinKey(spec.output.prefix, spec.source.root, ".staging", day);
}

/** One file's references waiting to be combined: <staging folder of its day>/<file>.json. */
export function stagingKey(spec: ResolvedDatasetSpec, dayId: string, sourceKey: string): string {
  return joinKey(stagingFolder(spec, dayId), `${basename(sourceKey)}.json`);
}

/**
 * Staged bundles: a step that extracts several files of a day (an extraction activity, a batch of
 * small days, backfillDirect) stages them together, one object for the files that finished within a
 * few seconds of each other (lib/backfill/stagedBundle.ts), not one each: a staged object costs a
 * PUT, a GET and a DELETE on S3, and a new file on a local disk. A bundle is
 * `<staging folder>/<16 hex>.tkb`; a file in it is `<bundle>#<its stagingKey's name>`, the key its
 * extraction reports and the combine or commit reads. A stagingKey ends in ".json", a bundle in
 * ".tkb", and a member's name holds no "/", so the three never mix.
 */
const BUNDLE_NAME = "[0-9a-f]{16}\\.tkb";
const BUNDLE = new RegExp(`^${BUNDLE_NAME}$`);
const BUNDLE_TAIL = new RegExp(`^(${BUNDLE_NAME})#([^/]+\\.json)$`);

/** A bundle of a day's staged files (`token`: 16 hex digits, unique to the writer and the bundle). */
export function stagingBundleKey(spec: ResolvedDatasetSpec, dayId: string, token: string): string {
  return joinKey(stagingFolder(spec, dayId), `${token}.tkb`);
}

/** Whether a listed staging key is a bundle. */
export const isStagingBundle = (key: string): boolean => BUNDLE.test(key.slice(key.lastIndexOf("/") + 1));

/** A staged file's name in a bundle: its stagingKey's last segment. */
export const bundleMemberName = (stagedKey: string): string => basename(stagedKey);

/** The key of a staged file inside a bundle. */
export function bundledStagingKey(bundleKey: string, stagedKey: string): string {
  return `${bundleKey}#${bundleMemberName(stagedKey)}`;
}

/**
 * Where a staged file's references are: the object to read (a bundle, or the file's own staged
 * object) and, in a bundle, the file's name there.
 */
export function stagedObjectOf(stagedKey: string): { object: string; member?: string } {
  const slash = stagedKey.lastIndexOf("/");
  const tail = BUNDLE_TAIL.exec(stagedKey.slice(slash + 1));
  return tail ? { object: `${stagedKey.slice(0, slash + 1)}${tail[1]}`, member: tail[2] } : { object: stagedKey };
}

/** The glob that finds one day's source files: <root>/<template for the day><extension>. */
export function daySourceGlob(spec: ResolvedDatasetSpec, dayId: string): { prefix: string; pattern: RegExp } {
  const day = DateTime.fromISO(dayId, { zone: "utc" });
  return compileGlob(joinKey(spec.source.root, `${expandForDay(spec.source.template, day)}${spec.source.extension}`));
}
