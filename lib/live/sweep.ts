/**
 * Staged references of live batches that never committed: a batch that failed for good, or whose
 * files a later event superseded, leaves `<output prefix>/.live/<version>/.../.staging/...` behind,
 * and no commit removes it (a commit removes only its own batch's, once durable: `commit.ts`).
 * A commit sweeps them: what was staged longer ago than STAGED_MAX_AGE_MS, far longer than a
 * batch takes from its extraction to its commit. A batch slower than that finds its staging gone
 * and stages those files again (`readStaged`): a sweep costs a re-extraction, never a reference.
 */
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { liveStagingRoot } from "./extract.js";

/** Staged references older than this belong to no batch still on its way to a commit. */
export const STAGED_MAX_AGE_MS = 6 * 3600_000;
/** A worker sweeps a dataset at most this often (a sweep lists the whole `.live/` prefix). */
const SWEEP_INTERVAL_MS = 3600_000;
const lastSweepMs = new Map<string, number>();

/**
 * Remove the dataset's staged live references older than STAGED_MAX_AGE_MS (objects whose age the
 * storage does not tell are kept), at most once per SWEEP_INTERVAL_MS in this process unless
 * `force`; how many were removed.
 */
export async function sweepLiveStaging(spec: ResolvedDatasetSpec, now = Date.now(), force = false): Promise<number> {
  const last = lastSweepMs.get(spec.name);
  if (!force && last !== undefined && now - last < SWEEP_INTERVAL_MS) return 0;
  lastSweepMs.set(spec.name, now);
  const storage = openStorage(spec.output.storage);
  try {
    const orphans: string[] = [];
    for await (const object of storage.list(`${liveStagingRoot(spec)}/`)) {
      if (object.key.includes("/.staging/") && object.modifiedMs !== undefined && now - object.modifiedMs > STAGED_MAX_AGE_MS) orphans.push(object.key);
    }
    await storage.deleteAll(orphans);
    return orphans.length;
  } finally {
    await storage.close();
  }
}
