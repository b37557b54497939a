import { NativeConnection, Worker, type WorkerOptions } from "@temporalio/worker";
import { createActivities } from "../activities/index.js";
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { workflowBundle } from "./bundle.js";
import { activityMetrics } from "./metrics.js";
import { checkNamespaceReady } from "./namespace.js";

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

/**
 * One place that wires our workflows (the prebuilt bundle) and activities into a Worker, after
 * checking that the namespace has our search attributes (worker/namespace.ts); a note when the
 * server does not let us check goes to `onNote` (stderr by default).
 */
export async function createWorker(options: CreateWorkerOptions & { onNote?: (note: string) => void }): Promise<Worker> {
  const namespace = options.namespace ?? "default";
  const note = await checkNamespaceReady(options.connection, namespace);
  if (note) (options.onNote ?? ((line: string) => console.error(line)))(note);
  return Worker.create({
    connection: options.connection,
    namespace,
    taskQueue: options.taskQueue ?? defaultTaskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities(options.datasets),
    // A heartbeat is what tells a running extraction it was cancelled: send them at least every 5 s
    // (the SDK's default throttle is 0.8 x the 20 s heartbeat timeout), so a cancel stops it quickly.
    maxHeartbeatThrottleInterval: "5 seconds",
    ...options.workerOptions,
    // Our metrics (worker/metrics.ts) beside any interceptors of the caller's.
    interceptors: { ...options.workerOptions?.interceptors, activity: [activityMetrics, ...(options.workerOptions?.interceptors?.activity ?? [])] },
  });
}
