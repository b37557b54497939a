/**
 * Worker Versioning (issue 21): a backfill started on deployment version A keeps running right when
 * version B, whose workflow code has a change behind `patched()`, is made current mid-run, and
 * version A's workers are stopped once the server says A is drained. "Mid-run" is made certain,
 * not raced: once a few days are written the source store (MinIO behind Toxiproxy) goes down, so
 * the days in flight retry their reads on A while B is deployed, and comes back once B is current. Version A is a
 * `temporal-kerchunk worker --deployment-name --build-id` process; B is a worker of its own in this
 * process with the plugin given a bundle of our workflows plus the change
 * (test/fixtures/versioning/patchedChange.ts). Checked: every
 * day ends exactly once, written, the outputs equal the bare library's; each day ran wholly on
 * one version (pinned), days ran on both; the backfill, its years and months moved from A to B
 * (auto-upgrade); no workflow is left running; every history replays on B's code. `setup
 * --deployment-name` and the versioned worker say where the deployment stands, and a namespace
 * that refuses versions is one line from both.
 */
import type { Client } from "@temporalio/client";
import proto from "@temporalio/proto";
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from "@temporalio/worker";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { backfillDirect } from "../lib/backfill/direct.js";
import { resolveDatasetSpec } from "../lib/datasets/spec.js";
import { repositoryRoot, toolPath } from "../lib/servers/process.js";
import { workflowsPath } from "../worker/bundle.js";
import { TemporalDevServer } from "../worker/devServer.js";
import { TemporalKerchunkPlugin, versionedWorker } from "../worker/plugin.js";
import { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";
import { versioningBehaviors } from "../workflows/versioning.js";
import { VERSION_B_PATCH } from "./fixtures/versioning/patchedChange.js";
import { makeArchive, startWorkerProcess, testDataset, uploadArchive, writeConfig } from "./harness/archive.js";
import { runCli } from "./harness/cli.js";
import { testDir } from "./harness/env.js";
import { until as waitUntil } from "./harness/wait.js";
import { datasetHistories, filesUnder, markerTexts, type History } from "./harness/outputs.js";
import { ToxiproxyServer } from "./harness/servers/toxiproxy.js";
import { ownDevServer } from "./harness/temporal.js";

const { VersionDrainageStatus, VersioningBehavior, WorkerDeploymentVersionStatus } = proto.temporal.api.enums.v1;
const DEPLOYMENT = "temporal-kerchunk";
const DATASET = "versioned";
const taskQueue = "versioning";
const START = "2021-12-25";
const DAYS = 14; // 2021-12-25 .. 2022-01-07: two years, two months, fourteen days

/** The shared wait (test/harness/wait.ts), with this test's longer bound: a rollout waits on pollers and drainage. */
const until = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => waitUntil(what, probe, 120_000);

async function describeVersion(client: Client, buildId: string) {
  try {
    const response = await client.workflowService.describeWorkerDeploymentVersion({ namespace: "default", deploymentVersion: { deploymentName: DEPLOYMENT, buildId } });
    return response.workerDeploymentVersionInfo ?? undefined;
  } catch (error) {
    if ((error as { code?: number }).code === 5) return undefined; // NOT_FOUND: no worker of it has polled yet
    throw error;
  }
}

const run = promisify(execFile);

/** The Temporal CLI against the test's server, as the docs tell an operator to run it. */
async function temporalCli(address: string, args: string[]): Promise<{ code: number; output: string }> {
  return run(toolPath("temporal", "TEMPORAL_CLI_PATH"), [...args, "--address", address, "--namespace", "default"], { timeout: 60_000 }).then(
    (r) => ({ code: 0, output: r.stdout }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` }),
  );
}

/**
 * `temporal worker deployment set-current-version --deployment-name ... --build-id ...` (docs/deploy.md),
 * tried until the server knows the version's workers poll every task queue of the current one (the
 * workflow and the activity queue: until then it refuses).
 */
async function setCurrentVersion(address: string, buildId: string): Promise<void> {
  let last = "";
  await until(`version ${buildId} to become current (its workers poll every task queue)`, async () => {
    const result = await temporalCli(address, ["worker", "deployment", "set-current-version", "--deployment-name", DEPLOYMENT, "--build-id", buildId, "--yes"]);
    last = result.output;
    if (result.code === 0) return true;
    if (/not found|missing active task queues|no pollers/i.test(result.output)) return undefined;
    throw new Error(`set-current-version ${buildId}: ${result.output}`);
  }).catch((error: Error) => {
    throw new Error(`${error.message}; last: ${last}`);
  });
}

/** Build ids of the workers that completed each workflow task of a history, in order. */
function taskBuildIds(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const completed = e.workflowTaskCompletedEventAttributes;
    return completed ? [completed.deploymentVersion?.buildId ?? "unversioned"] : [];
  });
}

/** Workflow task failures in the dataset's histories (a non-determinism error shows here), one line each. */
async function taskFailures(client: Client): Promise<string[]> {
  const found: string[] = [];
  for (const [id, history] of await datasetHistories(client, DATASET)) {
    for (const event of history.events ?? []) {
      const failed = event.workflowTaskFailedEventAttributes;
      if (failed) found.push(`${id}: ${failed.failure?.message?.split("\n")[0]}`);
    }
  }
  return found;
}

/** The backfill's result, or (after `ms`) an error saying which workflow tasks fail. */
async function resultWithin<T>(client: Client, result: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => void taskFailures(client).then((failures) => reject(new Error(`the backfill did not end within ${ms / 1000} s; workflow task failures:\n${failures.slice(0, 5).join("\n")}`)), reject), ms);
  });
  try {
    return await Promise.race([result, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a history records the marker of patch `patch` (a patch marker's details name its id). */
const hasMarker = (history: History, patch: string): boolean => (history.events ?? []).some((e) => markerTexts(e).some((text) => text.includes(patch)));

const workflowType = (history: History): string => history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? "";

test("a backfill begun on version A ends right when version B (a patched workflow change) becomes current mid-run and A is stopped drained", async (t) => {
  Runtime.install({ logger: new DefaultLogger("WARN") });
  const dir = await testDir("versioning");
  // The drainage status is refreshed every few minutes by default; seconds here.
  const server = await ownDevServer(dir, {
    "matching.wv.VersionDrainageStatusRefreshInterval": "1s",
    "matching.wv.VersionDrainageStatusVisibilityGracePeriod": "1s",
  });
  const { client } = server;
  const archive = join(dir, "archive");
  const bucket = await uploadArchive(archive, await makeArchive(archive, START, DAYS, { hours: 4, grid: [20, 40] }), "versioning");
  const toxiproxy = await new ToxiproxyServer().start();
  const store = await toxiproxy.createProxy("versioning-s3", process.env.AWS_ENDPOINT_URL!);
  const spec = testDataset(DATASET, { kind: "s3", bucket, endpoint: store.url }, { kind: "local", path: join(dir, "out") }, "month");
  const config = await writeConfig(dir, [spec]);
  // Version B's code: our workflows and a change behind patched() (bundled here, once).
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: [resolve(repositoryRoot, "test/fixtures/versioning/patchedChange.ts")],
    logger: new DefaultLogger("WARN"),
  });

  const setup = async (): Promise<string> => {
    const result = await runCli(["setup", "--address", server.server.address, "--deployment-name", DEPLOYMENT]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim().split("\n")[1] ?? "";
  };
  assert.equal(await setup(), `worker deployment ${DEPLOYMENT}: no version yet; current none (unversioned workers get the tasks)`);
  const workerA = await startWorkerProcess({ address: server.server.address, taskQueue, config, logFile: join(dir, "worker-a.log"), args: ["--deployment-name", DEPLOYMENT, "--build-id", "A", "--max-activities", "2"] });
  let workerB: Worker | undefined;
  let runningB: Promise<void> | undefined;
  try {
    // The versioned worker says it waits to be made current, and how.
    await workerA.waitUntil(async () => /set-current-version/.test(await readFile(join(dir, "worker-a.log"), "utf8")), 60_000);
    assert.match(await readFile(join(dir, "worker-a.log"), "utf8"), new RegExp(`this worker \\(A\\) gets tasks once 'temporal worker deployment set-current-version --deployment-name ${DEPLOYMENT} --build-id A' makes it current`));
    await setCurrentVersion(server.server.address, "A");
    const end = new Date(Date.parse(`${START}T00:00:00Z`) + (DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
    const handle = await client.workflow.start(backfillV3, {
      ...backfillOptions({ dataset: DATASET, start: START, end, maxConcurrentDays: 2, maxConcurrentFiles: 1, smallDayFiles: 0 }),
      taskQueue,
    });
    // Version B is deployed once some days are written, while others are still to come.
    const dayOutputs = async (): Promise<number> => [...(await filesUnder(join(dir, "out")).catch(() => new Map()))].filter(([k]) => /\/\d{8}\.json$/.test(String(k))).length;
    await until("a few days written on version A", async () => ((await dayOutputs()) >= 3 ? true : undefined));
    await store.disable();
    const writtenOnA = await dayOutputs();
    workerB = await Worker.create({
      connection: await server.workerConnection(),
      taskQueue,
      workerDeploymentOptions: versionedWorker({ deploymentName: DEPLOYMENT, buildId: "B" }),
      identity: `version-b-${randomUUID().slice(0, 8)}`,
      // A worker of one's own, with B's bundle given to the plugin (its `workflowBundle` option).
      plugins: [new TemporalKerchunkPlugin({ datasets: [spec], workflowBundle: { code } })],
    });
    runningB = workerB.run();
    await setCurrentVersion(server.server.address, "B");
    await store.enable();
    assert.ok(writtenOnA < DAYS - 2, `${writtenOnA} days written when the store went down: too few left for version B`);
    // A is stopped only once the server says no pinned workflow (a day) runs on it any more.
    const drained = await until("version A drained", async () => {
      const info = await describeVersion(client, "A");
      return info?.status === WorkerDeploymentVersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED ? info : undefined;
    });
    assert.equal(drained.drainageInfo?.status, VersionDrainageStatus.VERSION_DRAINAGE_STATUS_DRAINED);
    // What the docs tell an operator to look for. The CLI asks the deployment's own record, which
    // may lag the drainage the SDK saw: once, under load, it answered "Worker Deployment Version
    // not found" at first. So it is asked until it says drained, and its last answer is quoted.
    let described = "";
    await waitUntil("the CLI to describe version A as drained", async () => {
      described = (await temporalCli(server.server.address, ["worker", "deployment", "describe-version", "--deployment-name", DEPLOYMENT, "--build-id", "A"])).output;
      return /drained/i.test(described) ? true : undefined;
    }, 30_000).catch((error: Error) => assert.fail(`${error.message}; it said: ${described}`));
    await workerA.stop();

    const summary = await resultWithin(client, handle.result(), 120_000);
    assert.equal(summary.status, "completed");
    assert.deepEqual(summary.days, { total: DAYS, written: DAYS, existing: 0, failed: 0, noFiles: 0 });
    // The outputs are the bare library's, byte for byte.
    const direct = await backfillDirect(resolveDatasetSpec({ ...spec, output: { ...spec.output, storage: { kind: "local", path: join(dir, "direct") } } }), START, end);
    assert.equal(direct.status, "completed");
    assert.deepEqual(await filesUnder(join(dir, "out")), await filesUnder(join(dir, "direct")));

    // No workflow of the backfill left running (visibility catches up within seconds).
    await until("no workflow of the dataset running", async () => {
      const running = [];
      for await (const execution of client.workflow.list({ query: `TkDataset = '${DATASET}' AND ExecutionStatus = 'Running'` })) running.push(execution.workflowId);
      return running.length === 0 ? true : undefined;
    });

    const histories = await datasetHistories(client, DATASET);
    const byType = new Map<string, History[]>();
    for (const history of histories.values()) byType.set(workflowType(history), [...(byType.get(workflowType(history)) ?? []), history]);
    // Every workflow task was completed by a versioned worker with its type's behavior (workflows/versioning.ts).
    for (const [id, history] of histories) {
      const type = workflowType(history) as keyof typeof versioningBehaviors;
      const expected = VersioningBehavior[`VERSIONING_BEHAVIOR_${versioningBehaviors[type]}`];
      const behaviors = (history.events ?? []).flatMap((e) => (e.workflowTaskCompletedEventAttributes ? [e.workflowTaskCompletedEventAttributes.versioningBehavior] : []));
      assert.ok(behaviors.length > 0 && behaviors.every((b) => b === expected), `${id} (${type}): behaviors ${JSON.stringify(behaviors)}, expected ${expected}`);
    }
    // Each day ran exactly once, on one version (pinned), some on A and some on B.
    const days = byType.get("backfillDayV3") ?? [];
    assert.equal(days.length, DAYS, "one day workflow a day");
    const dayVersions = days.map((h) => [...new Set(taskBuildIds(h))]);
    assert.ok(dayVersions.every((v) => v.length === 1), `a day moved between versions: ${JSON.stringify(dayVersions)}`);
    const daysOn = (buildId: string): number => dayVersions.filter((v) => v[0] === buildId).length;
    assert.ok(daysOn("A") >= 3 && daysOn("B") >= 1, `days on A: ${daysOn("A")}, on B: ${daysOn("B")}`);
    t.diagnostic(`${writtenOnA} days written when the store went down; days on A ${daysOn("A")}, on B ${daysOn("B")}`);
    // The long-running types (auto-upgrade) began on A and ended on B: some of each moved.
    for (const type of ["backfillV3", "backfillYearV3", "backfillMonthV3"] as const) {
      assert.equal(versioningBehaviors[type], "AUTO_UPGRADE");
      const moved = (byType.get(type) ?? []).filter((h) => {
        const ids = taskBuildIds(h);
        return ids[0] === "A" && ids.at(-1) === "B";
      });
      assert.ok(moved.length >= 1, `no ${type} run moved from A to B`);
    }
    // B's change fired in the runs begun on B (its patch marker), and in none begun on A.
    const all = [...histories.values()];
    const begunOn = (buildId: string) => all.filter((h) => taskBuildIds(h)[0] === buildId);
    assert.ok(begunOn("B").length >= 1 && begunOn("B").every((h) => hasMarker(h, VERSION_B_PATCH)), "a run begun on B without B's patch marker");
    assert.ok(begunOn("A").length >= 1 && !begunOn("A").some((h) => hasMarker(h, VERSION_B_PATCH)), "a run begun on A with B's patch marker");
    // Every history replays on B's code: the runs begun on A (no marker) and those begun on B.
    assert.equal(await setup(), `worker deployment ${DEPLOYMENT}: versions A, B; current B`);
    const replays = Worker.runReplayHistories({ workflowBundle: { code }, replayName: "versioning" }, [...histories].map(([id, history]) => ({ workflowId: id, history })));
    let replayed = 0;
    for await (const result of replays) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
      replayed++;
    }
    assert.equal(replayed, histories.size);
  } finally {
    workerB?.shutdown();
    await runningB;
    await workerA.stop();
    await server.stop();
    await toxiproxy.stop();
  }
});

test("a namespace that does not allow Worker Deployment Versions: setup --deployment-name and a versioned worker say so in one line", async () => {
  const dir = await testDir("versioning-off");
  const server = await new TemporalDevServer({ searchAttributes: searchAttributeRegistrations, dbFile: join(dir, "temporal.db"), logFile: join(dir, "temporal.log"), dynamicConfig: { "system.enableDeploymentVersions": false } }).start();
  try {
    const line = `invalid namespace default: Worker Deployment Versions are disabled on it: set the server's dynamic config system.enableDeploymentVersions to true for it, or run workers without --deployment-name`;
    const setup = await runCli(["setup", "--address", server.address, "--deployment-name", DEPLOYMENT]);
    assert.equal(setup.code, 1, setup.stdout);
    assert.equal(setup.stderr.trim(), `error: ${line}`);
    const worker = await runCli(["worker", "--address", server.address, "--deployment-name", DEPLOYMENT, "--build-id", "A"], { TK_LOG_LEVEL: "WARN" });
    assert.equal(worker.code, 1, worker.stderr);
    assert.deepEqual(worker.stderr.split("\n").filter((l) => l.trim() !== ""), [`error: ${line}`]);
    // Half a version is refused before anything connects.
    const half = await runCli(["worker", "--address", server.address, "--build-id", "A"]);
    assert.equal(half.code, 1);
    assert.match(half.stderr, /--deployment-name.*a build id needs its deployment name/);
  } finally {
    await server.stop();
  }
});
