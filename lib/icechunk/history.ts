/**
 * The store's history as days: every commit this library made on a branch (or up to a tag), newest
 * first, read from the commit messages. Used to answer "which snapshot committed this day?" for a
 * retried commit and to find the snapshot a month's tag marks.
 */
import type { Repository } from "@earthmover/icechunk";
import { parseCommitMessage, type DayCommitFacts } from "./commitMessage.js";

export interface DayCommit extends DayCommitFacts {
  snapshotId: string;
  writtenAt: string;
}

/** Our day commits reachable from `ref` (a branch, or `{tag}`), newest first. */
export async function dayCommits(repository: Repository, ref: { branch: string } | { tag: string }): Promise<DayCommit[]> {
  const ancestry = await repository.ancestry(ref);
  const commits: DayCommit[] = [];
  for (const snapshot of ancestry) {
    const facts = parseCommitMessage(snapshot.message);
    if (facts) commits.push({ ...facts, snapshotId: snapshot.id, writtenAt: snapshot.writtenAt });
  }
  return commits;
}

/** The commit of `day` for `dataset` on the branch, if any. */
export async function findDayCommit(repository: Repository, branch: string, dataset: string, day: string): Promise<DayCommit | undefined> {
  return (await dayCommits(repository, { branch })).find((c) => c.dataset === dataset && c.day === day);
}
