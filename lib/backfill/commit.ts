import { parseRefsJson } from "../model/kerchunkJson.js";
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { commitDay, listDayCommits, openRepository, repositoryLocation, tagPeriod, type DayCommitSummary } from "../icechunk/index.js";
import { resolveIcechunkOptions } from "../icechunk/options.js";
import { dayCommits } from "../icechunk/history.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import type { SourceVersion } from "../source/byteSource.js";
import { stagedObjectOf } from "./names.js";
import { stagedSourceVersion } from "./staged.js";
import { removeDayStaging, StagedTexts } from "./stagedBundle.js";
import { IcechunkError, StorageError } from "../errors.js";
import { icechunkFailure } from "../icechunk/failures.js";
import type { FoundOutputs } from "./model/outputs.js";
import type { AggregateSummary, CommitSummary } from "./model/steps.js";

/**
 * The backfill's steps for a dataset whose output is an Icechunk store (`output.format`
 * "icechunk"), over lib/icechunk: a day's staged per-file references committed (exactly once, in
 * the calendar order the month workflow keeps), a month's or a year's tag, and what the store
 * already holds of a year. A period's output is named `<store>@<snapshot id>`.
 */
export const storeOutput = (spec: ResolvedDatasetSpec, snapshotId: string): string => `${repositoryLocation(spec).description}@${snapshotId}`;

/**
 * Commit a day from its staged per-file references, then remove them. A day already in the store
 * (a retried activity whose commit landed, a worker killed after its commit, an overlapping
 * backfill) is `existing`, with the snapshot that committed it; when its staging is gone already
 * (the run that committed it removed it), the store's history answers.
 */
export async function commitStagedDay(spec: ResolvedDatasetSpec, day: string, stagedKeys: string[]): Promise<CommitSummary> {
  const storage = openStorage(spec.output.storage);
  try {
    const inputs: KerchunkRefs[] = [];
    const sourceVersions = new Map<string, SourceVersion>();
    const sources: (string | undefined)[] = [];
    const texts = new StagedTexts(storage);
    let missing = false;
    for (const key of stagedKeys) {
      try {
        const refs = parseRefsJson(await texts.read(key), storage.url(key));
        const recorded = stagedSourceVersion(refs);
        if (recorded) sourceVersions.set(...recorded);
        sources.push(recorded?.[0]);
        inputs.push(refs);
      } catch (error) {
        if (await storage.exists(stagedObjectOf(key).object)) throw error;
        missing = true;
        break;
      }
    }
    let summary: Pick<DayCommitSummary, "snapshotId" | "alreadyCommitted" | "steps" | "files" | "attempts" | "commitMs">;
    if (missing) {
      const commit = (await listDayCommits(spec)).find((c) => c.dataset === spec.name && c.day === day);
      if (!commit) {
        // Not committed and not staged: the staging went away some other way. Extracting again fixes it.
        throw new StorageError(storage.description, stagedKeys[0] ?? "", `staged references of ${day} are missing and the day is not in the store: run the day again`, true);
      }
      summary = { snapshotId: commit.snapshotId, alreadyCommitted: true, steps: commit.steps, files: commit.files.length, attempts: 0, commitMs: 0 };
    } else {
      // Pinned to the versions read at extraction; a file staged without one is looked up now.
      summary = await commitDay(spec, day, { refs: inputs, labels: stagedKeys.map((k) => storage.url(k)), sources }, { sourceVersions });
    }
    // The day is in the store: its staging is not needed any more.
    await removeDayStaging(storage, stagedKeys);
    return {
      output: storeOutput(spec, summary.snapshotId),
      existing: summary.alreadyCommitted,
      snapshotId: summary.snapshotId,
      steps: summary.steps,
      files: summary.files,
      attempts: summary.attempts,
      commitMs: summary.commitMs,
    };
  } finally {
    await storage.close();
  }
}

/** Tag a completed month or year ("2022-01", "2022"): the snapshot of its last committed day. */
export async function tagStorePeriod(spec: ResolvedDatasetSpec, period: string, children: number): Promise<AggregateSummary> {
  const tag = await tagPeriod(spec, period);
  return { output: storeOutput(spec, tag.snapshotId), existing: !tag.created, inputs: children, chunkRefs: 0 };
}

/**
 * What the store holds of a year, as a listing of outputs would say it: each committed day, and
 * each month and the year that has a tag (period → `<store>@<snapshot>`). Read from the commit
 * messages of the branch (exact: each day commit names its day) and the tag list; a store that
 * does not exist yet holds nothing.
 */
export async function findStoreOutputs(spec: ResolvedDatasetSpec, year: string): Promise<FoundOutputs> {
  const settings = resolveIcechunkOptions();
  const found: FoundOutputs = {};
  let opened;
  try {
    opened = await openRepository(spec, settings, { create: false });
  } catch (error) {
    if (error instanceof IcechunkError && error.problem === "no-repository") return found;
    throw error;
  }
  const { repository, location } = opened;
  try {
    for (const commit of await dayCommits(repository, { branch: settings.branch })) {
      if (commit.dataset === spec.name && commit.day.startsWith(`${year}-`)) found[commit.day] ??= storeOutput(spec, commit.snapshotId);
    }
    for (const tag of await repository.listTags()) {
      if (tag === year || (tag.startsWith(`${year}-`) && /^\d{4}-\d{2}$/.test(tag))) found[tag] = storeOutput(spec, await repository.lookupTag(tag));
    }
  } catch (error) {
    throw icechunkFailure(error, location.description, `reading what the store holds of ${year}`);
  }
  return found;
}
