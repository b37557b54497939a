import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import type { ObjectInfo } from "../storage/storage.js";
import { daySourceGlob } from "./names.js";

/** A day's source files, in key order (which is time order for calendar-named archives). */
export async function listDaySources(spec: ResolvedDatasetSpec, dayId: string): Promise<ObjectInfo[]> {
  const { prefix, pattern } = daySourceGlob(spec, dayId);
  const storage = openStorage(spec.source.storage);
  try {
    const found: ObjectInfo[] = [];
    for await (const object of storage.list(prefix)) if (pattern.test(object.key)) found.push(object);
    return found;
  } finally {
    await storage.close();
  }
}
