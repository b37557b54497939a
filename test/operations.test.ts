import type { Client, Connection } from "@temporalio/client";
import { WorkflowFailedError } from "@temporalio/client";
import { Worker } from "@temporalio/worker";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DateTime } from "luxon";
import { DatasetRegistry, loadDatasetRegistry } from "../lib/datasets/config.js";
import { resolveDatasetSpec, type DatasetSpec } from "../lib/datasets/spec.js";
import { ConfigError } from "../lib/errors.js";
import { TemporalKerchunkPlugin } from "../worker/plugin.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import type { BackfillInput } from "../workflows/types.js";
import type { updateDataset } from "../workflows/update.js";
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdir } from "node:fs/promises";
import { backfillDirect } from "../lib/backfill/direct.js";
import { extractToStaging } from "../lib/backfill/extract.js";
import { listDaySources } from "../lib/backfill/sources.js";
import { Hdf5FormatError, SourceReadError } from "../lib/errors.js";
import { LocalStorage } from "../lib/storage/local.js";
import { S3Storage } from "../lib/storage/s3.js";
import { makeArchive, startWorkerProcess, testDataset, uploadArchive, writeConfig } from "./harness/archive.js";
import { s3, testDir, uniqueBucket } from "./harness/env.js";
import { clientFor, workerConnection } from "./harness/temporal.js";

let client: Client;
let connection: Connection;
let dir: string;

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("operations");
});
after(async () => {
  await connection?.close();
});

describe("the worker plugin", () => {
  test("adds our workflows and activities to a user's own Worker, keeping the user's activities", async () => {
    const archive = join(dir, "plugin-archive");
    await makeArchive(archive, "2022-05-01", 1, { hours: 2, grid: [10, 20] });
    const spec = testDataset("plugin-ds", { kind: "local", path: archive }, { kind: "local", path: join(dir, "plugin-out") });
    const taskQueue = "plugin";
    const worker = await Worker.create({
      connection: await workerConnection(),
      taskQueue,
      activities: { userActivity: async () => "mine" },
      plugins: [new TemporalKerchunkPlugin({ datasets: [spec] })],
    });
    const summary = await worker.runUntil(
      client.workflow.execute(backfillV3, { ...backfillOptions({ dataset: "plugin-ds", start: "2022-05-01", end: "2022-05-01" }, "plugin-ds/backfill"), taskQueue }),
    );
    assert.equal(summary.days.written, 1);
    assert.ok(existsSync(join(dir, "plugin-out/refs/AHI-L2-FLDK-SST/20220501.json")));
    // Compiled worker options hold activities by name.
    const registered = worker.options.activities as Map<string, unknown>;
    assert.ok(registered.has("userActivity"), "the user's activity was dropped");
    assert.ok(registered.has("extractFile") && registered.has("aggregateDay"), "our activities are missing");
  });
});

describe("bad input is rejected at once, naming what to fix", () => {
  const datasets = (): DatasetRegistry =>
    new DatasetRegistry([testDataset("ok-ds", { kind: "local", path: join(dir, "none") }, { kind: "local", path: join(dir, "never") })]);

  async function failure(input: BackfillInput, registry: DatasetRegistry = datasets()): Promise<string> {
    const worker = await createWorker({ connection: await workerConnection(), datasets: registry, taskQueue: "bad-input" });
    const error = await worker
      .runUntil(client.workflow.execute(backfillV3, { ...backfillOptions(input, `bad-${Date.now()}-${Math.random()}`), taskQueue: "bad-input" }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof WorkflowFailedError, `expected the workflow to fail, got ${String(error)}`);
    let cause: unknown = error;
    const messages: string[] = [];
    while (cause) {
      messages.push((cause as Error).message);
      cause = (cause as { cause?: unknown }).cause;
    }
    return messages.join(" | ");
  }

  test("workflow input: unknown dataset, end before start, not a date", async () => {
    assert.match(await failure({ dataset: "nope", start: "2022-01-01", end: "2022-01-02" }), /unknown dataset 'nope' \(this worker knows: ok-ds\)/);
    assert.match(await failure({ dataset: "ok-ds", start: "2022-02-01", end: "2022-01-01" }), /invalid end: end 2022-01-01 is before start 2022-02-01/);
    assert.match(await failure({ dataset: "ok-ds", start: "2022-02-30", end: "2022-03-01" }), /invalid start: '2022-02-30' is not a calendar date/);
    // A range whose results would not fit in the backfill's state (Temporal would terminate it hours later).
    assert.match(
      await failure({ dataset: "ok-ds", start: "1901-01-01", end: "2020-12-31" }),
      /invalid range: 1901-01-01\.\.2020-12-31 of ok-ds has \d+ periods, whose results would take [\d.]+ MiB in the backfill's state, more than Temporal carries in one payload \(2 MiB by default\): run it as ranges of at most \d+ years/,
    );
    assert.ok(!existsSync(join(dir, "never")), "something was written for a rejected request");
  });

  test("an output location that cannot be written fails the backfill before any work", async () => {
    const blocker = join(dir, "a-file");
    await writeFile(blocker, "not a folder");
    const local = new DatasetRegistry([testDataset("unwritable", { kind: "local", path: join(dir, "none") }, { kind: "local", path: join(blocker, "out") })]);
    const s3Missing = new DatasetRegistry([testDataset("nobucket", { kind: "local", path: join(dir, "none") }, { kind: "s3", bucket: "no-such-bucket-tk" })]);
    assert.match(await failure({ dataset: "unwritable", start: "2022-01-01", end: "2022-01-01" }, local), /invalid datasets\.unwritable\.output\.storage: cannot write to .*a-file\/out/);
    assert.match(await failure({ dataset: "nobucket", start: "2022-01-01", end: "2022-01-01" }, s3Missing), /invalid datasets\.nobucket\.output\.storage: cannot write to s3:\/\/no-such-bucket-tk: .*NoSuchBucket/);
  });

  test("dataset settings: malformed or unknown template tokens, credentials, bad storage, bad config file", async () => {
    const base = testDataset("x", { kind: "local", path: "/tmp" }, { kind: "local", path: "/tmp" });
    const reject = (spec: DatasetSpec, pattern: RegExp): void => {
      assert.throws(() => resolveDatasetSpec(spec), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
    };
    reject({ ...base, source: { ...base.source, template: "{year}/{mnth}/{day}" } }, /datasets\.x\.source\.template: unknown token \{mnth\}/);
    reject({ ...base, source: { ...base.source, template: "{year}/{month}/{day" } }, /datasets\.x\.source\.template: unbalanced/);
    reject({ ...base, source: { ...base.source, template: "{year}/{month}" } }, /must contain \{day\} or \{doy\}/);
    reject(
      { ...base, source: { ...base.source, storage: { kind: "s3", bucket: "b-ok", secretAccessKey: "canary" } as unknown as DatasetSpec["source"]["storage"] } },
      /credentials do not belong in dataset settings/,
    );
    reject({ ...base, output: { ...base.output, storage: { kind: "ftp" } as unknown as DatasetSpec["output"]["storage"] } }, /datasets\.x\.output\.storage\.kind: expected 's3' or 'local'/);
    reject({ ...base, name: "has space" }, /datasets\.has space\.name/);
    const config = await writeConfig(dir, [{ ...base, aggregation: "week" as DatasetSpec["aggregation"] }]);
    await assert.rejects(loadDatasetRegistry(config), /datasets\.x\.aggregation: expected day, month or year, got 'week'/);
    await assert.rejects(loadDatasetRegistry(join(dir, "missing.json")), /invalid config file: .*missing\.json/);
  });
});

describe("the schedule", () => {
  test("a triggered schedule builds the current month's complete days and nothing newer", async () => {
    // Workflow time is real time: make files for this month up to today, hourly x 1.
    const now = DateTime.utc();
    const lastComplete = now.minus({ hours: 3 }).minus({ days: 1 }).startOf("day");
    const monthStart = lastComplete.startOf("month");
    const days = Math.round(now.startOf("day").diff(monthStart, "days").days) + 1;
    const archive = join(dir, "schedule-archive");
    await makeArchive(archive, monthStart.toISODate()!, days, { hours: 1, grid: [8, 16] });
    const outFolder = join(dir, "schedule-out");
    const spec = testDataset("sched-ds", { kind: "local", path: archive }, { kind: "local", path: outFolder });
    const taskQueue = "schedule";
    const worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry([spec]), taskQueue });
    const { scheduleCommand } = await import("../cli/schedule.js");
    const address = process.env.TK_TEST_TEMPORAL_ADDRESS!;
    const common = ["--dataset", "sched-ds", "--address", address, "--task-queue", taskQueue, "--id", "sched-ds/update"];
    await worker.runUntil(async () => {
      assert.equal(await scheduleCommand.run([...common, "--every", "24h", "--trigger"]), 0);
      const schedule = client.schedule.getHandle("sched-ds/update");
      let update;
      for (let i = 0; i < 300 && !update; i++) {
        update = (await schedule.describe()).info.recentActions[0]?.action.workflow;
        if (!update) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(update, "the schedule did not start a run");
      const result = await client.workflow.getHandle<typeof updateDataset>(update.workflowId, update.firstExecutionRunId).result();
      assert.ok("days" in result, `no backfill ran: ${JSON.stringify(result)}`);
      assert.equal(result.end, lastComplete.toISODate());
      assert.equal(result.days.failed, 0);
      assert.equal(await scheduleCommand.run([...common, "--delete"]), 0);
    });
    const built = (d: DateTime): boolean => existsSync(join(outFolder, "refs/AHI-L2-FLDK-SST", `${d.toFormat("yyyyMMdd")}.json`));
    for (let d = monthStart; d <= lastComplete; d = d.plus({ days: 1 })) assert.ok(built(d), `${d.toISODate()} not built`);
    assert.ok(!built(lastComplete.plus({ days: 1 })), "an incomplete day was built");
  });
});

describe("concurrent runs, sources that change, secrets", () => {
  // The second one batches two files per extraction activity: same bytes either way.
  test("two backfills over overlapping ranges at once: every output whole and written exactly once", async () => {
    const archive = join(dir, "overlap-archive");
    await makeArchive(archive, "2022-06-01", 8, { hours: 2, grid: [10, 20] });
    const outFolder = join(dir, "overlap-out");
    const datasets = new DatasetRegistry([testDataset("overlap", { kind: "local", path: archive }, { kind: "local", path: outFolder })]);
    const worker = await createWorker({ connection: await workerConnection(), datasets, taskQueue: "overlap" });
    const [a, b] = await worker.runUntil(
      Promise.all([
        client.workflow.execute(backfillV3, { ...backfillOptions({ dataset: "overlap", start: "2022-06-01", end: "2022-06-06", maxConcurrentDays: 3 }, "overlap/a"), taskQueue: "overlap" }),
        client.workflow.execute(backfillV3, {
          ...backfillOptions({ dataset: "overlap", start: "2022-06-03", end: "2022-06-08", maxConcurrentDays: 3, filesPerActivity: 2 }, "overlap/b"),
          taskQueue: "overlap",
        }),
      ]),
    );
    assert.equal(a.days.failed + b.days.failed, 0, JSON.stringify([a.results, b.results]));
    for (const day of ["2022-06-03", "2022-06-04", "2022-06-05", "2022-06-06"]) {
      const outcomes = [a.results[day], b.results[day]].map((r) => r?.outcome);
      assert.deepEqual(outcomes.sort(), ["existing", "written"], `${day}: ${a.report[day]} / ${b.report[day]}`);
    }
    const direct = join(dir, "overlap-direct");
    await backfillDirect(resolveDatasetSpec(testDataset("overlap", { kind: "local", path: archive }, { kind: "local", path: direct })), "2022-06-01", "2022-06-08");
    const names = (await readdir(join(outFolder, "refs/AHI-L2-FLDK-SST"))).sort();
    assert.deepEqual(names, (await readdir(join(direct, "refs/AHI-L2-FLDK-SST"))).sort());
    for (const name of names) {
      assert.equal(await readFile(join(outFolder, "refs/AHI-L2-FLDK-SST", name), "utf8"), await readFile(join(direct, "refs/AHI-L2-FLDK-SST", name), "utf8"), name);
    }
  });

  test("a partial write is never visible: temporary files are not outputs, and create-once keeps the first", async () => {
    const storage = new LocalStorage(join(dir, "atomic"));
    await mkdir(join(dir, "atomic/p"), { recursive: true });
    await writeFile(join(dir, "atomic/p/x.json.tmp-abc123"), "{\"half");
    assert.equal(await storage.exists("p/x.json"), false);
    const listed = [];
    for await (const o of storage.list("p/")) listed.push(o.key);
    assert.deepEqual(listed, []);
    assert.equal(await storage.write("p/x.json", new TextEncoder().encode("first"), { ifAbsent: true }), true);
    assert.equal(await storage.write("p/x.json", new TextEncoder().encode("second"), { ifAbsent: true }), false);
    assert.equal(await readFile(join(dir, "atomic/p/x.json"), "utf8"), "first");
    const bucket = uniqueBucket("atomic");
    const s3client = s3();
    await s3client.send(new CreateBucketCommand({ Bucket: bucket }));
    const remote = new S3Storage(bucket);
    assert.equal(await remote.write("p/x.json", new TextEncoder().encode("first"), { ifAbsent: true }), true);
    assert.equal(await remote.write("p/x.json", new TextEncoder().encode("second"), { ifAbsent: true }), false);
    assert.equal(new TextDecoder().decode(await remote.read("p/x.json")), "first");
    await remote.close();
    s3client.destroy();
  });

  test("writes into a folder that another writer's delete empties at the same moment still land (two backfills staging side by side)", async () => {
    const storage = new LocalStorage(join(dir, "race"));
    // Writers and deleters in sibling folders under one parent that the deletes leave empty, again and again.
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 3 }, async (_, worker) => {
        for (let i = 0; i < 300; i++) {
          // As the write check of each backfill's start does: a probe in an output folder not made yet.
          const key = `refs/AHI-L2-FLDK-SST/.staging/.write-check-${worker}-${i}`;
          try {
            await storage.write(key, new TextEncoder().encode("x"));
            await storage.delete(key);
          } catch (error) {
            failures.push((error as Error).message);
          }
        }
      }),
    );
    assert.deepEqual(failures.slice(0, 3), []);
  });

  test("a source that vanished after listing, or is truncated: a clear per-file error, no reference past the end", async () => {
    const archive = join(dir, "vanish-archive");
    const keys = await makeArchive(archive, "2022-07-01", 1, { hours: 2, grid: [40, 80] });
    const bucket = await uploadArchive(archive, keys, "vanish");
    const spec = resolveDatasetSpec(testDataset("vanish", { kind: "s3", bucket }, { kind: "local", path: join(dir, "vanish-out") }));
    const listed = await listDaySources(spec, "2022-07-01");
    assert.equal(listed.length, 2);
    const s3client = s3();
    await s3client.send(new DeleteObjectCommand({ Bucket: bucket, Key: listed[0]!.key }));
    await assert.rejects(extractToStaging(spec, "2022-07-01", listed[0]!.key), (e: unknown) => e instanceof SourceReadError && !e.retryable && /no such object/.test(e.message) && e.message.includes(listed[0]!.key));
    // Truncated: the metadata at the head is intact, the data is cut: no chunk may point past the end.
    const whole = await readFile(join(archive, listed[1]!.key));
    await s3client.send(new PutObjectCommand({ Bucket: bucket, Key: listed[1]!.key, Body: whole.subarray(0, Math.floor(whole.length * 0.6)) }));
    await assert.rejects(extractToStaging(spec, "2022-07-01", listed[1]!.key), (e: unknown) => e instanceof Hdf5FormatError && e.message.includes(listed[1]!.key));
    s3client.destroy();
  });

  test("credentials never appear in workflow histories, worker logs or outputs", async () => {
    const secret = process.env.AWS_SECRET_ACCESS_KEY!;
    assert.ok(secret.length >= 16);
    const archive = join(dir, "secret-archive");
    const keys = await makeArchive(archive, "2022-08-01", 2, { hours: 2, grid: [10, 20] });
    const bucket = await uploadArchive(archive, keys, "secret");
    const outFolder = join(dir, "secret-out");
    const config = await writeConfig(dir, [testDataset("secret-ds", { kind: "s3", bucket }, { kind: "local", path: outFolder })]);
    const logFile = join(dir, "secret-worker.log");
    const worker = await startWorkerProcess({ address: process.env.TK_TEST_TEMPORAL_ADDRESS!, taskQueue: "secret", config, logFile });
    // A failing day too: error messages must not leak credentials either.
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: keys[3]!, Body: "garbage, not HDF5" }));
    const summary = await client.workflow.execute(backfillV3, { ...backfillOptions({ dataset: "secret-ds", start: "2022-08-01", end: "2022-08-02" }, "secret-ds/backfill"), taskQueue: "secret" });
    await worker.stop();
    assert.equal(summary.days.written, 1);
    assert.equal(summary.days.failed, 1);
    const places: [string, string][] = [["worker log", await readFile(logFile, "utf8")]];
    for await (const execution of client.workflow.list({ query: "TkDataset = 'secret-ds'" })) {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      places.push([`history of ${execution.workflowId}`, JSON.stringify(history, (_, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : v))]);
    }
    // Outputs (a failed day's .staging folder stays for the retry, its finished file in a bundle:
    // its files are outputs too).
    for (const name of await readdir(join(outFolder, "refs/AHI-L2-FLDK-SST"), { recursive: true })) {
      if (name.endsWith(".json") || name.endsWith(".tkb")) places.push([name, await readFile(join(outFolder, "refs/AHI-L2-FLDK-SST", name), "utf8")]);
    }
    assert.ok(places.length >= 6, `only ${places.length} places searched`);
    for (const [where, text] of places) assert.ok(!text.includes(secret), `the secret key appears in ${where}`);
  });
});
