import { SimplePlugin } from "@temporalio/plugin";
import { createActivities } from "../activities/index.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { presets } from "../lib/datasets/presets.js";
import type { DatasetSpec } from "../lib/datasets/spec.js";
import { workflowsPath } from "./paths.js";

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
 * Your own activities on that worker are kept. The workflows come from this package's bundle, so
 * give the plugin a worker (and task queue) of its own, or pass no workflowsPath of yours.
 */
export class TemporalKerchunkPlugin extends SimplePlugin {
  constructor(options: TemporalKerchunkPluginOptions = {}) {
    const registry = options.datasets instanceof DatasetRegistry ? options.datasets : new DatasetRegistry(options.datasets ?? presets);
    const ours = createActivities(registry);
    super({
      name: "temporal-kerchunk",
      activities: (existing) => ({ ...(existing ?? {}), ...ours }),
      workflowsPath,
    });
  }
}
