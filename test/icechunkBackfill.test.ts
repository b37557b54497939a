/**
 * Issue 13, phase 2: backfills with `output.format: "icechunk"` on the dev server, on local storage
 * and on MinIO. Days of a Himawari-like archive written by netCDF4-python (consumer_fixtures.py)
 * across a month boundary are extracted side by side and committed by their month in calendar
 * order; Python icechunk + xarray read the store back (test/fixtures/python/icechunk_read.py) and
 * compare every time step with the source files (raw) and the attributes with our kerchunk refs.
 * Also: one commit per day, a tag for the complete month, the snapshot in each day's result and
 * the day in each commit's activity summary; a worker SIGKILLed during commits and two overlapping
 * backfills leave every hour once, in order; a re-run visits no committed day; a failed day
 * blocks the later ones, and a day before the store's end is refused as out of order.
 *
 * Each check is also shown failing on a broken input: the time check on a store whose days were
 * committed as they finished (not in calendar order), the re-run check on a store whose commits
 * name another dataset, the history and tag checks on the wrong days.
 */
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import type { Client, Connection } from "@temporalio/client";
import assert from "node:assert/strict";
import { copyFile, mkdir, stat, utimes, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { combineRefs } from "../lib/combine/index.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { openStorage, resolveDatasetSpec, type DatasetSpec } from "../lib/datasets/spec.js";
import { commitStagedDay } from "../lib/backfill/commit.js";
import { extractToStaging } from "../lib/backfill/extract.js";
import { IcechunkError } from "../lib/errors.js";
import { commitDay, containerPrefix, listDayCommits, parseCommitMessage, repositoryLocation } from "../lib/icechunk/index.js";
import { translateHdf5 } from "../lib/refs/translate.js";
import type { KerchunkRefs } from "../lib/model/kerchunkRefs.js";
import { sleep } from "../lib/servers/process.js";
import { openSource } from "../lib/source/open.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import type { BackfillInput, BackfillSummary } from "../workflows/types.js";
import { startWorkerProcess, testDataset, uploadArchive, writeConfig } from "./harness/archive.js";
import { s3, testDir, uniqueBucket } from "./harness/env.js";
import { datasetHistories, type History } from "./harness/outputs.js";
import { python } from "./harness/python.js";
import { clientFor, workerConnection } from "./harness/temporal.js";

/** Days with files (two hourly files each); every other day of the ranges has none. */
const DAYS = ["2022-01-30", "2022-01-31", "2022-02-01", "2022-02-02", "2022-02-28"];
/** The main range: January in part, February whole (so February gets its tag). */
const START = "2022-01-30";
const END = "2022-02-28";
const dayOf = (file: string): string => /\/(\d{4})\/(\d{2})\/(\d{2})\//.exec(file)!.slice(1).join("-");

let client: Client;
let connection: Connection;
let dir = "";
let archive = "";
let files: string[] = [];
let bucket = "";
let kerchunkAll = "";
const filesOf = (...days: string[]): string[] => files.filter((f) => days.includes(dayOf(f)));

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("icechunk-backfill");
  archive = join(dir, "archive");
  ({ files } = await python<{ files: string[] }>("consumer_fixtures.py", [archive, ...DAYS]));
  bucket = await uploadArchive(archive, files.map((f) => relative(archive, f)), "icechunk-bf");
  // Our kerchunk references of every file: what the store's attributes are compared with.
  const refs = await refsOf(...DAYS);
  kerchunkAll = join(dir, "kerchunk-all.json");
  await writeFile(kerchunkAll, (await combineRefs(refs, { concatDims: ["time"], identicalDims: ["lat", "lon"] })).json());
});
after(async () => {
  await connection?.close();
});

/** Our kerchunk references of the days' files, in time order. */
async function refsOf(...days: string[]): Promise<KerchunkRefs[]> {
  const refs: KerchunkRefs[] = [];
  for (const file of filesOf(...days)) {
    const opened = openSource(file);
    try {
      refs.push((await translateHdf5(opened.source, { inlineThreshold: 100 })).refs);
    } finally {
      await opened.close();
    }
  }
  return refs;
}

// ---- datasets and the Python read-back

type Where = "local" | "s3";

async function storeDataset(name: string, where: Where): Promise<DatasetSpec> {
  const source: DatasetSpec["source"]["storage"] = where === "local" ? { kind: "local", path: archive } : { kind: "s3", bucket };
  let output: DatasetSpec["output"]["storage"];
  if (where === "local") output = { kind: "local", path: await testDir(`${name}-out`) };
  else {
    const out = uniqueBucket(name);
    const client3 = s3();
    await client3.send(new CreateBucketCommand({ Bucket: out }));
    client3.destroy();
    output = { kind: "s3", bucket: out };
  }
  const spec = testDataset(name, source, output, "day");
  return { ...spec, output: { ...spec.output, format: "icechunk" } };
}

type StoreSpec = { kind: "local"; path: string } | { kind: "s3"; bucket: string; prefix: string; endpoint: string };
interface PythonCase {
  id: string;
  store: StoreSpec;
  container: { kind: Where; prefix: string };
  ref: { branch: string } | { tag: string };
  files: string[];
  kerchunk?: string;
}
interface ReadReport {
  cases: Record<string, { raw: string[]; decoded: string[]; attributes: string[] }>;
  stores: Record<string, { history: { id: string; message: string }[]; tags: Record<string, string>; time?: number[]; source_time?: number[] }>;
  steps: Record<string, { step: number; ok: boolean; error?: string; values_equal?: boolean }[]>;
}

function pythonStore(spec: DatasetSpec): Pick<PythonCase, "store" | "container"> {
  const resolved = resolveDatasetSpec(spec);
  const location = repositoryLocation(resolved);
  const output = resolved.output.storage;
  const store: StoreSpec =
    output.kind === "local" ? { kind: "local", path: location.description } : { kind: "s3", bucket: output.bucket, prefix: location.key, endpoint: process.env.AWS_ENDPOINT_URL! };
  return { store, container: { kind: resolved.source.storage.kind, prefix: containerPrefix(resolved.source.storage) } };
}

let reads = 0;
async function readBack(plan: { cases?: PythonCase[]; stores?: PythonCase[] }): Promise<ReadReport> {
  const path = join(dir, `read-${reads++}.plan.json`);
  await writeFile(path, JSON.stringify(plan));
  return python<ReadReport>("icechunk_read.py", [path]);
}

/** The store's history, tags and time coordinate (with the source files' times for `days`). */
async function storeReport(spec: DatasetSpec, days: string[]): Promise<ReadReport["stores"][string]> {
  const report = await readBack({ stores: [{ id: "store", ref: { branch: "main" }, files: filesOf(...days), ...pythonStore(spec) }] });
  return report.stores.store!;
}

async function runBackfill(datasets: DatasetRegistry, input: BackfillInput, taskQueue: string): Promise<BackfillSummary> {
  const worker = await createWorker({ connection: await workerConnection(), datasets, taskQueue });
  return worker.runUntil(client.workflow.execute(backfillV3, { ...backfillOptions(input), taskQueue }));
}

// ---- checks, each returning its problems, so that each can be shown failing on a broken input

/** Our day commits, oldest first, from the commit messages (newest first in the history). */
const committedDays = (history: { message: string }[]): string[] =>
  history.map((h) => parseCommitMessage(h.message)).filter((f) => f !== undefined).map((f) => f.day).reverse();

/** One commit per day, in calendar order, and nothing else of ours. */
function historyProblems(history: { message: string }[], days: string[]): string[] {
  const committed = committedDays(history);
  return JSON.stringify(committed) === JSON.stringify(days) ? [] : [`day commits ${JSON.stringify(committed)}, expected ${JSON.stringify(days)}`];
}

/** The store's time coordinate holds every hour of the source files once, in order. */
function timeProblems(stored: readonly number[], source: readonly number[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < stored.length; i++) if (!(stored[i]! > stored[i - 1]!)) problems.push(`time[${i}] ${stored[i]} is not after time[${i - 1}] ${stored[i - 1]}`);
  const expected = [...new Set(source)].sort((a, b) => a - b);
  const missing = expected.filter((t) => !stored.includes(t));
  const extra = stored.filter((t) => !expected.includes(t));
  if (missing.length > 0) problems.push(`${missing.length} hours missing (first ${missing[0]})`);
  if (extra.length > 0) problems.push(`${extra.length} values not in the sources (first ${extra[0]})`);
  if (stored.length !== expected.length) problems.push(`${stored.length} values for ${expected.length} hours`);
  return problems;
}

/** Activities of a type scheduled in the histories, with their summaries (what the Web UI shows). */
function scheduled(histories: Map<string, History>, type: string): { summary: string; workflow: string }[] {
  const found: { summary: string; workflow: string }[] = [];
  for (const [workflow, history] of histories) {
    for (const event of history.events ?? []) {
      const attrs = event.activityTaskScheduledEventAttributes;
      if (attrs?.activityType?.name !== type) continue;
      const data = event.userMetadata?.summary?.data;
      found.push({ summary: data ? (JSON.parse(Buffer.from(data).toString()) as string) : "", workflow });
    }
  }
  return found;
}

/** Day workflows (and months) started for a dataset so far. */
async function periodWorkflows(dataset: string, level: "day" | "month"): Promise<number> {
  let count = 0;
  for await (const _ of client.workflow.list({ query: `TkDataset = '${dataset}' AND TkLevel = '${level}'` })) count++;
  return count;
}

// ---- (a) a backfill across a month boundary, on local storage and on MinIO; (c) its re-run

function scenario(where: Where): void {
  describe(`an Icechunk backfill on ${where === "local" ? "local storage" : "MinIO"}`, () => {
    const name = `ic-bf-${where}`;
    let spec: DatasetSpec;
    let datasets: DatasetRegistry;
    let summary: BackfillSummary;

    before(async () => {
      spec = await storeDataset(name, where);
      datasets = new DatasetRegistry([spec]);
    });

    test("days across a month boundary: one commit each in calendar order, the snapshot in each result, a tag for the whole month; xarray reads the sources' values", async (t) => {
      summary = await runBackfill(datasets, { dataset: name, start: START, end: END, maxConcurrentDays: 8 }, name);
      t.diagnostic(`status ${summary.status}; days ${JSON.stringify(summary.days)}; rollups ${JSON.stringify(summary.rollups)}`);
      assert.equal(summary.status, "completed");
      assert.deepEqual(summary.days, { total: 30, written: DAYS.length, existing: 0, noFiles: 30 - DAYS.length, failed: 0 });
      assert.deepEqual(summary.files, { listed: 2 * DAYS.length, extracted: 2 * DAYS.length, reused: 0 });
      assert.deepEqual(summary.results["2022-01"], { outcome: "partial" }, "January is covered in part: no tag");

      const store = repositoryLocation(resolveDatasetSpec(spec)).description;
      const commits = await listDayCommits(resolveDatasetSpec(spec));
      const snapshotOf = new Map(commits.map((c) => [c.day, c.snapshotId]));
      for (const day of DAYS) assert.deepEqual(summary.results[day], { outcome: "written", output: `${store}@${snapshotOf.get(day)}` }, day);
      assert.deepEqual(summary.results["2022-02"], { outcome: "written", output: `${store}@${snapshotOf.get("2022-02-28")}` }, "February's tag marks its last day");

      // The Web UI: a commit activity per day, its summary naming the day; a tag activity for February.
      const histories = await datasetHistories(client, name);
      const commitSummaries = scheduled(histories, "commitDay").map((s) => s.summary).sort();
      assert.deepEqual(commitSummaries, DAYS.map((d) => `commit ${d} (2 files)`));
      assert.deepEqual(scheduled(histories, "rollupPeriod").map((s) => s.summary), ["tag 2022-02"]);

      const report = await readBack({
        cases: [{ id: "main", ref: { branch: "main" }, files: filesOf(...DAYS), kerchunk: kerchunkAll, ...pythonStore(spec) }],
        stores: [{ id: "store", ref: { branch: "main" }, files: filesOf(...DAYS), ...pythonStore(spec) }],
      });
      const read = report.cases.main!;
      assert.deepEqual([...read.raw, ...read.attributes], []);
      const stored = report.stores.store!;
      assert.deepEqual(historyProblems(stored.history, DAYS), []);
      assert.equal(stored.history.length, DAYS.length + 1, "one commit per day, plus Icechunk's initial commit");
      assert.deepEqual(stored.tags, { "2022-02": snapshotOf.get("2022-02-28") });
      assert.deepEqual(timeProblems(stored.time!, stored.source_time!), []);
      // Broken inputs: the history check with a day missing, the raw check on the wrong files.
      const wrongDays = historyProblems(stored.history, DAYS.slice(1));
      t.diagnostic(`history check against the wrong days: ${wrongDays.join("; ")}`);
      assert.ok(wrongDays.length > 0);
    });

    test("a re-run visits no committed day and no month: one listing of the store settles them", async (t) => {
      const [days, months] = [await periodWorkflows(name, "day"), await periodWorkflows(name, "month")];
      const again = await runBackfill(datasets, { dataset: name, start: START, end: END }, name);
      t.diagnostic(`re-run: ${JSON.stringify(again.days)}; day workflows ${days} → ${await periodWorkflows(name, "day")}`);
      assert.equal(again.status, "completed");
      assert.deepEqual(again.days, { total: 30, written: 0, existing: DAYS.length, noFiles: 30 - DAYS.length, failed: 0 });
      assert.equal(again.results["2022-02"]?.outcome, "existing");
      assert.deepEqual(again.files, { listed: 0, extracted: 0, reused: 0 });
      assert.equal(await periodWorkflows(name, "day"), days, "no day workflow started");
      assert.equal(await periodWorkflows(name, "month"), months, "no month workflow started");
    });
  });
}

scenario("local");
scenario("s3");

describe("Icechunk backfills under stress", () => {
  const range = { start: "2022-01-30", end: "2022-02-02" };
  const rangeDays = DAYS.slice(0, 4);

  test("a worker SIGKILLed during commits: a new worker finishes; every hour once, in order; one commit per day", async (t) => {
    const name = "ic-bf-kill";
    const spec = await storeDataset(name, "s3");
    const config = await writeConfig(await testDir("ic-kill"), [spec]);
    const address = process.env.TK_TEST_TEMPORAL_ADDRESS!;
    const first = await startWorkerProcess({ address, taskQueue: name, config, logFile: join(dir, "kill-worker-1.log") });
    const handle = await client.workflow.start(backfillV3, { ...backfillOptions({ dataset: name, ...range, maxConcurrentDays: 4 }), taskQueue: name });
    // Kill once the first commit has landed, while the others are being made.
    let committed = 0;
    for (let i = 0; i < 600 && committed === 0; i++) {
      // Only "no repository yet" is "not yet"; any other failure to list is an error of the test.
      committed = await listDayCommits(resolveDatasetSpec(spec)).then(
        (c) => c.length,
        (error: unknown) => {
          if (error instanceof IcechunkError && error.problem === "no-repository") return 0;
          throw error;
        },
      );
      if (committed === 0) await sleep(50);
    }
    await first.kill();
    t.diagnostic(`killed the worker with ${committed} of ${rangeDays.length} days committed`);
    assert.ok(committed > 0 && committed < rangeDays.length, `killed with ${committed} days committed`);
    const second = await startWorkerProcess({ address, taskQueue: name, config, logFile: join(dir, "kill-worker-2.log") });
    const summary = await handle.result();
    await second.stop();
    assert.equal(summary.days.failed, 0);
    assert.equal(summary.days.written + summary.days.existing, rangeDays.length);
    const store = await storeReport(spec, rangeDays);
    assert.deepEqual(timeProblems(store.time!, store.source_time!), []);
    assert.deepEqual(historyProblems(store.history, rangeDays), []);
  });

  test("two overlapping backfills at once: every hour once, in order; one commit per day", async (t) => {
    const name = "ic-bf-overlap";
    const spec = await storeDataset(name, "local");
    const datasets = new DatasetRegistry([spec]);
    const worker = await createWorker({ connection: await workerConnection(), datasets, taskQueue: name });
    const [a, b] = await worker.runUntil(
      Promise.all([
        client.workflow.execute(backfillV3, { ...backfillOptions({ dataset: name, ...range, maxConcurrentDays: 4 }), taskQueue: name }),
        client.workflow.execute(backfillV3, { ...backfillOptions({ dataset: name, start: range.start, end: "2022-02-01", maxConcurrentDays: 2 }), taskQueue: name }),
      ]),
    );
    t.diagnostic(`a: ${JSON.stringify(a.days)}; b: ${JSON.stringify(b.days)}`);
    assert.equal(a.days.failed + b.days.failed, 0);
    const store = await storeReport(spec, rangeDays);
    assert.deepEqual(timeProblems(store.time!, store.source_time!), []);
    assert.deepEqual(historyProblems(store.history, rangeDays), []);
  });

  test("broken inputs: days committed as they finish (not in calendar order) fail the time check; commits of another dataset fail the re-run check", async (t) => {
    // Committing days as they finish: a later day first, then the earlier one is refused: a gap.
    const spec = await storeDataset("ic-bf-unordered", "local");
    const resolved = resolveDatasetSpec(spec);
    await commitDay(resolved, "2022-01-31", { refs: await refsOf("2022-01-31") });
    await assert.rejects(commitDay(resolved, "2022-01-30", { refs: await refsOf("2022-01-30") }), (e: unknown) => e instanceof IcechunkError && e.problem === "out-of-order" && /^out-of-order: /.test(e.message));
    const store = await storeReport(spec, ["2022-01-30", "2022-01-31"]);
    const problems = timeProblems(store.time!, store.source_time!);
    t.diagnostic(`time check on a store committed out of order: ${problems.join("; ")}`);
    assert.ok(problems.some((p) => /hours missing/.test(p)));

    // The re-run check on a store whose commits name another dataset: nothing is settled, days are visited.
    const other = { ...spec, name: "ic-bf-renamed" };
    const days = await periodWorkflows(other.name, "day");
    // Day workflows (smallDayFiles 0), so each day visited is a workflow to count.
    const summary = await runBackfill(new DatasetRegistry([other]), { dataset: other.name, start: "2022-01-31", end: "2022-01-31", smallDayFiles: 0 }, other.name);
    const visited = (await periodWorkflows(other.name, "day")) - days;
    t.diagnostic(`re-run check on commits of another dataset: ${visited} day workflow(s) started; ${summary.report["2022-01-31"]}`);
    assert.ok(visited > 0);
  });

  test("a failed day blocks the later days of the store; a day before the store's end is refused as out of order", async (t) => {
    const name = "ic-bf-blocked";
    const spec = await storeDataset(name, "local");
    const resolved = resolveDatasetSpec(spec);
    // 2022-02-01 is already in the store: 2022-01-30 and -31 come before its end.
    await commitDay(resolved, "2022-02-01", { refs: await refsOf("2022-02-01") });
    const summary = await runBackfill(new DatasetRegistry([spec]), { dataset: name, ...range, maxConcurrentDays: 4 }, name);
    t.diagnostic(Object.entries(summary.report).map(([p, r]) => `${p}: ${r.slice(0, 100)}`).join("\n"));
    assert.match(summary.report["2022-01-30"]!, /^ERROR\(IcechunkError\): out-of-order: /);
    assert.match(summary.report["2022-01-31"]!, /^ERROR\(BlockedByEarlierDay\): not committed: 2022-01-30 failed before it/);
    assert.equal(summary.report["2022-02-01"], "existing", "settled by the store's listing");
    assert.equal(summary.report["2022-02"], "PARTIAL", "the range covers February in part: no tag either way");
    assert.match(summary.report["2022-02-02"]!, /^ERROR\(BlockedByEarlierDay\)/);
    assert.equal(summary.status, "partial");
    const store = await storeReport(spec, ["2022-02-01"]);
    assert.deepEqual(historyProblems(store.history, ["2022-02-01"]), [], "nothing committed after the failed day");
  });
});

test("a source file replaced between its extraction and its day's commit fails that step at read time (pinned at extraction)", async (t) => {
  // A copy of one day's archive, so the replacement touches no other test's files.
  const copy = join(dir, "replaced-archive");
  for (const file of filesOf("2022-01-30")) {
    await mkdir(dirname(join(copy, relative(archive, file))), { recursive: true });
    await copyFile(file, join(copy, relative(archive, file)));
  }
  const day = "2022-01-30";
  const sourceKeys = filesOf(day).map((f) => relative(archive, f));
  const replacedStep = 1;

  async function stageReplaceCommit(name: string, recordAtExtraction: boolean): Promise<ReadReport["steps"][string]> {
    const base = testDataset(name, { kind: "local", path: copy }, { kind: "local", path: await testDir(`${name}-out`) });
    const spec: DatasetSpec = { ...base, output: { ...base.output, format: "icechunk" } };
    const resolved = resolveDatasetSpec(spec);
    const staged = [];
    for (const key of sourceKeys) staged.push((await extractToStaging(resolved, day, key)).staged);
    if (!recordAtExtraction) {
      // Broken on purpose: staged files without the recorded version (as an older worker wrote them).
      const storage = openStorage(resolved.output.storage);
      for (const key of staged) {
        const parsed = JSON.parse(new TextDecoder().decode(await storage.read(key))) as KerchunkRefs & { source?: unknown };
        delete parsed.source;
        await storage.write(key, new TextEncoder().encode(JSON.stringify(parsed)));
      }
      await storage.close();
    }
    // The second file is rewritten before the commit: a later modification time (its bytes stay, so
    // the day still combines; the library tests replace the bytes too).
    const target = join(copy, sourceKeys[replacedStep]!);
    const before = await stat(target);
    const later = new Date(Date.now() + 10_000);
    await utimes(target, later, later);
    try {
      await commitStagedDay(resolved, day, staged);
      const path = join(dir, `${name}.plan.json`);
      await writeFile(path, JSON.stringify({ steps: [{ id: "steps", ref: { branch: "main" }, files: filesOf(day), ...pythonStore(spec) }] }));
      return (await python<ReadReport>("icechunk_read.py", [path])).steps.steps!;
    } finally {
      await utimes(target, before.atime, before.mtime);
    }
  }

  const steps = await stageReplaceCommit("ic-replaced", true);
  t.diagnostic(JSON.stringify(steps));
  assert.equal(steps.find((s) => s.step === 0)?.ok, true, "the untouched file's step reads");
  const replaced = steps.find((s) => s.step === replacedStep)!;
  assert.equal(replaced.ok, false, "the replaced file's step must fail, not read the newer file's bytes");
  assert.match(replaced.error ?? "", /checksum/i);
  // Without the version recorded at extraction, the commit pins the rewritten file: the step reads.
  const unpinned = await stageReplaceCommit("ic-replaced-unpinned", false);
  t.diagnostic(`pinned at commit: ${JSON.stringify(unpinned)}`);
  assert.equal(unpinned.find((s) => s.step === replacedStep)!.ok, true, "the check can fail: pinned at commit, the rewrite goes unnoticed");
});
