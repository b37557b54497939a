import type { Context } from "@temporalio/activity";
import type { SmallDayFileEvent } from "../lib/backfill/smallDays.js";

/**
 * Each file a batch of small days extracts, told to whoever listens around the activity running
 * now (the worker's metrics interceptor, worker/metrics.ts): an activity that extracts many files
 * reports each one without knowing who counts them, and nobody listening costs nothing. Keyed by
 * the activity's Context (the interceptor's and the activity's are the same object), not by an
 * AsyncLocalStorage of our own: node runs every enabled AsyncLocalStorage's hook on every promise
 * the worker makes, and Temporal's activity context already has one.
 */
const listeners = new WeakMap<Context, (event: SmallDayFileEvent) => void>();

/** Run `work` (an activity with this `context`) with `listener` told of each file it extracts. */
export async function listenToFiles<T>(context: Context, listener: (event: SmallDayFileEvent) => void, work: () => Promise<T>): Promise<T> {
  listeners.set(context, listener);
  try {
    return await work();
  } finally {
    listeners.delete(context);
  }
}

/** Tell the listener around the activity with this `context`, if any, of a file's extraction. */
export function reportFile(context: Context, event: SmallDayFileEvent): void {
  listeners.get(context)?.(event);
}
