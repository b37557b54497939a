/**
 * Run `work` over `items` with at most `limit` running at once, results in item order.
 * Deterministic in workflow code too: it only uses promises, which Temporal replays in order, and
 * this module imports nothing, so the workflow bundle can include it.
 */
export async function boundedAll<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}
