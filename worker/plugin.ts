import { SimplePlugin } from "@temporalio/plugin";
import type { WorkerOptions } from "@temporalio/worker";
import { createActivities } from "../activities/index.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { presets } from "../lib/datasets/presets.js";
import type { DatasetSpec } from "../lib/datasets/spec.js";
import { prebuiltWorkflowBundle, workflowsPath } from "./bundle.js";

export interface TemporalKerchunkPluginOptions {
  /** Datasets the worker can build; the presets (himawari8-sst) when omitted. */
  datasets?: DatasetSpec[] | DatasetRegistry;
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
  constructor(options: TemporalKerchunkPluginOptions = {}) {
    const registry = options.datasets instanceof DatasetRegistry ? options.datasets : new DatasetRegistry(options.datasets ?? presets);
    const ours = createActivities(registry);
    const prebuilt = prebuiltWorkflowBundle();
    super({
      name: "temporal-kerchunk",
      activities: (existing) => ({ ...(existing ?? {}), ...ours }),
      ...(prebuilt ? { workflowBundle: prebuilt } : { workflowsPath }),
    });
  }

  /**
   * A heartbeat is what tells a running extraction it was cancelled: sent at least every 5 s (the
   * SDK's default throttle is 0.8 x the 20 s heartbeat timeout), so a cancel stops it quickly.
   */
  override configureWorker(options: WorkerOptions): WorkerOptions {
    return super.configureWorker({ maxHeartbeatThrottleInterval: "5 seconds", ...options });
  }
}
