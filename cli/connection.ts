import { Client, Connection } from "@temporalio/client";
import { ConnectionError } from "../lib/errors.js";
import { optional, text } from "../lib/settings/schema.js";
import { defaultTaskQueue } from "../worker/worker.js";

/** Where the Temporal cluster is: flags first, then the standard TEMPORAL_* environment, then the local default. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
}

/** Flags of every command that talks to Temporal. */
export const temporalOptions = {
  address: optional(text({ nonEmpty: true, expected: "host:port" })),
  namespace: optional(text({ nonEmpty: true })),
  "task-queue": optional(text({ nonEmpty: true })),
};

export function temporalSettings(values: { address?: string; namespace?: string; "task-queue"?: string }): TemporalSettings {
  return {
    address: values.address ?? process.env.TEMPORAL_ADDRESS ?? "localhost:7233",
    namespace: values.namespace ?? process.env.TEMPORAL_NAMESPACE ?? "default",
    taskQueue: values["task-queue"] ?? process.env.TEMPORAL_TASK_QUEUE ?? defaultTaskQueue,
  };
}

/** What went wrong, in words: the SDKs' messages for the common cases are long (tonic's Rust debug output) or vague. */
function connectionDetail(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/connection ?refused|ECONNREFUSED/i.test(message)) return "connection refused";
  if (/dns error|ENOTFOUND|EAI_AGAIN|failed to lookup|name resolution/i.test(message)) return "unknown host";
  if (/deadline/i.test(message)) return "no answer before the connection deadline";
  const line = message.split("\n")[0]!;
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/**
 * Run `connect` (a client's `Connection.connect` or a worker's `NativeConnection.connect`); any
 * failure becomes a ConnectionError naming the address tried and how to point at a server, which
 * the CLI prints as one line.
 */
export async function reachTemporal<T>(settings: TemporalSettings, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    throw new ConnectionError(
      "Temporal",
      settings.address,
      connectionDetail(error),
      "is a Temporal server running there? Give its address with --address or TEMPORAL_ADDRESS; " +
        "'npm run demo -- --keep' starts a local one and prints its address",
      { cause: error },
    );
  }
}

export async function connectClient(settings: TemporalSettings): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await reachTemporal(settings, () => Connection.connect({ address: settings.address }));
  return { client: new Client({ connection, namespace: settings.namespace }), close: () => connection.close() };
}
