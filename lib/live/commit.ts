/**
 * The live workflow's commit: the store's tail from the first step of the first given day's files
 * is replaced by the given days, each combined from its files (their staged references,
 * `extract.ts`), in calendar and time order, in one Icechunk commit. An arrival after the store's
 * end is the common case: nothing is replaced, the new files are appended (the day's `kept` files
 * stay). An arrival inside the store (a late or overwritten file) rewrites from its day on: Zarr
 * arrays grow only at their end, so the store is cut back to the day's start (`cutTail`: later era
 * groups deleted, the era holding the cut shortened) and the days written again.
 *
 * Eras (a drifted archive, lib/icechunk/eras.ts): each day is split into runs one array each can
 * hold (`loadDayRuns`) and each run placed and written exactly as the backfill's `commitDay` does
 * (`placeRun`, `writeRun`): appended to the latest era when it can hold it, else the start of the
 * next era group with the backfill's attributes. So a store that followed its archive live holds
 * the eras and references a backfill of the same files would.
 *
 * One writer: the same writer lock as `commitDay` on a local store, Icechunk's conditional branch
 * update on S3 (another writer's commit makes this one start again from the new tip). A store that
 * holds steps after the given days (a backfill committed a later day since the survey) is not cut:
 * `store-moved`, and the next batch surveys again. A commit whose files are already exactly the
 * store's (a retried activity whose commit landed) writes nothing. Once the commit is durable the
 * batch's staged references are removed; a retry or a later batch stages again what it needs.
 */
import type { Repository } from "@earthmover/icechunk";
import { IcechunkError } from "../errors.js";
import { parseRefsJson } from "../model/kerchunkJson.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import { openStorage, splitsAtDrift, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { stagedSourceVersion } from "../backfill/staged.js";
import { openRepository, repositoryLocation, withWriterLock, type EraPart, type SourceVersion } from "../icechunk/index.js";
import { dayCommitFacts } from "../icechunk/commitMessage.js";
import { sweepLiveStaging } from "./sweep.js";
import { loadDayRuns, type DayReferences } from "../icechunk/dayRefs.js";
import { cutTail, findTail, placeRun, readEras, removeStale, writeRun } from "../icechunk/eras.js";
import { icechunkFailure, isCommitConflict } from "../icechunk/failures.js";
import { resolveIcechunkOptions } from "../icechunk/options.js";
import type { Storage } from "../storage/storage.js";
import { extractLiveFile, liveStagingKey } from "./extract.js";
import type { LiveCommitSummary, LiveDay, LiveFile } from "./model/steps.js";
import { liveCommitMessage, storeRecords, type LiveDayFacts } from "./records.js";
import { versionText } from "./survey.js";

interface LoadedDay {
  day: string;
  /** The day's files to write as runs one array each can hold (`loadDayRuns`: the backfill's split). */
  runs: DayReferences[];
  versions: Map<string, SourceVersion>;
  /** [url, version] in time order of the files written, as the commit message records them. */
  files: [string, string][];
  /** [url, version] of the day's files the store keeps, before them. */
  kept: [string, string][];
}

/** A file's staged references; staged again when gone (removed after an earlier commit of the same version: `removeStaging`). */
async function readStaged(spec: ResolvedDatasetSpec, storage: Storage, day: string, file: LiveFile): Promise<KerchunkRefs> {
  const key = liveStagingKey(spec, day, file);
  try {
    return parseRefsJson(new TextDecoder().decode(await storage.read(key)), storage.url(key));
  } catch (error) {
    if (await storage.exists(key)) throw error;
  }
  await extractLiveFile(spec, day, file);
  return parseRefsJson(new TextDecoder().decode(await storage.read(key)), storage.url(key));
}

async function loadDay(spec: ResolvedDatasetSpec, day: LiveDay): Promise<LoadedDay> {
  const storage = openStorage(spec.output.storage);
  try {
    const inputs: KerchunkRefs[] = [];
    const labels: string[] = [];
    const sources: (string | undefined)[] = [];
    const versions = new Map<string, SourceVersion>();
    const files: [string, string][] = [];
    for (const file of day.files) {
      const refs = await readStaged(spec, storage, day.day, file);
      const recorded = stagedSourceVersion(refs);
      // The version of the bytes the extraction read (the listing's, unless the object changed since).
      if (recorded) versions.set(...recorded);
      files.push([file.url, recorded ? versionText(recorded[1]) : file.version]);
      sources.push(recorded?.[0]);
      inputs.push(refs);
      labels.push(storage.url(liveStagingKey(spec, day.day, file)));
    }
    const kept = (day.kept ?? []).map((file): [string, string] => [file.url, file.version]);
    const split = splitsAtDrift(spec.drift);
    return { day: day.day, runs: await loadDayRuns(spec, day.day, { refs: inputs, labels, sources }, split), versions, files, kept };
  } finally {
    await storage.close();
  }
}

/**
 * The batch's staged references, once its commit is durable (or found already in the store): a
 * retry of this commit, or a later batch with the same file versions, stages what it needs again
 * (`readStaged`), so nothing depends on them any more. Removing a key already gone is no error.
 */
async function removeStaging(spec: ResolvedDatasetSpec, days: readonly LiveDay[]): Promise<void> {
  const storage = openStorage(spec.output.storage);
  try {
    await Promise.all(days.flatMap((day) => day.files.map((file) => storage.delete(liveStagingKey(spec, day.day, file)))));
  } finally {
    await storage.close();
  }
}

/**
 * Whether the batch begins after the store's end, by the store's records: its first day is after
 * the store's last day, or is that day with exactly the recorded files kept (the new ones follow
 * them). Then nothing is cut, whatever the eras' time encodings (a change of calendar cannot be
 * compared by value: `findTail`).
 */
async function afterStoreEnd(repository: Repository, branch: string, dataset: string, first: LoadedDay): Promise<boolean> {
  const records = await storeRecords(repository, branch, dataset, [first.day]);
  if (records.lastDay === undefined || records.lastDay < first.day) return true;
  const record = records.days.get(first.day);
  return records.lastDay === first.day && first.kept.length > 0 && record?.files.size === first.kept.length && first.kept.every(([url, version]) => record.files.get(url) === version);
}

export async function commitLiveDays(spec: ResolvedDatasetSpec, days: LiveDay[]): Promise<LiveCommitSummary> {
  const summary = await commitStaged(spec, days);
  await removeStaging(spec, days);
  // Housekeeping after a durable commit: a failed sweep must not fail (and retry) the commit. It is
  // told in the result (the history, the Web UI); the next sweep takes what this one left.
  try {
    const swept = await sweepLiveStaging(spec);
    return swept > 0 ? { ...summary, sweptStaged: swept } : summary;
  } catch (error) {
    return { ...summary, sweepFailed: (error as Error).message };
  }
}

async function commitStaged(spec: ResolvedDatasetSpec, days: LiveDay[]): Promise<LiveCommitSummary> {
  if (days.length === 0) throw new IcechunkError("empty-commit", repositoryLocation(spec).description, "no day to commit", false);
  const settings = resolveIcechunkOptions();
  const location = repositoryLocation(spec);
  const store = location.description;
  const split = splitsAtDrift(spec.drift);
  const loaded: LoadedDay[] = [];
  for (const day of [...days].sort((a, b) => (a.day < b.day ? -1 : 1))) loaded.push(await loadDay(spec, day));
  const versions = new Map(loaded.flatMap((d) => [...d.versions]));
  const runs = loaded.flatMap((d) => d.runs);
  const dim = runs[0]!.dim;
  const paths = [...new Set(runs.flatMap((run) => [...run.references.arrays.keys()]))];
  const steps = runs.reduce((n, run) => n + run.values.length, 0);
  const context = { store, day: loaded[0]!.day, dim, coordinateChunk: settings.coordinateChunk };

  return withWriterLock(location, async () => {
    const { repository } = await openRepository(spec, settings, { create: true });
    for (let attempt = 1; attempt <= settings.maxCommitAttempts; attempt++) {
      try {
        const session = await repository.writableSession(settings.branch);
        const before = await readEras(session.store, store, dim, paths);
        const tail = (await afterStoreEnd(repository, settings.branch, spec.name, loaded[0]!)) ? undefined : await findTail(session.store, before, runs[0]!, runs[runs.length - 1]!, context);
        if (tail?.moved) {
          throw new IcechunkError("store-moved", store, `the store holds ${dim} steps after ${loaded[loaded.length - 1]!.day} (committed since the arrivals were surveyed): survey again`, false);
        }
        // A retried commit whose first attempt landed: the store has these days with these files.
        if (tail && tail.stepsAfter === steps) {
          const records = await storeRecords(repository, settings.branch, spec.name, loaded.map((d) => d.day));
          const same = loaded.every((d) => {
            const record = records.days.get(d.day);
            const all = [...d.kept, ...d.files];
            return record && record.files.size === all.length && all.every(([url, version]) => record.files.get(url) === version);
          });
          if (same) {
            const storeLength = (await before.era(before.groups.length - 1)).state.values.length;
            return { snapshotId: records.days.get(loaded[0]!.day)!.snapshotId, written: false, days: loaded.map((d) => d.day), files: 0, steps: 0, storeLength, attempts: attempt };
          }
        }
        // The store from the first rewritten step on goes; the days are then placed and written as
        // the backfill's commitDay writes them: each run after the store's end, in its era or a new one.
        const stale = tail ? await cutTail(session.store, before, tail, dim) : [];
        // Every chunk the days write: the old ones past the cut that none replaced go (`removeStale`).
        const written = new Set<string>();
        const facts: LiveDayFacts[] = [];
        let storeLength = 0;
        for (const day of loaded) {
          const parts: EraPart[] = [];
          for (const run of day.runs) {
            const dayContext = { ...context, day: day.day, written };
            const placement = await placeRun(await readEras(session.store, store, dim, paths), run, dayContext, split);
            if (placement.kind === "committed") {
              throw new IcechunkError("partial-overlap", store, `the store holds ${dim} values of the day's new files before the steps being rewritten`, false, { day: day.day, variable: dim });
            }
            const done = await writeRun(session.store, run, placement, versions, dayContext, split);
            parts.push(done.part);
            storeLength = done.storeLength;
          }
          // The record names the whole day (kept files too): it is the day's record from now on.
          const all = [...day.kept, ...day.files];
          const daySteps = parts.reduce((n, p) => n + p.steps, 0);
          const { source, files, eras } = dayCommitFacts(
            { dataset: spec.name, day: day.day, dim, steps: daySteps, first: parts[0]!.first, last: parts[parts.length - 1]!.last },
            all.map(([url]) => url),
            parts,
          );
          facts.push({ day: day.day, dim, steps: daySteps, first: parts[0]!.first, last: parts[parts.length - 1]!.last, source, files: files.map((file, k) => [file, all[k]![1]]), ...(eras ? { eras } : {}) });
        }
        await removeStale(session.store, stale, written);
        try {
          const snapshotId = await session.commit(liveCommitMessage({ dataset: spec.name, days: facts }));
          return { snapshotId, written: true, days: loaded.map((d) => d.day), files: loaded.reduce((n, d) => n + d.files.length, 0), steps, storeLength, attempts: attempt };
        } catch (error) {
          if (!isCommitConflict(error)) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 25 * 2 ** attempt * Math.random())));
        }
      } catch (error) {
        throw icechunkFailure(error, store, "committing arrived files", { day: loaded[0]!.day });
      }
    }
    throw new IcechunkError("commit-conflict", store, `other writers moved branch '${settings.branch}' during each of ${settings.maxCommitAttempts} commits`, true, { day: loaded[0]!.day });
  });
}
