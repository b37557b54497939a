/**
 * What Worker Versioning needs of a namespace, and where a Worker Deployment stands. The server
 * must allow Worker Deployment Versions on the namespace (dynamic config
 * `system.enableDeploymentVersions`, on by default in Temporal Server 1.29 and Temporal Cloud);
 * nothing else is set up ahead: a version exists once its workers poll, and gets tasks once it is
 * made current (`temporal worker deployment set-current-version`). `temporal-kerchunk setup
 * --deployment-name` reports it; a versioned worker checks it at start, so a namespace that
 * refuses versions fails at once in one line rather than in every poll.
 */
import type { WorkerDeploymentVersion } from "@temporalio/common";
import type { NativeConnection, WorkerOptions } from "@temporalio/worker";
import { ConfigError } from "../lib/errors.js";

/** Either connection (a client's or a worker's) has the workflow service. */
export type WorkflowServiceConnection = Pick<NativeConnection, "workflowService">;

export interface DeploymentStatus {
  /** Build ids of the versions whose workers have polled, oldest first. */
  versions: string[];
  current?: string;
  ramping?: string;
}

const NOT_FOUND = 5;
const PERMISSION_DENIED = 7;
const UNIMPLEMENTED = 12;

/** A one-line ConfigError for a namespace that refuses versions, or a server without them; else the error as it is. */
function deploymentsUnavailable(error: unknown, namespace: string): unknown {
  // A client's gRPC error says it in `details`, a worker's native connection in `message`.
  const { code, details, message } = error as { code?: number; details?: string; message?: string };
  if (code === PERMISSION_DENIED && /disabled/i.test(`${details ?? ""} ${message ?? ""}`)) {
    return new ConfigError(
      `namespace ${namespace}`,
      "Worker Deployment Versions are disabled on it: set the server's dynamic config system.enableDeploymentVersions to true for it, or run workers without --deployment-name",
    );
  }
  if (code === UNIMPLEMENTED) {
    return new ConfigError(`namespace ${namespace}`, "this Temporal server has no Worker Deployments (Temporal Server 1.28 or later has them): run workers without --deployment-name");
  }
  return error;
}

/**
 * The deployment's versions and its current and ramping one (no version yet when it does not
 * exist). Listing the namespace's deployments first is what tells a namespace that refuses versions
 * (describing a deployment there only says it is not found).
 */
export async function deploymentStatus(connection: WorkflowServiceConnection, namespace: string, deploymentName: string): Promise<DeploymentStatus> {
  try {
    await connection.workflowService.listWorkerDeployments({ namespace, pageSize: 1 });
    const { workerDeploymentInfo: info } = await connection.workflowService.describeWorkerDeployment({ namespace, deploymentName });
    const routing = info?.routingConfig;
    const created = (v: { createTime?: { seconds?: unknown; nanos?: number | null } | null }): number => Number(v.createTime?.seconds ?? 0) * 1e3 + (v.createTime?.nanos ?? 0) / 1e6;
    return {
      versions: [...(info?.versionSummaries ?? [])].sort((a, b) => created(a) - created(b)).map((v) => v.deploymentVersion?.buildId ?? "").filter((id) => id !== ""),
      ...(routing?.currentDeploymentVersion?.buildId ? { current: routing.currentDeploymentVersion.buildId } : {}),
      ...(routing?.rampingDeploymentVersion?.buildId ? { ramping: `${routing.rampingDeploymentVersion.buildId} (${routing.rampingVersionPercentage ?? 0}%)` } : {}),
    };
  } catch (error) {
    if ((error as { code?: number }).code === NOT_FOUND) return { versions: [] };
    throw deploymentsUnavailable(error, namespace);
  }
}

/** One line on a deployment for an operator: where it stands and what to run next. */
export function describeDeployment(deploymentName: string, status: DeploymentStatus, version?: WorkerDeploymentVersion): string {
  const parts = [
    `worker deployment ${deploymentName}: ${status.versions.length ? `versions ${status.versions.join(", ")}` : "no version yet"}`,
    `current ${status.current ?? "none (unversioned workers get the tasks)"}`,
    ...(status.ramping ? [`ramping ${status.ramping}`] : []),
  ];
  const next = version && status.current !== version.buildId ? version.buildId : undefined;
  return (
    parts.join("; ") +
    (next ? `; this worker (${next}) gets tasks once 'temporal worker deployment set-current-version --deployment-name ${deploymentName} --build-id ${next}' makes it current` : "")
  );
}

/**
 * Worker options for a Worker Deployment Version (createWorker's `deployment`; for a worker of your
 * own with the plugin: `workerDeploymentOptions: versionedWorker({ deploymentName, buildId })`).
 * Every workflow type of ours names its behavior (workflows/versioning.ts); the default covers a
 * workflow of yours on the same worker.
 */
export function versionedWorker(version: WorkerDeploymentVersion): NonNullable<WorkerOptions["workerDeploymentOptions"]> {
  return { useWorkerVersioning: true, version, defaultVersioningBehavior: "AUTO_UPGRADE" };
}
