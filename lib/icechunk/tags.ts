/**
 * A tag per completed month or year ("2022-01", "2022"), so users open the store as it was when
 * January was done. The tag marks the newest day commit on the branch whose day falls in or before
 * the period, which is the month's last committed day even when later days were committed before
 * the tag call (overlapping backfills). Tags are immutable in Icechunk: tagging again is a no-op
 * when the tag already marks that snapshot, and an IcechunkError when it marks another.
 */
import { parsePeriod } from "../calendar/periods.js";
import { IcechunkError } from "../errors.js";
import { icechunkFailure } from "./failures.js";
import { dayCommits } from "./history.js";
import { resolveIcechunkOptions, type IcechunkDataset, type IcechunkOptions } from "./options.js";
import { openRepository } from "./repository.js";

export interface PeriodTag {
  tag: string;
  snapshotId: string;
  /** The last day committed in the period. */
  lastDay: string;
  /** False when the tag already existed (and marks the same snapshot). */
  created: boolean;
}

/** The tag name of a period: its id ("2022-01", "2022"). */
export const periodTagName = (periodId: string): string => parsePeriod(periodId).id;

export async function tagPeriod(dataset: IcechunkDataset, periodId: string, options: IcechunkOptions = {}): Promise<PeriodTag> {
  const period = parsePeriod(periodId);
  if (period.level === "day") throw new IcechunkError("unsupported-tag", dataset.name, `tags mark months and years, not days (${periodId})`, false);
  const settings = resolveIcechunkOptions(options);
  const { repository, location } = await openRepository(dataset, settings, { create: false });
  const tag = periodTagName(periodId);
  try {
    // Day ids compare as text in calendar order; the period's days all start with its id.
    const commits = await dayCommits(repository, { branch: settings.branch });
    const marked = commits.find((c) => c.dataset === dataset.name && (c.day.startsWith(period.id) || c.day < period.id));
    if (!marked || !marked.day.startsWith(period.id)) {
      throw new IcechunkError("empty-period", location.description, `no day of ${period.id} has been committed to branch '${settings.branch}'`, false);
    }
    const existing = (await repository.listTags()).includes(tag) ? await repository.lookupTag(tag) : undefined;
    if (existing !== undefined) {
      if (existing !== marked.snapshotId) {
        throw new IcechunkError("tag-exists", location.description, `tag ${tag} marks snapshot ${existing}, not ${marked.snapshotId} (the commit of ${marked.day}); Icechunk tags cannot move`, false);
      }
      return { tag, snapshotId: existing, lastDay: marked.day, created: false };
    }
    try {
      await repository.createTag(tag, marked.snapshotId);
    } catch (error) {
      // Another writer tagged at the same moment: fine if it chose the same snapshot.
      if ((await repository.listTags()).includes(tag) && (await repository.lookupTag(tag)) === marked.snapshotId) {
        return { tag, snapshotId: marked.snapshotId, lastDay: marked.day, created: false };
      }
      throw error;
    }
    return { tag, snapshotId: marked.snapshotId, lastDay: marked.day, created: true };
  } catch (error) {
    throw icechunkFailure(error, location.description, `tagging ${tag}`);
  }
}
