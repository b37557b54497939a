/**
 * Commit one day to a dataset's store, exactly once:
 *  1. combine the day's references (`dayRefs.ts`) and pin each source file's version;
 *  2. open the repository (created by the first day) and a writable session on the branch;
 *  3. place the day on the concat axis from what the store holds (`placement.ts`, `eras.ts`): a
 *     day already in the store (a retried activity, a worker killed after its commit landed, an
 *     overlapping backfill) returns the snapshot that committed it and writes nothing; a day before
 *     the store's end is refused; a day (or the part of a day) that the latest era cannot hold
 *     starts a new era group (drift "split", the default);
 *  4. write it (`append.ts`), each run of the day into its era, and commit once; when another writer moved the branch meanwhile, start
 *     again from 2 on the new tip (a rebase cannot merge two appends to the same arrays), so the
 *     checks of 3 always see the latest store and a day is never written twice.
 * A local repository is written by one writer at a time (`localWriterLock.ts`): Icechunk's local
 * filesystem storage cannot reject a second writer's branch update, so 4 would not see it.
 * Returns a small summary (for a Temporal activity's result).
 */
import { parseDay } from "../calendar/periods.js";
import { splitsAtDrift } from "../datasets/spec.js";
import { IcechunkError } from "../errors.js";
import { referencedUrls, type AppendResult } from "./append.js";
import { commitMessage, dayCommitFacts, type EraPart } from "./commitMessage.js";
import { loadDayRuns, type DayInput } from "./dayRefs.js";
import { placeRun, readEras, writeRun } from "./eras.js";
import { icechunkFailure, isCommitConflict } from "./failures.js";
import { findDayCommit } from "./history.js";
import { resolveIcechunkOptions, type IcechunkDataset, type IcechunkOptions } from "./options.js";
import { repositoryLocation } from "./location.js";
import { withWriterLock, type WriterLockOptions } from "./localWriterLock.js";
import { openRepository } from "./repository.js";
import { lookupSourceVersions, type SourceVersion } from "./sourceVersions.js";

export interface CommitDayOptions extends IcechunkOptions {
  /**
   * Versions of the source files recorded when their references were extracted (ETag or
   * modification time by URL). Missing ones are looked up now.
   */
  sourceVersions?: ReadonlyMap<string, SourceVersion>;
  /** Waiting for and breaking the writer lock of a local repository (`localWriterLock.ts`). */
  writerLock?: WriterLockOptions;
}

export interface DayCommitSummary {
  dataset: string;
  day: string;
  /** The repository, for messages ("s3://bucket/prefix/root.icechunk" or a folder). */
  store: string;
  /** The snapshot that holds the day: this commit's, or the earlier one when already committed. */
  snapshotId: string;
  /** True when the day was in the store already and nothing was written. */
  alreadyCommitted: boolean;
  /** The day's steps along the concat dimension, and the length of its (last) era after the commit. */
  steps: number;
  storeLength: number;
  /** The era groups the day went to ("" the root: the first era), and those it started. */
  eras: string[];
  newEras: string[];
  files: number;
  virtualRefs: number;
  inlineChunks: number;
  /** Commits tried (more than 1 when other writers moved the branch). */
  attempts: number;
  /** Time spent combining the day's references, and writing + committing. */
  combineMs: number;
  commitMs: number;
}

export async function commitDay(dataset: IcechunkDataset, day: string, input: DayInput, options: CommitDayOptions = {}): Promise<DayCommitSummary> {
  parseDay(day, "day");
  const settings = resolveIcechunkOptions(options);
  const split = splitsAtDrift(dataset.drift);
  const started = performance.now();
  const runs = await loadDayRuns(dataset, day, input, split);
  const combineMs = performance.now() - started;
  const dim = runs[0]!.dim;
  const steps = runs.reduce((n, run) => n + run.values.length, 0);

  const urls = [...new Set(runs.flatMap(referencedUrls))];
  const versions = new Map(options.sourceVersions ?? []);
  const unknown = urls.filter((url) => !versions.has(url));
  for (const [url, version] of await lookupSourceVersions(unknown, dataset.source.storage)) versions.set(url, version);

  const location = repositoryLocation(dataset);
  const store = location.description;
  const context = { store, day, dim, coordinateChunk: settings.coordinateChunk };
  const summary = (snapshotId: string, alreadyCommitted: boolean, attempts: number, storeLength: number, parts: EraPart[], newEras: string[], written?: AppendResult): DayCommitSummary => ({
    dataset: dataset.name,
    day,
    store,
    snapshotId,
    alreadyCommitted,
    steps,
    storeLength,
    eras: [...new Set(parts.map((p) => p.group))],
    newEras,
    files: written?.files.length ?? 0,
    virtualRefs: written?.virtualRefs ?? 0,
    inlineChunks: written?.inlineChunks ?? 0,
    attempts,
    combineMs: Math.round(combineMs),
    commitMs: Math.round(performance.now() - started - combineMs),
  });
  const paths = [...new Set(runs.flatMap((run) => [...run.references.arrays.keys()]))];

  return withWriterLock(location, async () => {
    const { repository } = await openRepository(dataset, settings, { create: true });
    for (let attempt = 1; attempt <= settings.maxCommitAttempts; attempt++) {
      try {
        const session = await repository.writableSession(settings.branch);
        // Each run of the day (one unless the day's files drift) into its era, in time order.
        const parts: EraPart[] = [];
        const newEras: string[] = [];
        const written: AppendResult = { virtualRefs: 0, inlineChunks: 0, files: [] };
        let committed = 0;
        let storeLength = 0;
        for (const run of runs) {
          const eras = await readEras(session.store, store, dim, paths);
          const placement = await placeRun(eras, run, context, split);
          if (placement.kind === "committed") {
            committed++;
            storeLength = (await eras.era(eras.groups.indexOf(placement.group))).state.values.length;
            parts.push({ group: placement.group, steps: run.values.length, first: run.values[0]!, last: run.values[run.values.length - 1]! });
            continue;
          }
          if (committed > 0) partialDay(store, day, dim);
          const { appended, part, storeLength: length } = await writeRun(session.store, run, placement, versions, context, split);
          if (placement.kind === "new-era") newEras.push(placement.group);
          written.virtualRefs += appended.virtualRefs;
          written.inlineChunks += appended.inlineChunks;
          written.files.push(...appended.files.filter((f) => !written.files.includes(f)));
          storeLength = length;
          parts.push(part);
        }
        if (committed === runs.length) {
          const earlier = await findDayCommit(repository, settings.branch, dataset.name, day);
          return summary(earlier?.snapshotId ?? session.snapshotId, true, attempt, storeLength, parts, []);
        }
        if (committed > 0) partialDay(store, day, dim);
        const facts = dayCommitFacts({ dataset: dataset.name, day, dim, steps, first: parts[0]!.first, last: parts[parts.length - 1]!.last }, written.files, parts);
        try {
          const snapshotId = await session.commit(commitMessage(facts));
          return summary(snapshotId, false, attempt, storeLength, parts, newEras, written);
        } catch (error) {
          if (!isCommitConflict(error)) throw error;
          // Another writer committed first: look at the store again (it may hold this very day now).
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 25 * 2 ** attempt * Math.random())));
        }
      } catch (error) {
        throw icechunkFailure(error, store, "committing the day", { day });
      }
    }
    throw new IcechunkError("commit-conflict", store, `other writers moved branch '${settings.branch}' during each of ${settings.maxCommitAttempts} commits`, true, { day });
  }, options.writerLock);
}

/** Part of the day is in the store and part is not: as for a day that partly overlaps the store. */
function partialDay(store: string, day: string, dim: string): never {
  throw new IcechunkError(
    "partial-overlap",
    store,
    `part of the day's ${dim} values are already in the store and part are not: the store cannot take the missing ones without rewriting the day (was it committed with fewer files?)`,
    false,
    { day, variable: dim },
  );
}
