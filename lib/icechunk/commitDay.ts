/**
 * Commit one day to a dataset's store, exactly once:
 *  1. combine the day's references (`dayRefs.ts`) and pin each source file's version;
 *  2. open the repository (created by the first day) and a writable session on the branch;
 *  3. place the day on the concat axis from what the store holds (`placement.ts`): a day already
 *     in the store (a retried activity, a worker killed after its commit landed, an overlapping
 *     backfill) returns the snapshot that committed it and writes nothing; a day before the
 *     store's end is refused;
 *  4. write it (`append.ts`) and commit; when another writer moved the branch meanwhile, start
 *     again from 2 on the new tip (a rebase cannot merge two appends to the same arrays), so the
 *     checks of 3 always see the latest store and a day is never written twice.
 * A local repository is written by one writer at a time (`localWriterLock.ts`): Icechunk's local
 * filesystem storage cannot reject a second writer's branch update, so 4 would not see it.
 * Returns a small summary (for a Temporal activity's result).
 */
import { parseDay } from "../calendar/periods.js";
import { IcechunkError } from "../errors.js";
import { appendDay, referencedUrls } from "./append.js";
import { commitMessage, dayCommitFacts } from "./commitMessage.js";
import { loadDayReferences, type DayInput } from "./dayRefs.js";
import { icechunkFailure, isCommitConflict } from "./failures.js";
import { findDayCommit } from "./history.js";
import { resolveIcechunkOptions, type IcechunkDataset, type IcechunkOptions } from "./options.js";
import { placeDay, valuesInStoreUnits } from "./placement.js";
import { repositoryLocation } from "./location.js";
import { withWriterLock, type WriterLockOptions } from "./localWriterLock.js";
import { openRepository } from "./repository.js";
import { lookupSourceVersions, type SourceVersion } from "./sourceVersions.js";
import { readStoreState } from "./storeState.js";

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
  /** The day's steps along the concat dimension, and the store's length after the commit. */
  steps: number;
  storeLength: number;
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
  const started = performance.now();
  const dayRefs = await loadDayReferences(dataset, day, input);
  const combineMs = performance.now() - started;

  const urls = referencedUrls(dayRefs);
  const versions = new Map(options.sourceVersions ?? []);
  const unknown = urls.filter((url) => !versions.has(url));
  for (const [url, version] of await lookupSourceVersions(unknown, dataset.source.storage)) versions.set(url, version);

  const location = repositoryLocation(dataset);
  const store = location.description;
  const context = { store, day, dim: dayRefs.dim, coordinateChunk: settings.coordinateChunk };
  const summary = (snapshotId: string, alreadyCommitted: boolean, attempts: number, storeLength: number, written?: { files: number; virtualRefs: number; inlineChunks: number }): DayCommitSummary => ({
    dataset: dataset.name,
    day,
    store,
    snapshotId,
    alreadyCommitted,
    steps: dayRefs.values.length,
    storeLength,
    files: written?.files ?? 0,
    virtualRefs: written?.virtualRefs ?? 0,
    inlineChunks: written?.inlineChunks ?? 0,
    attempts,
    combineMs: Math.round(combineMs),
    commitMs: Math.round(performance.now() - started - combineMs),
  });

  return withWriterLock(location, async () => {
    const { repository } = await openRepository(dataset, settings, { create: true });
    for (let attempt = 1; attempt <= settings.maxCommitAttempts; attempt++) {
      try {
        const session = await repository.writableSession(settings.branch);
        const state = await readStoreState(session.store, store, dayRefs.dim, [...dayRefs.references.arrays.keys()]);
        const coordinateMeta = state.arrays.get(dayRefs.dim);
        const values = coordinateMeta ? valuesInStoreUnits(dayRefs, coordinateMeta, context) : dayRefs.values;
        const placement = placeDay(state.values, values, context);
        if (placement.kind === "committed") {
          const earlier = await findDayCommit(repository, settings.branch, dataset.name, day);
          return summary(earlier?.snapshotId ?? session.snapshotId, true, attempt, state.values.length);
        }
        const written = await appendDay(session.store, dayRefs, state, values, versions, context);
        const facts = dayCommitFacts(
          { dataset: dataset.name, day, dim: dayRefs.dim, steps: values.length, first: values[0]!, last: values[values.length - 1]! },
          written.files,
        );
        try {
          const snapshotId = await session.commit(commitMessage(facts));
          return summary(snapshotId, false, attempt, state.values.length + values.length, { ...written, files: written.files.length });
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
