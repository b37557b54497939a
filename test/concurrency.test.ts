import assert from "node:assert/strict";
import { test } from "node:test";
import { Semaphore } from "../lib/concurrency.js";

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
