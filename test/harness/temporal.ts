import { Client, Connection } from "@temporalio/client";
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
