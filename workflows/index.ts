// Every workflow the worker registers. Workflow code is deterministic: no I/O, no clocks, no randomness.
// The backfill's types carry a version (V3): a change of history shape gets new type names, so a
// worker of new code never replays a run of old code (README, "Upgrading workers").
export { ping } from "./ping.js";
export { backfillV3 } from "./backfill.js";
export { backfillYearV3 } from "./year.js";
export { backfillMonthV3 } from "./month.js";
export { backfillDayV3 } from "./day.js";
export { updateDataset } from "./update.js";
export { censusV1 } from "./census.js";
export { liveV1 } from "./live.js";
