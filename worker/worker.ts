import { NativeConnection, Worker, type WorkerOptions } from "@temporalio/worker";
import { createActivities } from "../activities/index.js";
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { workflowBundle } from "./bundle.js";

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

/** One place that wires our workflows (the prebuilt bundle) and activities into a Worker. */
export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? "default",
    taskQueue: options.taskQueue ?? defaultTaskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities(options.datasets),
    // A heartbeat is what tells a running extraction it was cancelled: send them at least every 5 s
    // (the SDK's default throttle is 0.8 x the 20 s heartbeat timeout), so a cancel stops it quickly.
    maxHeartbeatThrottleInterval: "5 seconds",
    ...options.workerOptions,
  });
}
