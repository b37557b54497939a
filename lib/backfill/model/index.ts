// The backfill's domain model: plain data and pure rules shared by the workflows (this folder is
// bundled into workflow code), `backfillDirect`, the activities and the CLI.
export * from "./result.js";
export * from "./plan.js";
export * from "./rollup.js";
export * from "./status.js";
export * from "./summary.js";
export * from "./progress.js";
export * from "./extraction.js";
export * from "./lanes.js";
export * from "./outputs.js";
export * from "./steps.js";
export * from "./calendarOrder.js";
export * from "./output.js";
export * from "./day.js";
export * from "./abandoned.js";
