export interface BoundedAllOptions {
  /**
   * false (the default): the first failure to happen is thrown at once; the running items go on,
   * and a caller that must stop them aborts them then (an extraction's signal). Workflow code
   * relies on it: its recorded histories end at that moment.
   *
   * true: after a failure no new item starts, the running ones finish, and the failure of the
   * lowest index is thrown. Items start in index order, so that is the first failing item of the
   * list: the same input names the same file however the reads interleave (the census, whose
   * reads are short and are not aborted).
   */
  settle?: boolean;
}

/**
 * Run `work` over `items` with at most `limit` running at once, results in item order; on a
 * failure, see `BoundedAllOptions.settle`.
 *
 * Workflow code uses it too (it is part of the workflow bundle, see worker/bundle.ts): it imports
 * nothing and only uses promises, which Temporal replays in order, so it is deterministic there.
 */
export async function boundedAll<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
  options: BoundedAllOptions = {},
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failedAt = -1;
  let failure: unknown;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (failedAt < 0 && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        if (!options.settle) {
          failedAt = index;
          throw error;
        }
        if (failedAt < 0 || index < failedAt) [failedAt, failure] = [index, error];
      }
    }
  });
  await Promise.all(lanes);
  if (failedAt >= 0) throw failure;
  return results;
}

/**
 * At most `limit` holders at once; the rest wait in arrival order. A release hands its slot
 * straight to the next waiter, so no newcomer slips in between and the limit is exact.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  /** Run `work` holding a slot. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }
}
