import type { WorkerDeploymentVersion } from "@temporalio/common";
import { DefaultLogger, NativeConnection, Runtime, type WorkerOptions } from "@temporalio/worker";
import { ConfigError } from "../lib/errors.js";
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
                                [--deployment-name NAME --build-id ID]

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
seconds per file, failures by error kind, retries, outputs committed; docs/deploy.md).
--deployment-name NAME --build-id ID (else TEMPORAL_DEPLOYMENT_NAME, TEMPORAL_WORKER_BUILD_ID) run the
worker as that Worker Deployment Version (Worker Versioning): it gets tasks once the version is made
current ('temporal worker deployment set-current-version --deployment-name NAME --build-id ID');
days stay on the version they started on, backfills, years and months move to the current one
(README, "Upgrading workers"; docs/deploy.md). Without them the worker is unversioned.`;

/** The flags that size a worker for a cluster, and the worker option each one sets. */
const sizingFlags = {
  "max-activities": "maxConcurrentActivityTaskExecutions",
  "max-local-activities": "maxConcurrentLocalActivityExecutions",
  "max-workflow-tasks": "maxConcurrentWorkflowTaskExecutions",
  "max-cached-workflows": "maxCachedWorkflows",
} as const;
type SizingFlag = keyof typeof sizingFlags;

/** The Worker Deployment Version from the flags, else the environment (as Temporal's worker controller sets it); both or neither. */
function deploymentVersion(values: { "deployment-name"?: string | undefined; "build-id"?: string | undefined }, env: NodeJS.ProcessEnv): WorkerDeploymentVersion | undefined {
  const deploymentName = values["deployment-name"] ?? (env.TEMPORAL_DEPLOYMENT_NAME || undefined);
  const buildId = values["build-id"] ?? (env.TEMPORAL_WORKER_BUILD_ID || undefined);
  if (deploymentName === undefined && buildId === undefined) return undefined;
  if (deploymentName === undefined) throw new ConfigError("--deployment-name", "a build id needs its deployment name (--deployment-name or TEMPORAL_DEPLOYMENT_NAME)");
  if (buildId === undefined) throw new ConfigError("--build-id", "a deployment name needs a build id (--build-id or TEMPORAL_WORKER_BUILD_ID)");
  return { deploymentName, buildId };
}

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
      "deployment-name": optional(text({ nonEmpty: true })),
      "build-id": optional(text({ nonEmpty: true })),
    });
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values } = line;
    const settings = temporalSettings(values);
    const deployment = deploymentVersion(values, process.env);
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
      ...(deployment ? { deployment } : {}),
      workerOptions: workerSizing(values),
    });
    // performance.now() counts from the process's start: the figure docs/benchmarks.md records.
    console.error(
      `worker on ${settings.describe()} task queue ${settings.taskQueue}; ` +
        `${deployment ? `deployment version ${deployment.deploymentName}.${deployment.buildId}; ` : ""}datasets: ${datasets.names().join(", ")}; ` +
        `${metricsAddress ? `metrics on http://${metricsAddress}/metrics; ` : ""}polling ${Math.round(performance.now())} ms after start`,
    );
    // The SDK's Runtime turns SIGINT/SIGTERM into a graceful shutdown: running activities finish first.
    await worker.run();
    await connection.close();
    console.error("worker stopped");
    return 0;
  },
};
