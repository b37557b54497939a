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
 * activities at a time. One file per activity (the default): `maxConcurrentFiles` activities of one
 * file. Batches of 24 with `maxConcurrentFiles` 8: one activity at a time, 8 files at once inside it.
 */
export function extractionLanes(maxConcurrentFiles: number, filesPerActivity: number): { activities: number; filesAtOnce: number } {
  const limit = Math.max(1, Math.floor(maxConcurrentFiles));
  const filesAtOnce = Math.min(limit, Math.max(1, Math.floor(filesPerActivity)));
  return { activities: Math.max(1, Math.floor(limit / filesAtOnce)), filesAtOnce };
}
