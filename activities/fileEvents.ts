import { AsyncLocalStorage } from "node:async_hooks";
import type { SmallDayFileEvent } from "../lib/backfill/smallDays.js";

/**
 * Each file a batch of small days extracts, told to whoever listens around the activity running
 * now (the worker's metrics interceptor, worker/metrics.ts): an activity that extracts many files
 * reports each one without knowing who counts them, and nobody listening costs nothing.
 */
const listeners = new AsyncLocalStorage<(event: SmallDayFileEvent) => void>();

/** Run `work` (an activity) with `listener` told of each file it extracts. */
export function listenToFiles<T>(listener: (event: SmallDayFileEvent) => void, work: () => T): T {
  return listeners.run(listener, work);
}

/** Tell the listener around the current activity, if any, of a file's extraction. */
export function reportFile(event: SmallDayFileEvent): void {
  listeners.getStore()?.(event);
}
