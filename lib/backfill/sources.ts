import { openStorage, splitsAtDrift, type ResolvedDatasetSpec } from "../datasets/spec.js";
import type { ObjectInfo } from "../storage/storage.js";
import type { Storage } from "../storage/storage.js";
import { completeOutputs, type FoundOutputs, type ListedOutput } from "./model/outputs.js";
import type { DaySurvey } from "./model/steps.js";
import { completeKey, daySourceGlob, outputKey, outputOfCompleteKey, outputOfKey, periodOutputsPrefix, yearOutputsPrefix } from "./names.js";

/** How many times an S3 request may be made (the SDK's retries); a local activity's single try passes 1. */
export interface Tries {
  tries?: number;
}

/** A day's source files, in key order (which is time order for calendar-named archives). */
export async function listDaySources(spec: ResolvedDatasetSpec, dayId: string, options: Tries = {}): Promise<ObjectInfo[]> {
  const { prefix, pattern } = daySourceGlob(spec, dayId);
  const storage = openStorage(spec.source.storage, options.tries);
  try {
    const found: ObjectInfo[] = [];
    for await (const object of storage.list(prefix)) if (pattern.test(object.key)) found.push(object);
    return found;
  } finally {
    await storage.close();
  }
}

/**
 * The outputs (single, or every part of a period split by drift) under `prefix` whose period is
 * `wanted`, by one listing; each named by `name` (its URL, or its key). Only whole outputs count
 * (a Parquet folder by its `.zmetadata`, written last).
 */
async function listOutputs(spec: ResolvedDatasetSpec, storage: Storage, prefix: string, wanted: (period: string) => boolean, name: (key: string) => string): Promise<FoundOutputs> {
  const listed: ListedOutput[] = [];
  for await (const object of storage.list(prefix)) {
    const key = outputOfCompleteKey(spec, object.key);
    if (key === undefined) continue;
    const output = outputOfKey(spec, key);
    if (output !== undefined && wanted(output.period)) listed.push({ ...output, url: name(key) });
  }
  return completeOutputs(listed);
}

const asList = (found: FoundOutputs[string] | undefined): string[] | undefined => (found === undefined ? undefined : typeof found === "string" ? [found] : [...found]);

/**
 * Every output of a year's periods (its days, its months, itself) by one listing of the outputs'
 * common prefix ("<prefix>/<root>/2022": one request for a year's ~380 outputs on S3).
 */
export async function findOutputs(spec: ResolvedDatasetSpec, year: string, options: Tries = {}): Promise<FoundOutputs> {
  const storage = openStorage(spec.output.storage, options.tries);
  try {
    return await listOutputs(spec, storage, yearOutputsPrefix(spec, year), (period) => period.startsWith(year), (key) => storage.url(key));
  } finally {
    await storage.close();
  }
}

/**
 * A period's existing output keys: its single output (one HEAD request, as before drift), else,
 * with `drift: "split"`, every part of it (one listing); undefined when it has none, or only some
 * parts (then it is combined again and the parts written stand).
 */
export async function periodOutputKeys(spec: ResolvedDatasetSpec, storage: Storage, period: string): Promise<string[] | undefined> {
  const key = outputKey(spec, period);
  if (await storage.exists(completeKey(spec, key))) return [key];
  if (!splitsAtDrift(spec.drift)) return undefined;
  return asList((await listOutputs(spec, storage, periodOutputsPrefix(spec, period), (p) => p === period, (k) => k))[period]);
}

/**
 * The output keys of a rollup's children (days of a month, months of a year), in time order: a
 * child's single output, or its parts when drift split it (one listing of the rollup's prefix,
 * with `drift: "split"`). A child with neither is given its single output's key, whose read then
 * fails naming it, as before drift.
 */
export async function childOutputKeys(spec: ResolvedDatasetSpec, period: string, children: string[], options: Tries = {}): Promise<string[]> {
  if (!splitsAtDrift(spec.drift)) return children.map((child) => outputKey(spec, child));
  const storage = openStorage(spec.output.storage, options.tries);
  try {
    const wanted = new Set(children);
    const found = await listOutputs(spec, storage, yearOutputsPrefix(spec, period), (p) => wanted.has(p), (k) => k);
    return children.flatMap((child) => asList(found[child]) ?? [outputKey(spec, child)]);
  } finally {
    await storage.close();
  }
}
