import { DefaultLogger, NativeConnection, Runtime } from "@temporalio/worker";
import { loadDatasetRegistry } from "../lib/datasets/config.js";
import { optional, text, whole } from "../lib/settings/schema.js";
import { createWorker } from "../worker/worker.js";
import { parseCommandLine } from "./args.js";
import { temporalOptions, temporalSettings } from "./connection.js";

const help = `usage: temporal-kerchunk worker [--config datasets.json] [--address host:port] [--namespace ns] [--task-queue q]
                                [--max-activities N]

Runs a worker for the backfill workflows until SIGINT or SIGTERM, then drains and stops gracefully.
Settings: flags, else TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, TK_CONFIG (the
datasets config file; the built-in presets are always available). S3 credentials come from the
standard AWS environment and never leave the worker.`;

export const workerCommand = {
  summary: "run a worker for the backfill workflows",
  async run(args: string[]): Promise<number> {
    const line = parseCommandLine("worker", args, {
      ...temporalOptions,
      config: optional(text({ nonEmpty: true })),
      "max-activities": optional(whole({ min: 1 })),
    });
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values } = line;
    const settings = temporalSettings(values);
    const datasets = await loadDatasetRegistry(values.config ?? process.env.TK_CONFIG);
    Runtime.install({ logger: new DefaultLogger((process.env.TK_LOG_LEVEL as "INFO" | "WARN" | undefined) ?? "INFO") });
    const connection = await NativeConnection.connect({ address: settings.address });
    const worker = await createWorker({
      connection,
      datasets,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      workerOptions: values["max-activities"] ? { maxConcurrentActivityTaskExecutions: values["max-activities"] } : {},
    });
    // performance.now() counts from the process's start: the figure docs/benchmarks.md records.
    console.error(
      `worker on ${settings.address} namespace ${settings.namespace} task queue ${settings.taskQueue}; datasets: ${datasets.names().join(", ")}; ` +
        `polling ${Math.round(performance.now())} ms after start`,
    );
    // The SDK's Runtime turns SIGINT/SIGTERM into a graceful shutdown: running activities finish first.
    await worker.run();
    await connection.close();
    console.error("worker stopped");
    return 0;
  },
};
