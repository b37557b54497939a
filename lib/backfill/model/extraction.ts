/** `items` in consecutive groups of at most `size` (the files one extraction activity translates). */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const step = Math.max(1, Math.floor(size));
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += step) groups.push(items.slice(i, i + step));
  return groups;
}

/**
 * How a day's extraction is spread so that at most `maxConcurrentFiles` files are translated at
 * once, whatever the batch size: `filesAtOnce` files at a time inside each activity, `activities`
 * activities at a time. One file per activity: `maxConcurrentFiles` activities of one file. Batches
 * of 24 with `maxConcurrentFiles` 8: one activity at a time, 8 files at once inside it.
 */
export function extractionLanes(maxConcurrentFiles: number, filesPerActivity: number): { activities: number; filesAtOnce: number } {
  const limit = Math.max(1, Math.floor(maxConcurrentFiles));
  const filesAtOnce = Math.min(limit, Math.max(1, Math.floor(filesPerActivity)));
  return { activities: Math.max(1, Math.floor(limit / filesAtOnce)), filesAtOnce };
}

/** A day's extraction: its files in batches (one activity each), how many activities and files run at once. */
export interface ExtractionPlan<T> {
  batches: T[][];
  activities: number;
  filesAtOnce: number;
}

/**
 * The day's files as extraction activities. With `filesPerActivity` given, batches of that size
 * (`extractionLanes` sets how many run at once). By default, the files spread over
 * `min(files, maxConcurrentFiles)` activities of consecutive files, all running at once, each
 * translating its files one after another: as many files at once as before, in as few activities as
 * that allows (24 hourly files, 4 at once: 4 activities of 6 files, where one per file made 24).
 * Either way each file is staged as it finishes (an activity of several in bundles: docs/design.md,
 * "Per-file retries"), so a retried activity redoes only the files it had not staged, and a failing
 * file fails (and retries) only its own activity.
 */
export function extractionPlan<T>(files: readonly T[], maxConcurrentFiles: number, filesPerActivity?: number): ExtractionPlan<T> {
  if (filesPerActivity !== undefined) {
    const lanes = extractionLanes(maxConcurrentFiles, filesPerActivity);
    return { batches: batches(files, filesPerActivity), ...lanes };
  }
  const count = Math.max(1, Math.min(files.length, Math.floor(maxConcurrentFiles)));
  const spread: T[][] = [];
  for (let i = 0; i < count; i++) {
    const group = files.slice(Math.floor((i * files.length) / count), Math.floor(((i + 1) * files.length) / count));
    if (group.length > 0) spread.push(group);
  }
  return { batches: spread, activities: count, filesAtOnce: 1 };
}

/**
 * Days a batch of small days holds (one activity runs them, side by side as the month's lanes
 * allow: `batchLanes`): enough that the activity's fixed cost is small against its days' work, few
 * enough that a month of 31 days still runs as 4 activities, on more than one worker.
 */
export const SMALL_DAYS_PER_BATCH = 8;

/**
 * Default of the `smallDayFiles` setting: days of at most this many files (a file every half hour
 * or fewer) are batched (0: none). Why 48, with what a day workflow costs against such a day's
 * files: docs/design.md, "Small days in batches".
 */
export const DEFAULT_SMALL_DAY_FILES = 48;
