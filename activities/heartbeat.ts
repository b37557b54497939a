import { Context } from "@temporalio/activity";

/**
 * Run an activity's long step with heartbeats every `intervalMs`, so a dead worker is noticed
 * within the heartbeat timeout instead of the (long) start-to-close timeout; and stop when the
 * activity is cancelled. Temporal answers a heartbeat with the cancellation when the workflow asked
 * for it (a cancelled backfill) or has gone (a fail-fast backfill ended): then `work`'s signal is
 * aborted and this returns at once with the cancellation instead of waiting for `work`. With
 * `details`, each heartbeat carries what it returns (a heartbeat replaces the details before it).
 */
export async function withHeartbeats<T>(work: (signal: AbortSignal) => Promise<T>, intervalMs = 2000, details?: () => unknown): Promise<T> {
  const context = Context.current();
  // No heartbeat at the start: the heartbeat timeout already counts from it, and most extractions
  // end before the first interval (a heartbeat is a server write, the cost of a small file).
  const timer = setInterval(() => context.heartbeat(details?.()), intervalMs);
  try {
    const running = work(context.cancellationSignal);
    // If the cancellation wins, a later failure of the abandoned work is expected, not unhandled.
    running.catch(() => undefined);
    return await Promise.race([running, context.cancelled]);
  } finally {
    clearInterval(timer);
  }
}
