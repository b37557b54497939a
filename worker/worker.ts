import { NativeConnection, Worker, type WorkerOptions } from "@temporalio/worker";
import { createActivities } from "../activities/index.js";
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { workflowsPath } from "./paths.js";

export const defaultTaskQueue = "temporal-kerchunk";

export interface CreateWorkerOptions {
  connection: NativeConnection;
  /** The datasets this worker can build (dataset specs live with the worker, never in workflow input). */
  datasets: DatasetRegistry;
  namespace?: string;
  taskQueue?: string;
  /** Any other Worker options (concurrency limits, plugins, ...). */
  workerOptions?: Partial<WorkerOptions>;
}

/** One place that wires our workflows and activities into a Worker. */
export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? "default",
    taskQueue: options.taskQueue ?? defaultTaskQueue,
    workflowsPath,
    activities: createActivities(options.datasets),
    ...options.workerOptions,
  });
}
