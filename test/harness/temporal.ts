import { Client, Connection, type WorkflowHandle } from "@temporalio/client";
import type { QueryDefinition } from "@temporalio/common";
import { DefaultLogger, NativeConnection, Runtime } from "@temporalio/worker";
import { join } from "node:path";
import { TemporalDevServer } from "../../worker/devServer.js";
import { searchAttributeRegistrations } from "../../workflows/searchAttributes.js";
import { temporalAddress } from "./env.js";

let runtimeInstalled = false;

/** Worker-side connection to the run's dev server; the SDK's per-state INFO logs are silenced. */
export async function workerConnection(): Promise<NativeConnection> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger("WARN") });
    runtimeInstalled = true;
  }
  return NativeConnection.connect({ address: temporalAddress() });
}

export async function clientFor(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { client: new Client({ connection }), connection };
}

/**
 * A dev server of a test's own (its database in the test's folder), for what needs other server
 * settings (`dynamicConfig`, e.g. a tiny continue-as-new limit) or a server to stop; a client and
 * worker connections to it; `stop()` closes them and the server.
 */
export async function ownDevServer(dir: string, dynamicConfig: Record<string, string | number | boolean> = {}) {
  const server = await new TemporalDevServer({ searchAttributes: searchAttributeRegistrations, dbFile: join(dir, "temporal.db"), logFile: join(dir, "temporal.log"), dynamicConfig }).start();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  return {
    server,
    client,
    workerConnection: (): Promise<NativeConnection> => NativeConnection.connect({ address: server.address }),
    async stop(): Promise<void> {
      await connection.close();
      await server.stop();
    },
  };
}

/**
 * The "not yet" of a query: the server has no workflow task to answer it from yet (gRPC
 * FAILED_PRECONDITION, WorkflowNotReady: "Workflow task is not scheduled yet" and the like). Every
 * other error is real (no worker: the query times out after 30 s; a failed query; a closed
 * connection) and must surface.
 */
export function queryNotReadyYet(error: unknown): boolean {
  const e = error as { code?: unknown; cause?: { code?: unknown; details?: unknown }; message?: unknown };
  const code = e.code ?? e.cause?.code;
  const text = `${String(e.message ?? "")} ${String(e.cause?.details ?? "")}`;
  return code === 9 && /not ready|workflow task/i.test(text);
}

/**
 * Query `handle` until `until` holds of its answer, and return that answer. Only "not yet" is
 * retried (the answer does not hold yet, or the workflow has no state yet); any other query
 * error is thrown, and so is a timeout, naming what was awaited and the last answer seen.
 */
export async function pollQuery<T>(handle: WorkflowHandle, query: QueryDefinition<T>, until: (answer: T) => boolean, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await handle.query(query);
      if (until(last)) return last;
    } catch (error) {
      if (!queryNotReadyYet(error)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}; last answer: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
