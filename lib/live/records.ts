/**
 * What the store says it holds, per day: the live workflow's own commits name every day they
 * (re)wrote with its files and their versions (`temporal-kerchunk-live <JSON>`, a line of the
 * commit message, as the backfill's day commits carry `temporal-kerchunk-day <JSON>`); the
 * backfill's name a day's files without versions. The newest commit naming a day is the day's
 * record; the newest commit of either kind names the store's last day (both only ever write the
 * store's end). The live marker is not the day marker on purpose: a backfill or the Schedule does
 * not take a day the live workflow wrote as settled, so it lists and commits it again, which finds
 * it in the store as it is (`existing`) or refuses it when the store has fewer of its files.
 */
import type { Repository, SnapshotInfo } from "@earthmover/icechunk";
import { parseCommitMessage, type DayCommitFacts } from "../icechunk/index.js";

/**
 * A day as a live commit records it: the day commit's facts (its steps here are those this commit
 * wrote: a day appended to counts its new files' steps), with every file of the day in the store
 * after the commit, in time order, as [file relative to `source`, version].
 */
export type LiveDayFacts = Omit<DayCommitFacts, "dataset" | "files"> & { files: [string, string][] };

export interface LiveCommitFacts {
  dataset: string;
  days: LiveDayFacts[];
}

const MARKER = "temporal-kerchunk-live ";

export function liveCommitMessage(facts: LiveCommitFacts): string {
  const files = facts.days.reduce((n, d) => n + d.files.length, 0);
  const steps = facts.days.reduce((n, d) => n + d.steps, 0);
  return `${facts.dataset} live ${facts.days.map((d) => d.day).join(", ")}: ${steps} steps from ${files} files\n${MARKER}${JSON.stringify(facts)}`;
}

export function parseLiveCommitMessage(message: string): LiveCommitFacts | undefined {
  const line = message.split("\n").find((l) => l.startsWith(MARKER));
  if (!line) return undefined;
  try {
    const facts = JSON.parse(line.slice(MARKER.length)) as LiveCommitFacts;
    return typeof facts.dataset === "string" && Array.isArray(facts.days) ? facts : undefined;
  } catch {
    return undefined;
  }
}

/** A day as the store records it: file URL → version (undefined where a backfill commit recorded none). */
export interface DayRecord {
  files: Map<string, string | undefined>;
  snapshotId: string;
}

export interface StoreRecords {
  /** The store's last day (undefined: no commit of ours yet). */
  lastDay?: string;
  /** The newest record of each asked day the history names. */
  days: Map<string, DayRecord>;
}

/** The branch's snapshots from its tip, one lookup each, as far as the caller reads (`ancestry` reads them all first). */
async function* history(repository: Repository, branch: string): AsyncGenerator<SnapshotInfo> {
  for (let id: string | undefined = await repository.lookupBranch(branch); id; ) {
    const snapshot = await repository.lookupSnapshot(id);
    yield snapshot;
    id = snapshot.parentId;
  }
}

/**
 * The records of `days` on `branch`, walking the history from the tip until each is found, or
 * until a commit ends before the earliest of them: every commit ends at the store's end, which
 * never moves back, so older commits cannot name it. Cost: the snapshots back to the oldest asked
 * day's last commit, one lookup each (usually one: the tip names the day asked about, or ends
 * before it).
 */
export async function storeRecords(repository: Repository, branch: string, dataset: string, days: readonly string[]): Promise<StoreRecords> {
  const wanted = new Set(days);
  const earliest = [...wanted].sort()[0];
  const records: StoreRecords = { days: new Map() };
  for await (const snapshot of history(repository, branch)) {
    const live = parseLiveCommitMessage(snapshot.message);
    const backfill = live ? undefined : parseCommitMessage(snapshot.message);
    const named: { day: string; files: [string, string | undefined][] }[] = [];
    if (live?.dataset === dataset) for (const d of live.days) named.push({ day: d.day, files: d.files.map(([f, v]) => [d.source + f, v]) });
    if (backfill?.dataset === dataset) named.push({ day: backfill.day, files: backfill.files.map((f) => [backfill.source + f, undefined]) });
    if (named.length === 0) continue;
    const lastDay = named[named.length - 1]!.day;
    records.lastDay ??= lastDay;
    if (earliest !== undefined && lastDay < earliest) break;
    for (const { day, files } of named) {
      if (wanted.has(day) && !records.days.has(day)) records.days.set(day, { files: new Map(files), snapshotId: snapshot.id });
    }
    if ([...wanted].every((d) => records.days.has(d))) break;
  }
  return records;
}
