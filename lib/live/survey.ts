/**
 * What a batch of arrivals asks of the store, decided from the days' listings and the store's
 * records (`records.ts`), so the commit is right whatever order events came in, how often, or
 * whether some never came:
 *  - a day whose files and versions are those the store records is `unchanged` (duplicates, a
 *    retried batch, a sweep of a day that is complete);
 *  - otherwise the days from the first changed one to the store's end are rewritten, each with
 *    every file its listing has now (an overwritten object with its new version, a file whose
 *    event was lost), in time order: an arrival after the store's end appends, one inside it
 *    rewrites the store from its day on;
 *  - days between the store's end and a new day are listed and written too (their events may
 *    not have come yet), up to `maxGapDays` (7: a burst of a few days' files comes in any order);
 *    beyond that the store is a backfill's to bring up to
 *    date first, and the days are `deferred` (a later sweep commits them once it has);
 *  - a day more than `maxRewriteDays` before the store's end is `deferred` too: rewriting that
 *    much is a backfill's work (a new store from the backfill), not an arrival's.
 */
import { DateTime } from "luxon";
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { listDaySources } from "../backfill/sources.js";
import { lastModifiedOf, lookupSourceVersions, openRepository, type SourceVersion } from "../icechunk/index.js";
import { resolveIcechunkOptions } from "../icechunk/options.js";
import { IcechunkError } from "../errors.js";
import { referenceUrl } from "../source/localFile.js";
import { bareEtag } from "./events.js";
import type { Arrival, LiveDay, LivePlan } from "./model/steps.js";
import { storeRecords, type DayRecord } from "./records.js";

export interface SurveyOptions {
  maxGapDays?: number;
  maxRewriteDays?: number;
}

/** A version as the store records it: the ETag without quotes, or a local file's mtime in ms (whole seconds, as Icechunk pins it). */
export const versionText = (version: SourceVersion): string => ("etag" in version ? bareEtag(version.etag) : String(lastModifiedOf(version.lastModified.getTime()).getTime()));

const addDays = (day: string, n: number): string => DateTime.fromISO(day, { zone: "utc" }).plus({ days: n }).toISODate()!;
const daysBetween = (a: string, b: string): number => Math.round(DateTime.fromISO(b, { zone: "utc" }).diff(DateTime.fromISO(a, { zone: "utc" }), "days").days);
function dayRange(first: string, last: string): string[] {
  const days: string[] = [];
  for (let d = first; d <= last; d = addDays(d, 1)) days.push(d);
  return days;
}

/**
 * A day's files now, in key order, with their versions. On S3 the versions are the ETags the
 * listing itself returns (ListObjectsV2 is strongly consistent, as HEAD is: an overwrite shows
 * with its new ETag), so a day of n files costs one request, not 1 + n HEADs; local files (no
 * ETag) are looked up by their modification time.
 */
export async function listLiveDay(spec: ResolvedDatasetSpec, day: string): Promise<LiveDay> {
  const objects = await listDaySources(spec, day);
  const storage = openStorage(spec.source.storage);
  try {
    const urls = objects.map((o) => referenceUrl(storage.url(o.key)));
    const listed = objects.every((o) => o.etag !== undefined);
    const versions = listed ? undefined : await lookupSourceVersions(urls, spec.source.storage);
    return {
      day,
      files: objects.map((o, i) => ({ key: o.key, url: urls[i]!, version: versions ? versionText(versions.get(urls[i]!)!) : bareEtag(o.etag!) })),
    };
  } finally {
    await storage.close();
  }
}

/** Whether the store's record of a day differs from what the day has now. */
function changed(listed: LiveDay, record: DayRecord | undefined, announced: ReadonlyMap<string, string>): boolean {
  if (!record) return listed.files.length > 0;
  if (record.files.size !== listed.files.length) return true;
  return listed.files.some((file) => {
    if (!record.files.has(file.url)) return true;
    const recorded = record.files.get(file.url);
    // A backfill's commit recorded no version: an event for the file says it was written since.
    return recorded === undefined ? announced.has(file.key) : recorded !== file.version;
  });
}

export async function surveyLive(spec: ResolvedDatasetSpec, days: readonly string[], arrivals: readonly Arrival[], options: SurveyOptions = {}): Promise<LivePlan> {
  const maxGapDays = options.maxGapDays ?? 7;
  const maxRewriteDays = options.maxRewriteDays ?? 3;
  const settings = resolveIcechunkOptions();
  const announced = new Map(arrivals.map((a) => [a.key, a.etag]));
  const asked = [...new Set(days)].sort();
  let repository;
  try {
    ({ repository } = await openRepository(spec, settings, { create: false }));
  } catch (error) {
    if (!(error instanceof IcechunkError && error.problem === "no-repository")) throw error;
  }
  const probe = repository ? await storeRecords(repository, settings.branch, spec.name, []) : { days: new Map<string, DayRecord>() };
  const storeEnd = probe.lastDay;
  const plan: LivePlan = { write: [], unchanged: [], deferred: [], ...(storeEnd ? { storeEnd } : {}) };

  // Days held back before anything is listed.
  const candidates = asked.filter((day) => {
    if (storeEnd && daysBetween(day, storeEnd) > maxRewriteDays) {
      plan.deferred.push({ day, reason: `more than ${maxRewriteDays} days before the store's last day ${storeEnd}: rewriting that much is a backfill's work` });
      return false;
    }
    if (storeEnd && daysBetween(storeEnd, day) > maxGapDays + 1) {
      plan.deferred.push({ day, reason: `the store ends at ${storeEnd}: the days before ${day} are a backfill's to commit first` });
      return false;
    }
    return true;
  });
  if (candidates.length === 0) return plan;

  // Every day from the first candidate (or the store's end) to the last one, or to the store's end.
  const last = storeEnd && storeEnd > candidates[candidates.length - 1]! ? storeEnd : candidates[candidates.length - 1]!;
  const span = dayRange(storeEnd && storeEnd < candidates[0]! ? addDays(storeEnd, 1) : candidates[0]!, last);
  const records = repository ? (await storeRecords(repository, settings.branch, spec.name, span)).days : new Map<string, DayRecord>();
  const listed = await Promise.all(span.map((day) => listLiveDay(spec, day)));
  const firstChanged = listed.findIndex((d) => changed(d, records.get(d.day), announced));
  for (const d of firstChanged < 0 ? listed : listed.slice(0, firstChanged)) if (asked.includes(d.day)) plan.unchanged.push(d.day);
  if (firstChanged >= 0) plan.write = listed.slice(firstChanged).filter((d) => d.files.length > 0);
  const first = plan.write[0];
  if (first) plan.write[0] = appendOnly(first, records.get(first.day));
  return plan;
}

/**
 * A changed day whose recorded files, with their versions, are its first files now: only the files
 * after them are written (the store keeps the others), so a day that grows file by file costs each
 * commit its new files, not the whole day again.
 */
function appendOnly(day: LiveDay, record: DayRecord | undefined): LiveDay {
  const recorded = [...(record?.files ?? [])];
  const k = recorded.length;
  if (k === 0 || k >= day.files.length) return day;
  const prefix = day.files.slice(0, k);
  if (!prefix.every((file, i) => file.url === recorded[i]![0] && file.version === recorded[i]![1])) return day;
  return { day: day.day, files: day.files.slice(k), kept: prefix };
}
