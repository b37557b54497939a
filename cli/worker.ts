import { DefaultLogger, NativeConnection, Runtime, type WorkerOptions } from "@temporalio/worker";
import { loadDatasetRegistry } from "../lib/datasets/config.js";
import { optional, text, whole } from "../lib/settings/schema.js";
import { createWorker } from "../worker/worker.js";
import { parseCommandLine } from "./args.js";
import { reachTemporal, temporalOptions, temporalOptionsHelp, temporalSettings } from "./connection.js";

const help = `usage: temporal-kerchunk worker [--config datasets.json] [--address host:port] [--namespace ns] [--task-queue q]
                                [--profile NAME] [--config-file temporal.toml] [--tls] [--tls-ca-path F]
                                [--tls-cert-path F] [--tls-key-path F] [--tls-server-name NAME]
                                [--max-activities N] [--max-local-activities N] [--max-workflow-tasks N]
                                [--max-cached-workflows N] [--metrics-port N] [--metrics-host H]

Runs a worker for the backfill workflows until SIGINT or SIGTERM, then drains and stops gracefully.
Settings: flags, else TEMPORAL_TASK_QUEUE, TK_CONFIG (the datasets config file; the built-in
presets are always available).
${temporalOptionsHelp} S3 credentials come from the
standard AWS environment and never leave the worker. Sizing (README, "Sizing a cluster"):
--max-activities (extractions and rollups at once, default 100), --max-local-activities (surveys and
day combines, default 100), --max-workflow-tasks (default 40), --max-cached-workflows (running
workflows kept in memory; default from the heap size).
--metrics-port N serves Prometheus metrics on http://<--metrics-host, default 0.0.0.0>:N/metrics (else
TK_METRICS_PORT): the SDK's (temporal_*) and ours (temporal_kerchunk_*: files extracted, bytes read,
seconds per file, failures by error kind, retries, outputs committed; docs/deploy.md).`;

/** The flags that size a worker for a cluster, and the worker option each one sets. */
const sizingFlags = {
  "max-activities": "maxConcurrentActivityTaskExecutions",
  "max-local-activities": "maxConcurrentLocalActivityExecutions",
  "max-workflow-tasks": "maxConcurrentWorkflowTaskExecutions",
  "max-cached-workflows": "maxCachedWorkflows",
} as const;
type SizingFlag = keyof typeof sizingFlags;

/** The worker options given by sizing flags (the worker's defaults fill in the rest). */
function workerSizing(values: Partial<Record<SizingFlag, number>>): Partial<WorkerOptions> {
  const options: Partial<WorkerOptions> = {};
  for (const [flag, option] of Object.entries(sizingFlags) as [SizingFlag, (typeof sizingFlags)[SizingFlag]][]) {
    const value = values[flag];
    if (value !== undefined) options[option] = value;
  }
  return options;
}

export const workerCommand = {
  summary: "run a worker for the backfill workflows",
  async run(args: string[]): Promise<number> {
    const line = parseCommandLine("worker", args, {
      ...temporalOptions,
      config: optional(text({ nonEmpty: true })),
      "max-activities": optional(whole({ min: 1 })),
      "max-local-activities": optional(whole({ min: 1 })),
      "max-workflow-tasks": optional(whole({ min: 1 })),
      "max-cached-workflows": optional(whole({ min: 1 })),
      "metrics-port": optional(whole({ min: 1, max: 65_535 })),
      "metrics-host": optional(text({ nonEmpty: true })),
    });
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values } = line;
    const settings = temporalSettings(values);
    const datasets = await loadDatasetRegistry(values.config ?? process.env.TK_CONFIG);
    const metricsPort = values["metrics-port"] ?? (process.env.TK_METRICS_PORT ? whole({ min: 1, max: 65_535 }).fromText(process.env.TK_METRICS_PORT, "TK_METRICS_PORT") : undefined);
    const metricsAddress = metricsPort === undefined ? undefined : `${values["metrics-host"] ?? "0.0.0.0"}:${metricsPort}`;
    Runtime.install({
      logger: new DefaultLogger((process.env.TK_LOG_LEVEL as "INFO" | "WARN" | undefined) ?? "INFO"),
      // Seconds, as Prometheus names durations; "_total" on counters, as its conventions want.
      ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } } : {}),
    });
    const connection = await reachTemporal(settings, () => NativeConnection.connect(settings.connectionOptions));
    const worker = await createWorker({
      connection,
      datasets,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      workerOptions: workerSizing(values),
    });
    // performance.now() counts from the process's start: the figure docs/benchmarks.md records.
    console.error(
      `worker on ${settings.describe()} task queue ${settings.taskQueue}; datasets: ${datasets.names().join(", ")}; ` +
        `${metricsAddress ? `metrics on http://${metricsAddress}/metrics; ` : ""}polling ${Math.round(performance.now())} ms after start`,
    );
    // The SDK's Runtime turns SIGINT/SIGTERM into a graceful shutdown: running activities finish first.
    await worker.run();
    await connection.close();
    console.error("worker stopped");
    return 0;
  },
};
