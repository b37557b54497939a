import { NativeConnection, Worker, type WorkerOptions } from "@temporalio/worker";
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { workflowBundle } from "./bundle.js";
import { TemporalKerchunkPlugin } from "./plugin.js";

export const defaultTaskQueue = "temporal-kerchunk";

export interface CreateWorkerOptions {
  connection: NativeConnection;
  /** The datasets this worker can build (dataset specs live with the worker, never in workflow input). */
  datasets: DatasetRegistry;
  namespace?: string;
  taskQueue?: string;
  /** Any other Worker options (concurrency limits, more plugins, ...). */
  workerOptions?: Partial<WorkerOptions>;
}

/**
 * A Worker of our own (the CLI's `worker` and `demo`, the tests), made as any user makes one: with
 * `TemporalKerchunkPlugin`, the one wiring of our workflows and activities. The workflow bundle is
 * built first when it is missing (running from source), so the plugin finds it prebuilt.
 */
export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  await workflowBundle();
  const { plugins = [], ...workerOptions } = options.workerOptions ?? {};
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? "default",
    taskQueue: options.taskQueue ?? defaultTaskQueue,
    ...workerOptions,
    plugins: [new TemporalKerchunkPlugin({ datasets: options.datasets }), ...plugins],
  });
}
