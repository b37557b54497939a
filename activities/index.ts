// Every activity the worker registers: thin wrappers around the Temporal-free library in lib/.
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { createBackfillActivities } from "./backfill.js";
import { createCensusActivities } from "./census.js";
import { createLiveActivities } from "./live.js";
import { watchActivities } from "./watch.js";
import { describeWorker } from "./worker.js";

export { describeWorker } from "./worker.js";

/** All activities, bound to the worker's dataset configuration. */
export function createActivities(datasets: DatasetRegistry) {
  return { describeWorker, ...watchActivities, ...createBackfillActivities(datasets), ...createCensusActivities(datasets), ...createLiveActivities(datasets) };
}
