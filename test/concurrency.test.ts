import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { boundedAll, Semaphore } from "../lib/concurrency.js";

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("a semaphore's limit is exact: a release hands the slot to the next waiter, not to a newcomer", async () => {
  const slots = new Semaphore(1);
  await slots.acquire();
  let waiterIn = false;
  const waiter = slots.acquire().then(() => (waiterIn = true));
  slots.release();
  // A newcomer arriving right after the release must wait behind the waiter.
  let newcomerIn = false;
  const newcomer = slots.acquire().then(() => (newcomerIn = true));
  await waiter;
  await turn();
  assert.equal(waiterIn, true);
  assert.equal(newcomerIn, false, "two holders of a one-slot semaphore");
  slots.release();
  await newcomer;
  assert.equal(newcomerIn, true);
});

test("a semaphore never has more than its limit at work, under churn", async () => {
  const slots = new Semaphore(4);
  let active = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      slots.run(async () => {
        active++;
        peak = Math.max(peak, active);
        for (let k = 0; k < i % 3; k++) await turn();
        active--;
      }),
    ),
  );
  assert.equal(peak, 4);
});

describe("boundedAll", () => {
  /** Item i fails with Error(`item i`) after `delays[i]` turns, or returns i; the log says when each ended. */
  const items = (delays: number[], failing: Set<number>, ended: number[]) => async (delay: number, i: number) => {
    for (let k = 0; k < delay; k++) await turn();
    ended.push(i);
    if (failing.has(i)) throw new Error(`item ${i}`);
    return i;
  };

  test("settle: throws the failure of the lowest failing index, whichever fails first, after the running items end", async () => {
    const ended: number[] = [];
    // Item 3 fails at once, item 1 ten turns later: item 1 is the file a user is told about.
    const thrown = await boundedAll([10, 12, 5, 0, 0, 0], 4, items([10, 12, 5, 0, 0, 0], new Set([1, 3]), ended), { settle: true }).catch((e: unknown) => e);
    assert.equal((thrown as Error).message, "item 1");
    assert.deepEqual([...ended].sort(), [0, 1, 2, 3], "the running items ended before the call threw; none started after the failure");
  });

  test("by default (workflow code, extractions that abort the rest): the first failure to happen is thrown at once", async () => {
    const ended: number[] = [];
    const thrown = await boundedAll([10, 12, 0, 0], 4, items([10, 12, 0, 0], new Set([1, 3]), ended)).catch((e: unknown) => e);
    assert.equal((thrown as Error).message, "item 3");
    assert.ok(!ended.includes(1), `thrown before the slower failure ended: ${ended.join(", ")}`);
  });

  test("results in item order when nothing fails", async () => {
    assert.deepEqual(await boundedAll([3, 0, 2, 1], 2, items([3, 0, 2, 1], new Set(), [])), [0, 1, 2, 3]);
  });
});
