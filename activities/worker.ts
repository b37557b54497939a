import { hostname } from "node:os";

/** Identifies the worker process that ran an activity (used by `ping`). */
export async function describeWorker(): Promise<string> {
  return `${hostname()} pid ${process.pid} node ${process.version}`;
}
