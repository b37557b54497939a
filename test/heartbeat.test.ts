/**
 * activities/heartbeat.ts in Temporal's activity test environment (no server): heartbeats flow
 * while the work runs, and a cancellation ends the activity at once and aborts the work.
 */
import { CancelledFailure } from "@temporalio/common";
import { MockActivityEnvironment } from "@temporalio/testing";
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { withHeartbeats } from "../activities/heartbeat.js";

test("heartbeats every interval while the work runs, and returns its result", async () => {
  const env = new MockActivityEnvironment();
  let beats = 0;
  env.on("heartbeat", () => beats++);
  const result = await env.run(() => withHeartbeats(async () => (await sleep(130), 42), 20));
  assert.equal(result, 42);
  assert.ok(beats >= 4, `${beats} heartbeats in 130 ms at 20 ms`);
});

test("a cancellation ends the activity at once with CancelledFailure and aborts the work's signal", async () => {
  const env = new MockActivityEnvironment();
  let signal: AbortSignal | undefined;
  let workEnded = false;
  const started = performance.now();
  const running = env.run(() =>
    withHeartbeats(async (s) => {
      signal = s;
      // Long work that only notices an abort between steps, as extraction does.
      for (let step = 0; step < 100 && !s.aborted; step++) await sleep(50);
      workEnded = true;
      return "finished";
    }, 20),
  );
  await sleep(100);
  env.cancel();
  await assert.rejects(running, (e: unknown) => e instanceof CancelledFailure);
  assert.ok(performance.now() - started < 1000, `took ${Math.round(performance.now() - started)} ms to stop (the work alone takes 5 s)`);
  assert.equal(signal?.aborted, true);
  await sleep(120);
  assert.equal(workEnded, true, "the work did not stop after the abort");
});
