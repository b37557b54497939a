import { Context } from "@temporalio/activity";

/**
 * Heartbeat every `intervalMs` while `work` runs, so a dead worker is noticed within the heartbeat
 * timeout instead of the (long) start-to-close timeout, however long one step takes.
 */
export async function withHeartbeats<T>(work: () => Promise<T>, intervalMs = 2000): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), intervalMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
