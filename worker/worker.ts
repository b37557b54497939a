import type { WorkerDeploymentVersion } from "@temporalio/common";
import { NativeConnection, Worker, type WorkerOptions } from "@temporalio/worker";
import type { DatasetRegistry } from "../lib/datasets/config.js";
import { workflowBundle } from "./bundle.js";
import { deploymentStatus, describeDeployment, versionedWorker } from "./deployment.js";
import { checkNamespaceReady } from "./namespace.js";
import { TemporalKerchunkPlugin } from "./plugin.js";

export const defaultTaskQueue = "temporal-kerchunk";

export interface CreateWorkerOptions {
  connection: NativeConnection;
  /** The datasets this worker can build (dataset specs live with the worker, never in workflow input). */
  datasets: DatasetRegistry;
  namespace?: string;
  taskQueue?: string;
  /**
   * Run as this Worker Deployment Version (Worker Versioning): the worker gets tasks once its
   * version is the deployment's current (or ramping) one, and each workflow type moves between
   * versions as workflows/versioning.ts says. Unversioned when omitted.
   */
  deployment?: WorkerDeploymentVersion;
  /** Any other Worker options (concurrency limits, more plugins, ...). */
  workerOptions?: Partial<WorkerOptions>;
}

/**
 * A Worker of our own (the CLI's `worker` and `demo`, the tests), made as any user makes one: with
 * `TemporalKerchunkPlugin`, the one wiring of our workflows, activities and metrics. The namespace
 * is checked first (our search attributes; worker/namespace.ts), so a worker refuses before it says
 * it polls; a note when the server does not let us check goes to `onNote` (stderr by default). The
 * workflow bundle is built first when it is missing (running from source), so the plugin finds it
 * prebuilt. A worker given a deployment version says where its deployment stands (worker/deployment.ts).
 */
export async function createWorker(options: CreateWorkerOptions & { onNote?: (note: string) => void }): Promise<Worker> {
  const namespace = options.namespace ?? "default";
  const say = options.onNote ?? ((line: string) => console.error(line));
  const note = await checkNamespaceReady(options.connection, namespace);
  if (note) say(note);
  // A versioned worker: the namespace allows versions (else one line now), and where its deployment stands.
  if (options.deployment) say(describeDeployment(options.deployment.deploymentName, await deploymentStatus(options.connection, namespace, options.deployment.deploymentName), options.deployment));
  await workflowBundle();
  const { plugins = [], ...workerOptions } = options.workerOptions ?? {};
  return Worker.create({
    connection: options.connection,
    namespace,
    taskQueue: options.taskQueue ?? defaultTaskQueue,
    ...(options.deployment ? { workerDeploymentOptions: versionedWorker(options.deployment) } : {}),
    ...workerOptions,
    plugins: [new TemporalKerchunkPlugin({ datasets: options.datasets, checkNamespace: false }), ...plugins],
  });
}
