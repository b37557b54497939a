import { SimplePlugin } from "@temporalio/plugin";
import { Runtime, type Worker, type WorkerOptions } from "@temporalio/worker";
import { createActivities } from "../activities/index.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { presets } from "../lib/datasets/presets.js";
import type { DatasetSpec } from "../lib/datasets/spec.js";
import { prebuiltWorkflowBundle, workflowsPath } from "./bundle.js";
import { activityMetrics } from "./metrics.js";
import { checkNamespaceReady } from "./namespace.js";

/**
 * Connection settings read as our CLI and worker read them (a temporal.toml profile, the TEMPORAL_*
 * environment, overrides), for the worker you create:
 *
 *   const { connectionOptions, namespace } = temporalConnectConfig({ profile: "prod" });
 *   const connection = await NativeConnection.connect(connectionOptions);
 */
export { temporalConnectConfig, type ConnectionOverrides, type TemporalConnectConfig } from "./connection.js";

/**
 * Worker Versioning for the worker you create (docs/deploy.md, "Worker Versioning"):
 *
 *   Worker.create({ ..., workerDeploymentOptions: versionedWorker({ deploymentName: "archives", buildId: "1.3.0" }),
 *     plugins: [new TemporalKerchunkPlugin()] });
 */
export { versionedWorker } from "./deployment.js";

/** The entry module of our workflows, to bundle them yourself (the plugin's `workflowBundle` option). */
export { workflowsPath } from "./bundle.js";

export interface TemporalKerchunkPluginOptions {
  /** Datasets the worker can build; the presets (himawari8-sst) when omitted. */
  datasets?: DatasetSpec[] | DatasetRegistry;
  /**
   * Our workflows bundled by you, e.g. with workflow interceptor modules of yours (OpenTelemetry
   * tracing: `bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [...] })`, with this
   * package's `workflowsPath`). Default: the prebuilt bundle. A worker with a plugin of ours takes
   * its workflows from the plugin, so interceptor modules given to the worker itself are not bundled.
   */
  workflowBundle?: { code: string } | { codePath: string };
  /**
   * Check at the worker's start that the namespace has our search attributes (default true);
   * createWorker checks before it creates the worker, and turns this off.
   */
  checkNamespace?: boolean;
}

/**
 * Adds our workflows and activities to a Worker you create yourself:
 *
 *   const worker = await Worker.create({ connection, taskQueue: "temporal-kerchunk",
 *     plugins: [new TemporalKerchunkPlugin({ datasets: [mySpec] })] });
 *
 * Your own activities on that worker are kept. The workflows come from this package's prebuilt
 * bundle (`npm run build`; bundled at the worker's start when there is none), so give the plugin a
 * worker (and task queue) of its own, or pass no workflowsPath of yours.
 */
export class TemporalKerchunkPlugin extends SimplePlugin {
  private readonly checkNamespace: boolean;

  constructor(options: TemporalKerchunkPluginOptions = {}) {
    const registry = options.datasets instanceof DatasetRegistry ? options.datasets : new DatasetRegistry(options.datasets ?? presets);
    const ours = createActivities(registry);
    const prebuilt = options.workflowBundle ?? prebuiltWorkflowBundle();
    super({
      name: "temporal-kerchunk",
      activities: (existing) => ({ ...(existing ?? {}), ...ours }),
      // Our metrics (worker/metrics.ts), through the SDK's meter: exported as your Runtime exports the SDK's.
      workerInterceptors: (existing) => ({ ...existing, activity: [...(existing?.activity ?? []), activityMetrics] }),
      ...(prebuilt ? { workflowBundle: prebuilt } : { workflowsPath }),
    });
    this.checkNamespace = options.checkNamespace ?? true;
  }

  /**
   * Before the worker polls: the namespace has our search attributes, or a one-line ConfigError
   * says to run 'temporal-kerchunk setup' (worker/namespace.ts).
   */
  override async runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    if (this.checkNamespace && worker.connection) {
      const note = await checkNamespaceReady(worker.connection, worker.options.namespace);
      if (note) Runtime.instance().logger.warn(note);
    }
    return super.runWorker(worker, next);
  }

  /**
   * A heartbeat is what tells a running extraction it was cancelled: sent at least every 5 s (the
   * SDK's default throttle is 0.8 x the 20 s heartbeat timeout), so a cancel stops it quickly.
   */
  override configureWorker(options: WorkerOptions): WorkerOptions {
    return super.configureWorker({ maxHeartbeatThrottleInterval: "5 seconds", ...options });
  }
}
