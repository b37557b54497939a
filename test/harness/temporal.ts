import { Client, Connection } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime } from "@temporalio/worker";
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
