// Every workflow the worker registers. Workflow code is deterministic: no I/O, no clocks, no randomness.
export { ping } from "./ping.js";
export { backfill, backfillYear, backfillMonth, backfillDay } from "./backfill.js";
export { updateDataset } from "./update.js";
