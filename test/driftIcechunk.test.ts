/**
 * Issue 17, the Icechunk part: a backfill to a store carries on across drift. A drift archive of
 * every class (python/make_drift_archive.py, the census test's changes: packing, a variable that
 * appears and later disappears, chunk shape, codecs, fill value, units, dtype, _Unsigned packing;
 * all but the last mid-day) goes through an Icechunk backfill on the dev server: every day is
 * committed, none failed or blocked; the store holds one group per era (the root the first era);
 * read the documented way (python/open_icechunk.py: each era decoded, concatenated along time)
 * every time step is there once and the decoded values equal netCDF4-python's for each file
 * (float32 rounding where packing applies), and each era's raw values equal the files'. A re-run
 * writes nothing; backfillDirect gives the same eras; `drift: "fail"` fails the day and blocks the
 * later ones as before.
 *
 * The checks fail on broken inputs, in this file: the decoded check on the store read naively
 * (every era's raw values decoded with the first era's attributes); the time and raw checks with a
 * file left out of the expected list; the era check on the wrong eras.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Client, Connection } from "@temporalio/client";
import { backfillDirect } from "../lib/backfill/direct.js";
import { censusDirect } from "../lib/census/census.js";
import { combineRefsAcrossDrift } from "../lib/combine/index.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { resolveDatasetSpec, type DatasetSpec } from "../lib/datasets/spec.js";
import { commitDay, containerPrefix, listDayCommits, repositoryLocation, tagPeriod } from "../lib/icechunk/index.js";
import type { KerchunkRefs } from "../lib/model/kerchunkRefs.js";
import { translateHdf5 } from "../lib/refs/translate.js";
import { openSource } from "../lib/source/open.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import type { BackfillInput, BackfillSummary } from "../workflows/types.js";
import { makeDriftArchive, testDataset, type DriftChange } from "./harness/archive.js";
import { testDir } from "./harness/env.js";
import { python } from "./harness/python.js";
import { clientFor, workerConnection } from "./harness/temporal.js";

/** 8 days of 8 hourly files from 2022-03-01: file i is day i/8, hour i%8. */
const START = "2022-03-01";
const END = "2022-03-08";
const at = (i: number): string => `2022-03-0${1 + Math.floor(i / 8)}T0${i % 8}`;
/** File number → change, and whether one array can still hold the variables (no new era). */
const drift: [number, DriftChange["set"], "same era" | "new era"][] = [
  [3, { scale_factor: 0.005 }, "new era"],
  [9, { version: "ACSPO_V2.90" }, "same era"], // descriptive only
  [11, { wind_speed: true }, "same era"], // appears: the era holds the union
  [17, { chunks: [1, 6, 6] }, "new era"],
  [22, { zlib: false, shuffle: false }, "new era"],
  [26, { fill_value: -30000 }, "new era"],
  [30, { units: "K" }, "new era"],
  [34, { dtype: "i4" }, "new era"],
  [38, { unsigned: true, add_offset: 250, scale_factor: 0.001, dtype: "i2", fill_value: -1 }, "new era"],
  [48, { wind_speed: false }, "same era"], // disappears at a day's start: no chunks from there
];
const eraStarts = [0, ...drift.filter(([, , kind]) => kind === "new era").map(([i]) => i)];

interface ErasReport {
  eras: { group: string; steps: number; era: { era: number; first_day: string; first_file: string; changes: string[] } | null }[];
  time: string[];
  decoded: string[];
  raw: string[];
  variables: string[];
}

let dir = "";
let archive = "";
let keys: string[] = [];
let client: Client;
let connection: Connection;

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("drift-icechunk");
  archive = join(dir, "archive");
  keys = await makeDriftArchive(archive, START, 8, drift.map(([i, set]) => ({ at: at(i), set })), { hours: 8, grid: [12, 24] });
  assert.equal(keys.length, 64);
});
after(async () => {
  await connection?.close();
});

function storeSpec(name: string, source: string, drift?: "split" | "fail"): DatasetSpec {
  const spec = testDataset(name, { kind: "local", path: source }, { kind: "local", path: join(dir, `${name}-out`) });
  return { ...spec, output: { ...spec.output, format: "icechunk" }, ...(drift ? { drift } : {}) };
}

/** Our kerchunk references of archive files (keys), in order. */
async function refsOf(files: string[]): Promise<KerchunkRefs[]> {
  const refs: KerchunkRefs[] = [];
  for (const key of files) {
    const opened = openSource(join(archive, key));
    try {
      refs.push((await translateHdf5(opened.source, { inlineThreshold: 100 })).refs);
    } finally {
      await opened.close();
    }
  }
  return refs;
}

let reads = 0;
/** The store read the documented way (or naively), against netCDF4 reading `files`. */
async function readEras(spec: DatasetSpec, files: string[], naive = false): Promise<ErasReport> {
  const resolved = resolveDatasetSpec(spec);
  const plan = join(dir, `eras-${reads++}.json`);
  await writeFile(plan, JSON.stringify({ store: repositoryLocation(resolved).description, container: containerPrefix(resolved.source.storage), files, naive }));
  return python<ErasReport>("icechunk_eras_read.py", [plan]);
}

async function runBackfill(spec: DatasetSpec, input: BackfillInput): Promise<BackfillSummary> {
  const worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry([spec]), taskQueue: spec.name });
  return worker.runUntil(client.workflow.execute(backfillV3, { ...backfillOptions(input), taskQueue: spec.name }));
}

/** Consecutive runs of files as [first file, files]: one per era, part or aggregate. */
type Runs = [string, number][];
const runsOf = (files: readonly string[], sizes: readonly number[]): Runs => sizes.map((n, r) => [files[sizes.slice(0, r).reduce((a, b) => a + b, 0)]!, n]);

/**
 * The same archive's splits three ways: the store's eras (one step per file), the reference-file
 * parts of a combine across drift (the backfill's outputs), and the census's aggregates.
 */
async function splits(spec: DatasetSpec, report: ErasReport, files: string[]): Promise<{ store: Runs; parts: Runs; census: Runs }> {
  const resolved = resolveDatasetSpec(spec);
  const parts = await combineRefsAcrossDrift(await refsOf(files), { ...resolved.combine, labels: files });
  const census = await censusDirect({ ...resolved, name: `${resolved.name}-census` }, START, END, { exhaustive: true, reuseOutputs: false });
  const aggregates: number[] = [];
  for (const era of census.eras) aggregates[era.aggregate - 1] = (aggregates[era.aggregate - 1] ?? 0) + era.files;
  return { store: runsOf(files, report.eras.map((e) => e.steps)), parts: runsOf(files, parts.map((p) => p.summary.inputs)), census: runsOf(files, aggregates) };
}

/** The eras' groups, first files and lengths as the drift table says they must be. */
function eraProblems(report: ErasReport): string[] {
  const problems: string[] = [];
  const expected = eraStarts.map((first, e) => ({ group: e === 0 ? "" : `era${String(e + 1).padStart(3, "0")}`, first, steps: (eraStarts[e + 1] ?? keys.length) - first }));
  if (report.eras.length !== expected.length) problems.push(`${report.eras.length} eras, expected ${expected.length}`);
  expected.forEach(({ group, first, steps }, e) => {
    const era = report.eras[e];
    if (!era) return;
    if (era.group !== group) problems.push(`era ${e + 1} is group '${era.group}', expected '${group}'`);
    if (era.steps !== steps) problems.push(`era ${e + 1} has ${era.steps} steps, expected ${steps}`);
    if (e > 0 && !era.era?.first_file.endsWith(keys[first]!)) problems.push(`era ${e + 1} starts at ${era.era?.first_file}, expected ${keys[first]}`);
    if (e > 0 && (era.era?.changes.length ?? 0) === 0) problems.push(`era ${e + 1} names no change`);
  });
  return problems;
}

describe("an Icechunk backfill across drift of every class (dev server, local storage)", () => {
  const name = "ic-drift";
  let datasetSpec: DatasetSpec;

  test("every day committed, none failed or blocked; an era group per change one array cannot hold; read the documented way, every hour once and the decoded values netCDF4's", async (t) => {
    datasetSpec = storeSpec(name, archive);
    const summary = await runBackfill(datasetSpec, { dataset: name, start: START, end: END, maxConcurrentDays: 4 });
    t.diagnostic(`days ${JSON.stringify(summary.days)}`);
    assert.equal(summary.status, "completed");
    assert.deepEqual(summary.days, { total: 8, written: 8, existing: 0, noFiles: 0, failed: 0 });
    const commits = await listDayCommits(resolveDatasetSpec(datasetSpec));
    assert.deepEqual(commits.map((c) => c.day).reverse(), Array.from({ length: 8 }, (_, d) => `2022-03-0${d + 1}`), "one commit per day, in calendar order");
    // A day whose files span two eras names both in its commit: day 1 (files 0-2 root, 3-7 era002).
    assert.deepEqual(commits.find((c) => c.day === START)?.eras?.map((p) => [p.group, p.steps]), [["", 3], ["era002", 5]]);

    const report = await readEras(datasetSpec, keys.map((k) => join(archive, k)));
    t.diagnostic(`eras: ${report.eras.map((e) => `${e.group || "/"} ${e.steps} (${e.era?.changes.join("; ") ?? "first"})`).join(" | ")}`);
    assert.deepEqual(eraProblems(report), []);
    assert.deepEqual(report.variables, ["quality_level", "sea_surface_temperature", "wind_speed"], "the union of the variables");
    assert.deepEqual(report.time, []);
    assert.deepEqual(report.decoded, []);
    assert.deepEqual(report.raw, []);

    // Broken inputs: read naively (raw values of every era decoded with the first era's
    // attributes), the decoded check fails; with a file left out of the expected list, the time check does.
    const naive = await readEras(datasetSpec, keys.map((k) => join(archive, k)), true);
    t.diagnostic(`naive read: ${naive.decoded.length} decoded problems, first: ${naive.decoded[0]}`);
    assert.ok(naive.decoded.length > 0);
    const short = await readEras(datasetSpec, keys.slice(1).map((k) => join(archive, k)));
    t.diagnostic(`a file left out: ${short.time.join("; ")}; raw: ${short.raw.length} problems, first: ${short.raw[0]}`);
    assert.ok(short.time.length > 0);
    assert.ok(short.raw.length > 0, "each era's steps compared with the wrong files");
    assert.ok(eraProblems({ ...report, eras: report.eras.slice(1) }).length > 0, "the era check fails on the wrong eras");
  });

  test("a re-run finds every day in the store (commits in era groups included) and writes nothing", async () => {
    const again = await runBackfill(datasetSpec, { dataset: name, start: START, end: END });
    assert.equal(again.status, "completed");
    assert.deepEqual(again.days, { total: 8, written: 0, existing: 8, noFiles: 0, failed: 0 });
    assert.deepEqual(again.files, { listed: 0, extracted: 0, reused: 0 });
    assert.equal((await listDayCommits(resolveDatasetSpec(datasetSpec))).length, 8, "no commit added");
  });

  test("backfillDirect makes the same eras", async () => {
    const direct = storeSpec("ic-drift-direct", archive);
    const summary = await backfillDirect(resolveDatasetSpec(direct), START, END);
    assert.deepEqual(summary.days, { total: 8, written: 8, existing: 0, noFiles: 0, failed: 0 });
    const report = await readEras(direct, keys.map((k) => join(archive, k)));
    assert.deepEqual(eraProblems(report), []);
    assert.deepEqual([...report.time, ...report.decoded, ...report.raw], []);

    // One rule of where an aggregate splits: the store's eras are the reference-file parts and the census's aggregates.
    const split = await splits(direct, report, keys);
    assert.deepEqual(split.store, split.parts, "store eras = reference-file parts");
    assert.deepEqual(split.store, split.census, "store eras = census aggregates");
    assert.equal(split.store.length, eraStarts.length);
    // Broken input: the parts of an archive missing an era's first file split elsewhere.
    const short = await splits(direct, report, keys.filter((_, i) => i !== eraStarts[2]));
    assert.notDeepEqual(short.parts, short.store);

    // A retried commit of a day whose files span eras (2022-03-01: root and era002; 2022-03-04:
    // era004 to era006) finds every part in its era and writes nothing.
    const resolved = resolveDatasetSpec(direct);
    const before = await listDayCommits(resolved);
    for (const day of ["2022-03-01", "2022-03-04"]) {
      const again = await commitDay(resolved, day, { refs: await refsOf(keys.filter((k) => k.includes(`/${day.replaceAll("-", "/")}/`))) });
      assert.equal(again.alreadyCommitted, true, day);
      assert.equal(again.snapshotId, before.find((c) => c.day === day)?.snapshotId, day);
      assert.ok(again.eras.length >= 2, `${day} spans ${again.eras.join(", ")}`);
    }
    assert.equal((await listDayCommits(resolved)).length, before.length, "no commit added");

    // The month's tag marks its last committed day, whatever era group that day went to.
    const tag = await tagPeriod(resolved, "2022-03");
    assert.deepEqual([tag.lastDay, tag.snapshotId], [END, before.find((c) => c.day === END)?.snapshotId]);
  });
});

describe("drift at a day boundary: split (the default) and fail", () => {
  let small = "";
  let smallKeys: string[] = [];
  before(async () => {
    small = join(dir, "boundary");
    smallKeys = await makeDriftArchive(small, "2022-04-01", 3, [{ at: "2022-04-02T00", set: { scale_factor: 0.005 } }], { hours: 2, grid: [6, 8] });
  });

  test('"fail": the changed day fails mismatched-array and the later one is blocked, as before', async () => {
    const summary = await backfillDirect(resolveDatasetSpec(storeSpec("ic-drift-fail", small, "fail")), "2022-04-01", "2022-04-03");
    assert.deepEqual(summary.days, { total: 3, written: 1, existing: 0, noFiles: 0, failed: 2 });
    const failed = (day: string): string => { const r = summary.results[day]; return r?.outcome === "failed" ? `${r.kind}: ${r.message}` : JSON.stringify(r); };
    assert.match(failed("2022-04-02"), /^IcechunkError: mismatched-array: .*variable sea_surface_temperature: attribute scale_factor/);
    assert.match(failed("2022-04-03"), /^BlockedByEarlierDay: /);
  });

  test('"split": every day committed, the second day starts era002', async () => {
    const spec = storeSpec("ic-drift-split", small);
    const summary = await backfillDirect(resolveDatasetSpec(spec), "2022-04-01", "2022-04-03");
    assert.deepEqual(summary.days, { total: 3, written: 3, existing: 0, noFiles: 0, failed: 0 });
    const report = await readEras(spec, smallKeys.map((k) => join(small, k)));
    assert.deepEqual(report.eras.map((e) => [e.group, e.steps, e.era?.first_day ?? null]), [["", 2, null], ["era002", 4, "2022-04-02"]]);
    assert.deepEqual([...report.time, ...report.decoded, ...report.raw], []);
  });
});

describe("a variable that appears where the era ends inside one of its chunks along time", () => {
  // Day 1: three files of one step (the era holds 3 steps); day 2: files of two steps that gain
  // wind_speed chunked by 2 along time. Its chunks cannot follow 3 steps: the day starts an era
  // (before: the day failed misaligned-chunks, and every later day was blocked).
  test("the day starts a new era naming the variable; every day committed", async () => {
    const source = join(dir, "misaligned");
    const files = await makeDriftArchive(source, "2022-05-01", 2, [{ at: "2022-05-02T00", set: { steps: 2, wind_speed: true, wind_chunks: [2, 6, 8] } }], { hours: 3, grid: [6, 8] });
    const spec = storeSpec("ic-drift-misaligned", source);
    const summary = await backfillDirect(resolveDatasetSpec(spec), "2022-05-01", "2022-05-02");
    const failed = summary.results["2022-05-02"];
    assert.deepEqual(summary.days, { total: 2, written: 2, existing: 0, noFiles: 0, failed: 0 }, JSON.stringify(failed));
    const report = await readEras(spec, files.map((k) => join(source, k)));
    assert.deepEqual(report.eras.map((e) => [e.group, e.steps, e.era?.first_day ?? null]), [["", 3, null], ["era002", 6, "2022-05-02"]]);
    assert.match(report.eras[1]!.era!.changes.join("; "), /^wind_speed: .*3 steps.*chunk/);
  });

  test("inside a day too: the day's files split where the variable's chunks cannot follow, the rest starts an era", async () => {
    // One day: a file of one step, then files of two steps with wind_speed chunked by 2 (before:
    // the day's combine failed misaligned-chunks).
    const source = join(dir, "misaligned-day");
    const files = await makeDriftArchive(source, "2022-05-01", 1, [{ at: "2022-05-01T01", set: { steps: 2, wind_speed: true, wind_chunks: [2, 6, 8] } }], { hours: 4, grid: [6, 8] });
    const spec = storeSpec("ic-drift-misaligned-day", source);
    const summary = await backfillDirect(resolveDatasetSpec(spec), "2022-05-01", "2022-05-01");
    assert.deepEqual(summary.days, { total: 1, written: 1, existing: 0, noFiles: 0, failed: 0 }, JSON.stringify(summary.results["2022-05-01"]));
    const report = await readEras(spec, files.map((k) => join(source, k)));
    assert.deepEqual(report.eras.map((e) => [e.group, e.steps]), [["", 1], ["era002", 6]]);
    assert.ok(report.eras[1]!.era!.first_file.endsWith(files[1]!), report.eras[1]!.era!.first_file);
  });
});

describe("a variable without _FillValue, before it appears", () => {
  // wind_speed (float32) appears at the third file with no _FillValue (netCDF's default fill).
  // Zarr v3 has no undefined fill value: before, the steps without it read 0. They must read as
  // missing (NaN), as a variable absent from a file reads in the JSON and Parquet outputs.
  // (An integer variable reads netCDF's default fill there, undeclared: test/icechunkZarrV3.test.ts.)
  test("the steps before it appears read NaN; its own steps are the files' values", async () => {
    const source = join(dir, "no-fill");
    const files = await makeDriftArchive(source, "2022-06-01", 1, [{ at: "2022-06-01T02", set: { wind_speed: true, wind_fill: false } }], { hours: 4, grid: [6, 8] });
    const spec = storeSpec("ic-no-fill", source);
    const summary = await backfillDirect(resolveDatasetSpec(spec), "2022-06-01", "2022-06-01");
    assert.deepEqual(summary.days, { total: 1, written: 1, existing: 0, noFiles: 0, failed: 0 }, JSON.stringify(summary.results));
    const report = await readEras(spec, files.map((k) => join(source, k)));
    assert.deepEqual(report.eras.map((e) => [e.group, e.steps]), [["", 4]], "one era: the variable appearing splits nothing");
    assert.ok(report.variables.includes("wind_speed"), report.variables.join(", "));
    assert.deepEqual([...report.time, ...report.decoded, ...report.raw], []);
  });
});
