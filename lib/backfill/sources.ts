import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import type { ObjectInfo } from "../storage/storage.js";
import type { FoundOutputs } from "./model/outputs.js";
import type { DaySurvey } from "./model/steps.js";
import { daySourceGlob, outputKey, periodOfOutputKey, yearOutputsPrefix } from "./names.js";

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
 * Every output of a year's periods (its days, its months, itself) by one listing of the outputs'
 * common prefix ("<prefix>/<root>/2022": one request for a year's ~380 outputs on S3).
 */
export async function findOutputs(spec: ResolvedDatasetSpec, year: string, options: Tries = {}): Promise<FoundOutputs> {
  const storage = openStorage(spec.output.storage, options.tries);
  try {
    const found: FoundOutputs = {};
    for await (const object of storage.list(yearOutputsPrefix(spec, year))) {
      const period = periodOfOutputKey(spec, object.key);
      if (period !== undefined && period.startsWith(year)) found[period] = storage.url(object.key);
    }
    return found;
  } finally {
    await storage.close();
  }
}
