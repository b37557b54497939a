import { Client, Connection } from "@temporalio/client";
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

export async function connectClient(settings: TemporalSettings): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: settings.address });
  return { client: new Client({ connection, namespace: settings.namespace }), close: () => connection.close() };
}
