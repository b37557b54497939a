/**
 * A backfill through a production-shaped cluster (issue 21): the Temporal server itself on
 * PostgreSQL with SQL visibility, TLS on its frontend requiring client certificates
 * (test/harness/servers/temporalCluster.ts). Two worker processes connect by mTLS from the
 * TEMPORAL_* environment, as a deployment would configure them; the backfill is started by the CLI
 * the same way. Mid-run one worker is SIGKILLed and the server process is SIGKILLed and started
 * again: the backfill ends with every day written, the outputs equal the bare library's, and no
 * client key appears in a history or a log.
 */
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client, Connection } from "@temporalio/client";
import { backfillDirect } from "../lib/backfill/direct.js";
import { temporalConnectConfig } from "../worker/connection.js";
import { resolveDatasetSpec } from "../lib/datasets/spec.js";
import { sleep, type ManagedProcess } from "../lib/servers/process.js";
import type { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import { makeArchive, startWorkerProcess, testDataset, uploadArchive, writeConfig } from "./harness/archive.js";
import { runCli } from "./harness/cli.js";
import { testDir } from "./harness/env.js";
import { completedExtractions, datasetHistories, filesUnder } from "./harness/outputs.js";
import { TemporalCluster, clusterPrerequisites } from "./harness/servers/temporalCluster.js";

const prerequisites = await clusterPrerequisites();
// Never silent: the reason is printed as the test's SKIP message.
const skip = prerequisites.missing ? `no production-shaped cluster here: ${prerequisites.missing}` : false;

const START = "2022-05-01";
const END = "2022-05-16";
const DAYS = 16;
const FILES_PER_DAY = 4;

describe("a backfill on a production-shaped cluster (Temporal server, PostgreSQL, mTLS)", { skip }, () => {
  let cluster: TemporalCluster;
  let dir: string;
  before(async () => {
    dir = await testDir("cluster");
    cluster = await new TemporalCluster(join(dir, "cluster"), prerequisites.pgBinDir!, ["worker-1", "worker-2", "operator"]).start();
  });
  after(async () => {
    await cluster?.stop();
  });

  test("two mTLS workers, one SIGKILLed and the server killed and restarted mid-run: every day written once, outputs equal the library's", async (t) => {
    const keys = await makeArchive(join(dir, "archive"), START, DAYS, { hours: FILES_PER_DAY, grid: [30, 60] });
    const bucket = await uploadArchive(join(dir, "archive"), keys, "cluster");
    const spec = (out: string) => testDataset("cluster-ds", { kind: "s3", bucket }, { kind: "local", path: join(dir, out) }, "day");
    const config = await writeConfig(dir, [spec("out")]);

    // Without a client certificate the frontend refuses, and the CLI says what to give.
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _cert, TEMPORAL_TLS_CLIENT_KEY_PATH: _key, ...caOnly } = cluster.clientEnv("operator");
    const refused = await runCli(["setup"], caOnly);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /cannot reach Temporal at .*(client certificate|mTLS)/);

    const taskQueue = "cluster";
    const workers: ManagedProcess[] = [];
    t.after(() => Promise.all(workers.map((w) => w.kill())));
    for (const name of ["worker-1", "worker-2"]) {
      workers.push(await startWorkerProcess({ address: cluster.address, taskQueue, config, logFile: join(dir, `${name}.log`), env: cluster.clientEnv(name) }));
    }
    const started = await runCli(
      ["backfill", "--dataset", "cluster-ds", "--start", START, "--end", END, "--task-queue", taskQueue, "--max-days", "1", "--small-day-files", "0", "--no-wait"],
      cluster.clientEnv("operator"),
    );
    assert.equal(started.code, 0, started.stderr);
    const workflowId = backfillOptions({ dataset: "cluster-ds", start: START, end: END }).workflowId;

    // Progress as the outputs show it (a query could wait on the killed worker's sticky queue).
    const outputFolder = join(dir, "out");
    const daysWritten = async (): Promise<number> =>
      (await readdir(join(outputFolder, "refs/AHI-L2-FLDK-SST")).catch(() => [])).filter((name) => /^\d{8}\.json$/.test(name)).length;
    let connection = await cluster.connect("operator");
    // A workflow task that fails (a nondeterminism) is retried forever: fail the test at once instead, with the history kept.
    const failedTasks = async (): Promise<string | undefined> => {
      for (const name of ["worker-1", "worker-2"]) {
        const line = (await readFile(join(dir, `${name}.log`), "utf8")).split("\n").find((l) => /Failing workflow task|Nondeterminism/.test(l));
        if (line) {
          const history = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory().catch(() => undefined);
          await writeFile(join(dir, "backfill-history.json"), JSON.stringify(history ?? null));
          return `${name}: ${line.slice(0, 400)} (history in ${join(dir, "backfill-history.json")})`;
        }
      }
      return undefined;
    };
    const waitForDays = async (days: number): Promise<number> => {
      for (let i = 0; i < 1200; i++) {
        const done = await daysWritten();
        if (done >= days) return done;
        if (i % 10 === 0) assert.equal(await failedTasks(), undefined);
        await sleep(100);
      }
      throw new Error(`fewer than ${days} days written after 2 minutes`);
    };
    const doneAtWorkerKill = await waitForDays(3);
    await workers[0]!.kill();
    const doneAtServerKill = await waitForDays(doneAtWorkerKill + 2);
    await connection.close();
    await cluster.killServer();
    await sleep(1_000);
    await cluster.restartServer();
    connection = await cluster.connect("operator");
    const client = new Client({ connection });
    try {
      const result = client.workflow.getHandle<typeof backfillV3>(workflowId).result();
      for (;;) {
        const settled = await Promise.race([result.then(() => true, () => true), sleep(2_000).then(() => false)]);
        if (settled) break;
        assert.equal(await failedTasks(), undefined);
      }
      const summary = await result;
      assert.ok(doneAtWorkerKill < DAYS && doneAtServerKill < DAYS, `the faults came mid-run (days done: ${doneAtWorkerKill}, ${doneAtServerKill} of ${DAYS})`);
      assert.equal(summary.days.failed, 0, JSON.stringify(summary.days));
      // A day whose output was written just before a fault, before its workflow heard, is found by
      // the retry: "existing" (one day runs at a time: at most one per fault; seen 15 + 1 on a fresh
      // clone); every other day is written by this backfill.
      assert.equal(summary.days.written + summary.days.existing, DAYS, JSON.stringify(summary.days));
      assert.ok(summary.days.existing <= 2, `${summary.days.existing} days existing`);

      await backfillDirect(resolveDatasetSpec(spec("out-direct")), START, END);
      const outputs = await filesUnder(outputFolder);
      assert.equal([...outputs.keys()].filter((k) => /\/\d{8}\.json$/.test(k)).length, DAYS);
      assert.deepEqual(outputs, await filesUnder(join(dir, "out-direct")));

      // SQL visibility answers our search attributes; every file was extracted (a retry may reuse a staged one).
      const histories = await datasetHistories(client, "cluster-ds");
      assert.ok(histories.size >= DAYS + 1, `${histories.size} workflows found by TkDataset`);
      const extracted = new Set(completedExtractions(histories).map((e) => e.file));
      assert.equal(extracted.size, DAYS * FILES_PER_DAY);

      // The client keys are in no history and no log.
      const secrets = await Promise.all(["worker-1", "worker-2", "operator"].map((name) => readFile(cluster.certificates.client(name).key, "utf8")));
      const keyBodies = secrets.map((pem) => pem.split("\n").filter((line) => line && !line.startsWith("-----")).join(""));
      const places: [string, string][] = [
        ...(await Promise.all(["worker-1", "worker-2"].map(async (name): Promise<[string, string]> => [`${name} log`, await readFile(join(dir, `${name}.log`), "utf8")]))),
        ["backfill CLI output", started.stdout + started.stderr],
        ...[...histories].map(([id, history]): [string, string] => [`history of ${id}`, JSON.stringify(history)]),
      ];
      for (const [where, text] of places) {
        for (const body of keyBodies) assert.ok(!text.replace(/\s/g, "").includes(body.slice(0, 40)), `a client key appears in ${where}`);
      }
      assert.match(places[1]![1], /worker on 127\.0\.0\.1:\d+ namespace default \(mTLS\)/);
    } finally {
      await connection.close();
    }
  });
});

describe("a Temporal Cloud-style connection: API keys over TLS, from a temporal.toml profile", { skip }, () => {
  let cluster: TemporalCluster;
  let dir: string;
  before(async () => {
    dir = await testDir("cluster-apikey");
    cluster = await new TemporalCluster(join(dir, "cluster"), prerequisites.pgBinDir!, ["operator", "worker"], "api-key").start();
  });
  after(async () => {
    await cluster?.stop();
  });

  test("the server checks every call's API key; a worker and the CLI with keys from profiles run a backfill; no key leaks", async (t) => {
    const operatorKey = cluster.apiKey("operator", ["temporal-system:admin"]);
    // A worker needs to write in its namespace, nothing more.
    const workerKey = cluster.apiKey("worker", ["default:write"]);
    const toml = join(dir, "temporal.toml");
    const profile = (name: string, key: string): string[] => [
      `[profile.${name}]`,
      `address = "${cluster.address}"`,
      'namespace = "default"',
      `api_key = "${key}"`,
      `[profile.${name}.tls]`,
      `server_ca_cert_path = "${cluster.certificates.ca}"`,
      'server_name = "localhost"',
    ];
    await writeFile(toml, [...profile("operator", operatorKey), ...profile("worker", workerKey)].join("\n"));
    const noEnv = { TEMPORAL_ADDRESS: undefined, TEMPORAL_API_KEY: undefined };

    // No key, or a key the server did not sign: refused in one line saying what to check.
    const forged = cluster.apiKey("operator", ["temporal-system:admin"]).replace(/\.[^.]+$/, ".AAAA");
    const [keyless, badKey, operator] = await Promise.all([
      runCli(["setup", "--address", cluster.address, "--tls-ca-path", cluster.certificates.ca, "--tls-server-name", "localhost"], noEnv),
      runCli(["setup", "--address", cluster.address, "--tls-ca-path", cluster.certificates.ca, "--tls-server-name", "localhost"], { ...noEnv, TEMPORAL_API_KEY: forged }),
      runCli(["setup", "--config-file", toml, "--profile", "operator"], noEnv),
    ]);
    for (const [what, result] of [["no API key", keyless], ["a forged API key", badKey]] as const) {
      assert.equal(result.code, 1, `${what}: ${result.stderr}`);
      assert.match(result.stderr, /^error: (Temporal: |cannot reach Temporal at .*: the server refused the credential ).*unauthorized.*; check the credential/im, what);
      assert.equal(result.stderr.trim().split("\n").length, 1, `${what}: one line`);
    }
    assert.equal(operator.code, 0, operator.stderr);
    assert.match(operator.stdout, /namespace default on .*: found TkDataset, TkPeriod, TkLevel, TkStatus; ready/);

    const archive = join(dir, "archive");
    await makeArchive(archive, "2022-06-01", 2, { hours: 2, grid: [10, 20] });
    const config = await writeConfig(dir, [testDataset("cloud-ds", { kind: "local", path: archive }, { kind: "local", path: join(dir, "out") })]);
    const logFile = join(dir, "worker.log");
    const worker = await startWorkerProcess({ address: cluster.address, taskQueue: "cloud", config, logFile, args: ["--config-file", toml, "--profile", "worker"], env: { TK_LOG_LEVEL: "INFO" } });
    t.after(() => worker.kill());
    const backfill = await runCli(["backfill", "--dataset", "cloud-ds", "--start", "2022-06-01", "--end", "2022-06-02", "--task-queue", "cloud", "--config-file", toml, "--profile", "operator"], noEnv);
    await worker.stop();
    assert.equal(backfill.code, 0, backfill.stderr);
    const workerLog = await readFile(logFile, "utf8");
    assert.match(workerLog, /worker on 127\.0\.0\.1:\d+ namespace default \(TLS, API key\)/);

    const connection = await Connection.connect({ ...temporalConnectConfig({ configFile: toml, profile: "operator" }, {}).connectionOptions });
    try {
      const histories = await datasetHistories(new Client({ connection }), "cloud-ds");
      assert.ok(histories.size >= 3, `${histories.size} workflows`);
      const places: [string, string][] = [
        ["worker log", workerLog],
        ["backfill CLI output", backfill.stdout + backfill.stderr],
        ...[...histories].map(([id, history]): [string, string] => [`history of ${id}`, JSON.stringify(history)]),
      ];
      // A JWT's signature is its secret part; its payload would show as base64url too.
      for (const [where, text] of places) {
        for (const key of [operatorKey, workerKey]) assert.ok(!text.includes(key.split(".")[2]!) && !text.includes(key.split(".")[1]!), `an API key appears in ${where}`);
      }
    } finally {
      await connection.close();
    }
  });
});
