/**
 * The live workflow's commit: the store's tail from the first step of the first given day's files
 * is replaced by the given days, each combined from its files (their staged references,
 * `extract.ts`), in calendar and time order, in one Icechunk commit. An arrival after the store's
 * end is the common case: nothing is replaced, the new files are appended (the day's `kept` files
 * stay). An arrival inside the store
 * (a late or overwritten file) rewrites from its day on: Zarr arrays grow only at their end, so
 * the arrays are cut back to the day's start (their shapes; Icechunk drops chunks outside them) and
 * the days appended again with `appendDay`, the backfill's writer, with its checks.
 *
 * One writer: the same writer lock as `commitDay` on a local store, Icechunk's conditional branch
 * update on S3 (another writer's commit makes this one start again from the new tip). A store that
 * holds steps after the given days (a backfill committed a later day since the survey) is not cut:
 * `store-moved`, and the next batch surveys again. A commit whose files are already exactly the
 * store's (a retried activity whose commit landed) writes nothing.
 */
import { IcechunkError } from "../errors.js";
import { parseRefsJson } from "../model/kerchunkJson.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { stagedSourceVersion } from "../backfill/staged.js";
import { openRepository, repositoryLocation, withWriterLock, type SourceVersion } from "../icechunk/index.js";
import { appendDay } from "../icechunk/append.js";
import { dayCommitFacts } from "../icechunk/commitMessage.js";
import { loadDayReferences, type DayReferences } from "../icechunk/dayRefs.js";
import { icechunkFailure, isCommitConflict } from "../icechunk/failures.js";
import { resolveIcechunkOptions } from "../icechunk/options.js";
import { valuesInStoreUnits } from "../icechunk/placement.js";
import { readStoreState, type StoreState } from "../icechunk/storeState.js";
import { readEras } from "../icechunk/eras.js";
import { liveStagingKey } from "./extract.js";
import type { LiveCommitSummary, LiveDay } from "./model/steps.js";
import { liveCommitMessage, storeRecords, type LiveDayFacts } from "./records.js";
import { versionText } from "./survey.js";

interface LoadedDay {
  day: string;
  refs: DayReferences;
  versions: Map<string, SourceVersion>;
  /** [url, version] in time order of the files written, as the commit message records them. */
  files: [string, string][];
  /** [url, version] of the day's files the store keeps, before them. */
  kept: [string, string][];
}

async function loadDay(spec: ResolvedDatasetSpec, day: LiveDay): Promise<LoadedDay> {
  const storage = openStorage(spec.output.storage);
  try {
    const inputs: KerchunkRefs[] = [];
    const labels: string[] = [];
    const versions = new Map<string, SourceVersion>();
    const files: [string, string][] = [];
    for (const file of day.files) {
      const key = liveStagingKey(spec, day.day, file);
      const refs = parseRefsJson(new TextDecoder().decode(await storage.read(key)), storage.url(key));
      const recorded = stagedSourceVersion(refs);
      // The version of the bytes the extraction read (the listing's, unless the object changed since).
      if (recorded) versions.set(...recorded);
      files.push([file.url, recorded ? versionText(recorded[1]) : file.version]);
      inputs.push(refs);
      labels.push(storage.url(key));
    }
    const kept = (day.kept ?? []).map((file): [string, string] => [file.url, file.version]);
    return { day: day.day, refs: await loadDayReferences(spec, day.day, { refs: inputs, labels }), versions, files, kept };
  } finally {
    await storage.close();
  }
}

/** The store state as if its arrays along `dim` ended at `length` (the tail to be rewritten cut off). */
function cutAt(state: StoreState, dim: string, length: number): StoreState {
  const arrays = new Map(
    [...state.arrays].map(([path, meta]) => {
      const axis = meta.dimension_names?.indexOf(dim) ?? -1;
      return [path, axis < 0 ? meta : { ...meta, shape: meta.shape.map((n, i) => (i === axis ? length : n)) }];
    }),
  );
  return { empty: state.empty, arrays, values: state.values.slice(0, length) };
}

export async function commitLiveDays(spec: ResolvedDatasetSpec, days: LiveDay[]): Promise<LiveCommitSummary> {
  if (days.length === 0) throw new IcechunkError("empty-commit", repositoryLocation(spec).description, "no day to commit", false);
  const settings = resolveIcechunkOptions();
  const location = repositoryLocation(spec);
  const store = location.description;
  const loaded: LoadedDay[] = [];
  for (const day of [...days].sort((a, b) => (a.day < b.day ? -1 : 1))) loaded.push(await loadDay(spec, day));
  const versions = new Map(loaded.flatMap((d) => [...d.versions]));
  const dim = loaded[0]!.refs.dim;

  return withWriterLock(location, async () => {
    const { repository } = await openRepository(spec, settings, { create: true });
    for (let attempt = 1; attempt <= settings.maxCommitAttempts; attempt++) {
      try {
        const session = await repository.writableSession(settings.branch);
        // A store whose archive drifted keeps later days in era groups (lib/icechunk/eras.ts): live
        // writes the root era only, so it leaves such a store to the backfill and the Schedule.
        const eras = await readEras(session.store, store, dim, []);
        if (eras.groups.length > 1) {
          throw new IcechunkError("live-eras", store, `the store has ${eras.groups.length} eras (${eras.groups.slice(1).join(", ")}): live arrivals commit only to a store of one era; the Schedule's backfill commits these days`, false, { day: loaded[0]!.day });
        }
        const before = await readStoreState(session.store, store, dim, []);
        const coordinate = before.arrays.get(dim);
        const values = loaded.map((d) => (coordinate ? valuesInStoreUnits(d.refs, coordinate, { store, day: d.day }) : d.refs.values));
        const all = values.flat();
        const cut = before.values.filter((v) => v < all[0]!).length;
        const tail = before.values.slice(cut);
        if (tail.some((v) => v > all[all.length - 1]!)) {
          throw new IcechunkError("store-moved", store, `the store holds ${dim} steps after ${loaded[loaded.length - 1]!.day} (committed since the arrivals were surveyed): survey again`, false);
        }
        // A retried commit whose first attempt landed: the store has these days with these files.
        if (tail.length === all.length && tail.every((v, i) => v === all[i])) {
          const records = await storeRecords(repository, settings.branch, spec.name, loaded.map((d) => d.day));
          const same = loaded.every((d) => {
            const record = records.days.get(d.day);
            const all = [...d.kept, ...d.files];
            return record && record.files.size === all.length && all.every(([url, version]) => record.files.get(url) === version);
          });
          if (same) {
            return { snapshotId: records.days.get(loaded[0]!.day)!.snapshotId, written: false, days: loaded.map((d) => d.day), files: 0, steps: 0, storeLength: before.values.length, attempts: attempt };
          }
        }
        let state = cutAt(before, dim, cut);
        const facts: LiveDayFacts[] = [];
        for (const [i, day] of loaded.entries()) {
          await appendDay(session.store, day.refs, state, values[i]!, versions, { store, day: day.day, coordinateChunk: settings.coordinateChunk });
          state = await readStoreState(session.store, store, dim, []);
          // The record names the whole day (kept files too): it is the day's record from now on.
          const all = [...day.kept, ...day.files];
          const { source, files } = dayCommitFacts(
            { dataset: spec.name, day: day.day, dim, steps: values[i]!.length, first: values[i]![0]!, last: values[i]![values[i]!.length - 1]! },
            all.map(([url]) => url),
          );
          facts.push({ day: day.day, dim, steps: values[i]!.length, first: values[i]![0]!, last: values[i]![values[i]!.length - 1]!, source, files: files.map((file, k) => [file, all[k]![1]]) });
        }
        try {
          const snapshotId = await session.commit(liveCommitMessage({ dataset: spec.name, days: facts }));
          return { snapshotId, written: true, days: loaded.map((d) => d.day), files: loaded.reduce((n, d) => n + d.files.length, 0), steps: all.length, storeLength: state.values.length, attempts: attempt };
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
