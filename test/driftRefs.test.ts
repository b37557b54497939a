/**
 * Aggregation across drift for reference files (issue 17): an archive written by
 * python/make_drift_archive.py whose layout changes at chosen files (packing, a variable appearing
 * and disappearing, chunk shape, codecs, fill value, units, dtype; a descriptive change; two
 * boundaries inside a day) backfilled to kerchunk JSON with `aggregation: "month"` (by the library
 * and by the workflows on the dev server) and combined to Parquet: every day written, none failed
 * by drift, the month split into one output per era, and the range, read the documented way
 * (python/open_range.py), giving every time step once with netCDF4-python's decoded values (and
 * the files' stored values within each era). The same archive backfilled to Parquet folders
 * (`output.format: "parquet"`): the same outputs as folders, each holding the JSON output's
 * references, read the same way; a re-run writes nothing; a folder without its `.zmetadata` (a run
 * cut short) is no output. `drift: "fail"` fails as before; an archive without drift gives the same
 * bytes under both policies, and the same references in Parquet.
 */
import assert from "node:assert/strict";
import { readdir, readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { before, describe, test } from "node:test";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { backfillDirect } from "../lib/backfill/direct.js";
import { completeOutputs, settledByOutputs, type PeriodResult } from "../lib/backfill/model/index.js";
import { planBackfill } from "../lib/backfill/plan.js";
import { outputKey, outputOfCompleteKey, outputOfKey, outputPartKey } from "../lib/backfill/names.js";
import { findOutputs } from "../lib/backfill/sources.js";
import { censusDirect } from "../lib/census/census.js";
import { writeCombinedReferencesAcrossDrift } from "../lib/combine/index.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { openStorage, resolveDatasetSpec, type DatasetSpec, type OutputFormat, type ResolvedDatasetSpec } from "../lib/datasets/spec.js";
import { joinKey } from "../lib/storage/storage.js";
import { readKerchunkJson, serializeReferenceSet } from "../lib/model/kerchunkJson.js";
import { readKerchunkParquet } from "../lib/model/kerchunkParquet.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import { makeDriftArchive, testDataset, type DriftChange } from "./harness/archive.js";
import { filesUnder } from "./harness/outputs.js";
import { python } from "./harness/python.js";
import { s3, testDir, uniqueBucket } from "./harness/env.js";
import { clientFor, workerConnection } from "./harness/temporal.js";

/** 8 days of 4 hourly files from 2022-02-01 (file i: day i/4, hour i%4); the range is all of February, so the month rolls up. */
const START = "2022-02-01";
const END = "2022-02-28";
const at = (i: number): string => `2022-02-0${1 + Math.floor(i / 4)}T0${i % 4}`;
const drift: [file: number, change: DriftChange["set"]][] = [
  [2, { scale_factor: 0.005 }], // packing, inside the first day (2022-02-01 02:00)
  [4, { version: "ACSPO_V2.90" }], // descriptive only: no split
  [6, { wind_speed: true }], // a variable appears (inside 2022-02-02): union, no split
  [8, { chunks: [1, 3, 4] }], // chunk shape
  [12, { zlib: false, shuffle: false }], // codecs
  [16, { fill_value: -30000 }], // fill value
  [20, { units: "K" }], // units
  [24, { dtype: "i4" }], // dtype
  [26, { wind_speed: false }], // the variable disappears (inside 2022-02-07): union, no split
];
/** The first file of each era one array can hold: every change but the descriptive one and the variable set. */
const eraFirsts = [0, 2, 8, 12, 16, 20, 24];
const FILES = 32;
const stepsPerEra = eraFirsts.map((first, i) => (eraFirsts[i + 1] ?? FILES) - first);

let dir: string;
let sources: string[];

const dataset = (name: string, archive: string, output: string, policy?: "split" | "fail", format?: OutputFormat): DatasetSpec => {
  const spec = testDataset(name, { kind: "local", path: archive }, { kind: "local", path: output }, "month");
  return { ...spec, ...(format ? { output: { ...spec.output, format } } : {}), ...(policy ? { drift: policy } : {}) };
};

interface RangeCheck {
  steps: number;
  distinct: number;
  increasing: boolean;
  missing: string[];
  extra: string[];
  decoded: Record<string, number>;
  nan_mismatch: Record<string, number>;
  absent_not_nan: Record<string, number>;
  raw_mismatch: Record<string, number>;
  raw_compared: number;
  per_output: number[];
  naive_worst: number;
}

/** Read `outputs` the documented way and compare with netCDF4 reading every source file. */
const readRange = (outputs: readonly string[], files: readonly string[] = sources): Promise<RangeCheck> =>
  python<RangeCheck>("drift_range.py", [JSON.stringify({ outputs, sources: files })]);

/** Every time step once, in order; decoded values as netCDF4's (packed: to float32 rounding), raw values as stored. */
function assertRangeReadsTheFiles(check: RangeCheck, label: string): void {
  assert.deepEqual(
    { steps: check.steps, distinct: check.distinct, increasing: check.increasing, missing: check.missing, extra: check.extra },
    { steps: FILES, distinct: FILES, increasing: true, missing: [], extra: [] },
    label,
  );
  assert.ok(check.decoded.sea_surface_temperature! < 1e-4, `${label}: decoded SST differs from netCDF4's by ${check.decoded.sea_surface_temperature}`);
  assert.deepEqual({ quality_level: check.decoded.quality_level, wind_speed: check.decoded.wind_speed }, { quality_level: 0, wind_speed: 0 }, label);
  assert.deepEqual(check.nan_mismatch, { sea_surface_temperature: 0, quality_level: 0, wind_speed: 0 }, `${label}: masked where netCDF4 masks`);
  assert.deepEqual(check.absent_not_nan, { sea_surface_temperature: 0, quality_level: 0, wind_speed: 0 }, `${label}: an absent variable reads as NaN`);
  assert.deepEqual(check.raw_mismatch, { sea_surface_temperature: 0, quality_level: 0, wind_speed: 0 }, `${label}: stored values within each era`);
  // 32 steps of SST and quality, wind_speed where present (files 6..25): the raw check compared them all.
  assert.equal(check.raw_compared, FILES * 2 + 20, label);
  // The check has teeth: one array across the eras (the first era's packing for every value) is far off.
  assert.ok(check.naive_worst > 1, `${label}: decoding every era with the first era's attributes should be wrong, worst ${check.naive_worst}`);
}

const outputsOf = (result: PeriodResult | undefined): string[] => {
  assert.ok(result && (result.outcome === "written" || result.outcome === "existing"), `no output: ${JSON.stringify(result)}`);
  return result.outputs ?? [result.output];
};

const driftSpec = (name: string, output: string, policy?: "split" | "fail", format?: OutputFormat): ResolvedDatasetSpec => resolveDatasetSpec(dataset(name, join(dir, "archive"), join(dir, output), policy, format));

/** No chunk inline (this fixture's chunks are small enough to be, at the default threshold): every chunk a [url, offset, size] row. */
const byReference = (spec: DatasetSpec): DatasetSpec => ({ ...spec, refs: { inlineThreshold: 0 } });

/** Every file under a folder, relative path → bytes (Parquet files are binary: compared as bytes). */
async function bytesUnder(root: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) found.set(relative(root, join(entry.parentPath, entry.name)), await readFile(join(entry.parentPath, entry.name)));
  }
  assert.ok(found.size > 0, `no file under ${root}`);
  return found;
}

/** The references of a JSON output and of the Parquet output of the same period (and part), through the model. */
async function sameReferences(jsonOutput: string, parquetOutput: string): Promise<void> {
  const fromJson = serializeReferenceSet(readKerchunkJson(await readFile(jsonOutput, "utf8"), jsonOutput));
  const fromParquet = serializeReferenceSet(await readKerchunkParquet(parquetOutput));
  assert.match(fromJson, /"sea_surface_temperature\/0\.0\.0":\["[^"]+\.nc",\d+,\d+\]/, `${jsonOutput}: chunks by reference`);
  assert.equal(fromParquet, fromJson, `${parquetOutput} holds ${jsonOutput}'s references`);
}

before(async () => {
  dir = await testDir("driftrefs");
  const keys = await makeDriftArchive(join(dir, "archive"), START, 8, drift.map(([i, set]) => ({ at: at(i), set })), { hours: 4, grid: [6, 8] });
  assert.equal(keys.length, FILES);
  sources = keys.map((key) => join(dir, "archive", key));
});

describe("output names across drift", () => {
  test("parts name their period, number and count; sorting names gives time order; a listing settles a period only with every part", () => {
    const spec = resolveDatasetSpec({ ...testDataset("names", { kind: "local", path: "/a" }, { kind: "local", path: "/o" }), output: { storage: { kind: "local", path: "/o" }, prefix: "refs", suffix: "_sst" } });
    const key = outputPartKey(spec, "2022-02-02", 1, 2);
    assert.equal(key, "refs/AHI-L2-FLDK-SST/20220202_sst.era001of002.json");
    assert.deepEqual(outputOfKey(spec, key), { period: "2022-02-02", part: { part: 1, parts: 2 } });
    assert.deepEqual(outputOfKey(spec, "refs/AHI-L2-FLDK-SST/202202_sst.json"), { period: "2022-02" });
    for (const bad of ["refs/AHI-L2-FLDK-SST/20220202_sst.era003of002.json", "refs/AHI-L2-FLDK-SST/20220202.era001of002.json", "refs/AHI-L2-FLDK-SST/20220202_sst.era1of2.json"]) {
      assert.equal(outputOfKey(spec, bad), undefined, bad);
    }
    const names = [outputPartKey(spec, "2022-02-02", 2, 2), outputPartKey(spec, "2022-02-03", 1, 1 + 11), outputPartKey(spec, "2022-02-02", 1, 2), "refs/AHI-L2-FLDK-SST/20220201_sst.json"];
    assert.deepEqual([...names].sort(), [names[3], names[2], names[0], names[1]]);

    const listed = (parts: number[]) => parts.map((part) => ({ period: "2022-02-02", url: `u${part}`, part: { part, parts: 3 } }));
    assert.deepEqual(completeOutputs(listed([3, 1, 2])), { "2022-02-02": ["u1", "u2", "u3"] });
    assert.deepEqual(completeOutputs(listed([1, 3])), {}, "a part missing: the period is combined again");
    const plan = planBackfill("names", "month", START, END, "kerchunk");
    const settled = settledByOutputs(plan.years[0]!, plan.aggregation, { "2022-02-02": ["u1", "u2"], "2022-02-01": "d1" });
    assert.deepEqual(settled["2022-02-02"], { outcome: "existing", output: "u1", outputs: ["u1", "u2"] });
    assert.deepEqual(settled["2022-02-01"], { outcome: "existing", output: "d1" }, "one output: as before, no list");
  });
});

describe("a drift archive backfilled to kerchunk JSON (aggregation month)", () => {
  let monthOutputs: string[];

  test("every day is written, none fails; the day with a boundary inside and the month get one output per era, named in time order", async () => {
    const spec = driftSpec("drift-json", "out-json");
    const summary = await backfillDirect(spec, START, END);
    assert.equal(summary.status, "completed", JSON.stringify(summary.results));
    assert.deepEqual(summary.days, { total: 28, written: 8, existing: 0, noFiles: 20, failed: 0 });
    // The packing boundary inside 2022-02-01 splits it; a variable appearing or disappearing inside a day does not.
    const dayParts = Object.fromEntries(Object.entries(summary.results).filter(([p]) => p.length === 10 && p <= "2022-02-08").map(([p, r]) => [p, outputsOf(r).length]));
    assert.deepEqual(dayParts, { "2022-02-01": 2, "2022-02-02": 1, "2022-02-03": 1, "2022-02-04": 1, "2022-02-05": 1, "2022-02-06": 1, "2022-02-07": 1, "2022-02-08": 1 });
    monthOutputs = outputsOf(summary.results["2022-02"]);
    assert.deepEqual(
      monthOutputs.map((o) => o.slice(o.lastIndexOf("/") + 1)),
      eraFirsts.map((_, i) => `202202.era00${i + 1}of007.json`),
    );
    assert.deepEqual([...monthOutputs].sort(), monthOutputs);
  });

  test("the month's outputs, read the documented way, give every step once with netCDF4's decoded values, and the files' stored values within each era", async () => {
    const check = await readRange(monthOutputs);
    assertRangeReadsTheFiles(check, "month outputs");
    assert.deepEqual(check.per_output, stepsPerEra);
  });

  test("so do the day outputs (sorted by name)", async () => {
    const folder = join(dir, "out-json", "refs", "AHI-L2-FLDK-SST");
    const days = (await readdir(folder)).filter((name) => /^\d{8}\./.test(name)).sort();
    assert.deepEqual(days.slice(0, 3), ["20220201.era001of002.json", "20220201.era002of002.json", "20220202.json"]);
    assertRangeReadsTheFiles(await readRange(days.map((name) => join(folder, name))), "day outputs");
  });

  test("the census's aggregates are these outputs: the same rule splits both", async () => {
    const census = await censusDirect(driftSpec("drift-census", "out-census"), START, END, { exhaustive: true, reuseOutputs: false });
    const aggregates = new Map<number, string>();
    for (const era of census.eras) if (!aggregates.has(era.aggregate)) aggregates.set(era.aggregate, era.first);
    assert.deepEqual([...aggregates.values()], eraFirsts.map((i) => sources[i]!.slice(join(dir, "archive").length + 1)));
  });

  test("a re-run finds every output, parts included, and writes nothing", async () => {
    const before = await filesUnder(join(dir, "out-json"));
    const summary = await backfillDirect(driftSpec("drift-json", "out-json"), START, END);
    assert.deepEqual(summary.days, { total: 28, written: 0, existing: 8, noFiles: 20, failed: 0 });
    assert.equal(summary.results["2022-02"]?.outcome, "existing");
    assert.deepEqual(outputsOf(summary.results["2022-02"]), monthOutputs);
    assert.deepEqual(outputsOf(summary.results["2022-02-01"]).length, 2);
    assert.deepEqual(await filesUnder(join(dir, "out-json")), before);
  });

  test("a run cut short between two parts' writes: the re-run writes the missing parts only, the same bytes", async () => {
    const folder = join(dir, "out-json", "refs", "AHI-L2-FLDK-SST");
    const before = await filesUnder(join(dir, "out-json"));
    const removed = ["20220201.era002of002.json", "202202.era003of007.json"];
    for (const name of removed) await rm(join(folder, name));
    const summary = await backfillDirect(driftSpec("drift-json", "out-json"), START, END);
    assert.equal(summary.status, "completed", JSON.stringify(summary.results));
    assert.equal(summary.results["2022-02-01"]?.outcome, "written", "a day with a part missing is combined again");
    assert.equal(summary.results["2022-02"]?.outcome, "written");
    assert.deepEqual(summary.days, { total: 28, written: 1, existing: 7, noFiles: 20, failed: 0 });
    assert.deepEqual(await filesUnder(join(dir, "out-json")), before);
  });

  test("a year rolls up from the month's parts: one output per era again, the same range", async () => {
    const spec = resolveDatasetSpec({ ...dataset("drift-year", join(dir, "archive"), join(dir, "out-year")), aggregation: "year" });
    const summary = await backfillDirect(spec, "2022-01-01", "2022-12-31");
    assert.equal(summary.status, "completed", JSON.stringify(summary.results["2022"]));
    const year = outputsOf(summary.results["2022"]);
    assert.deepEqual(year.map((o) => o.slice(o.lastIndexOf("/") + 1)), eraFirsts.map((_, i) => `2022.era00${i + 1}of007.json`));
    const check = await readRange(year);
    assertRangeReadsTheFiles(check, "year outputs");
    assert.deepEqual(check.per_output, stepsPerEra);
  });

  test("the workflows on the dev server (day workflows, and batches of small days) write the same outputs, byte for byte, with the same results", async () => {
    const { client, connection } = await clientFor();
    try {
      for (const [name, smallDayFiles] of [["drift-wf", 0], ["drift-wf-small", undefined]] as const) {
        const registry = new DatasetRegistry([dataset(name, join(dir, "archive"), join(dir, `out-${name}`))]);
        const worker = await createWorker({ connection: await workerConnection(), datasets: registry, taskQueue: name });
        const input = { dataset: name, start: START, end: END, ...(smallDayFiles === undefined ? {} : { smallDayFiles }) };
        const summary = await worker.runUntil(client.workflow.execute(backfillV3, { ...backfillOptions(input), taskQueue: name }));
        assert.equal(summary.status, "completed", JSON.stringify(summary.results));
        assert.deepEqual(summary.days, { total: 28, written: 8, existing: 0, noFiles: 20, failed: 0 }, name);
        const names = (outputs: string[]) => outputs.map((o) => o.slice(o.lastIndexOf("/") + 1));
        assert.deepEqual(names(outputsOf(summary.results["2022-02"])), names(monthOutputs), name);
        assert.deepEqual(names(outputsOf(summary.results["2022-02-01"])), ["20220201.era001of002.json", "20220201.era002of002.json"], name);
        assert.deepEqual(await filesUnder(join(dir, `out-${name}`, "refs")), await filesUnder(join(dir, "out-json", "refs")), name);
      }
    } finally {
      await connection.close();
    }
  });
});

describe("a drift archive combined to Parquet", () => {
  test("one Parquet output per era from the day outputs, read the documented way like the files", async () => {
    const folder = join(dir, "out-json", "refs", "AHI-L2-FLDK-SST");
    const days = (await readdir(folder)).filter((name) => /^\d{8}\./.test(name)).sort().map((name) => join(folder, name));
    const spec = driftSpec("drift-json", "out-json");
    const written = await writeCombinedReferencesAcrossDrift(days, join(dir, "feb.parq"), { ...spec.combine, drift: "split" });
    assert.deepEqual(
      written.map((w) => w.output.slice(dir.length + 1)),
      eraFirsts.map((_, i) => `feb.era00${i + 1}of007.parq`),
    );
    assert.ok(written.every((w) => w.format === "parquet"));
    const check = await readRange(written.map((w) => w.output));
    assertRangeReadsTheFiles(check, "Parquet outputs");
    assert.deepEqual(check.per_output, stepsPerEra);
  });
});

describe("a drift archive backfilled to Parquet (output.format \"parquet\", aggregation month)", () => {
  const out = "out-parq";
  const folder = () => join(dir, out, "refs", "AHI-L2-FLDK-SST");
  const spec = () => resolveDatasetSpec(byReference(dataset("drift-parq", join(dir, "archive"), join(dir, out), undefined, "parquet")));
  const names = (outputs: string[]) => outputs.map((o) => o.slice(o.lastIndexOf("/") + 1));
  let monthOutputs: string[];

  test("names: a folder <period>.parq, parts .era001of002.parq; only its .zmetadata makes it an output", () => {
    const parq = spec();
    assert.equal(outputKey(parq, "2022-02-02"), "refs/AHI-L2-FLDK-SST/20220202.parq");
    assert.equal(outputPartKey(parq, "2022-02", 2, 7), "refs/AHI-L2-FLDK-SST/202202.era002of007.parq");
    assert.deepEqual(outputOfKey(parq, "refs/AHI-L2-FLDK-SST/202202.era002of007.parq"), { period: "2022-02", part: { part: 2, parts: 7 } });
    assert.equal(outputOfKey(parq, "refs/AHI-L2-FLDK-SST/202202.json"), undefined);
    assert.equal(outputOfCompleteKey(parq, "refs/AHI-L2-FLDK-SST/202202.parq/.zmetadata"), "refs/AHI-L2-FLDK-SST/202202.parq");
    assert.equal(outputOfCompleteKey(parq, "refs/AHI-L2-FLDK-SST/202202.parq/sea_surface_temperature/refs.0.parq"), undefined);
  });

  test("every day is written, none fails; the split day and the month get one folder per era, each with its .zmetadata", async () => {
    const summary = await backfillDirect(spec(), START, END);
    assert.equal(summary.status, "completed", JSON.stringify(summary.results));
    assert.deepEqual(summary.days, { total: 28, written: 8, existing: 0, noFiles: 20, failed: 0 });
    assert.deepEqual(names(outputsOf(summary.results["2022-02-01"])), ["20220201.era001of002.parq", "20220201.era002of002.parq"]);
    monthOutputs = outputsOf(summary.results["2022-02"]);
    assert.deepEqual(names(monthOutputs), eraFirsts.map((_, i) => `202202.era00${i + 1}of007.parq`));
    const outputs = (await readdir(folder())).sort();
    assert.deepEqual(outputs, [...(await readdir(join(dir, "out-json", "refs", "AHI-L2-FLDK-SST")))].sort().map((name) => name.replace(/\.json$/, ".parq")), "the JSON backfill's outputs, as folders");
    for (const name of outputs) assert.ok((await readdir(join(folder(), name))).includes(".zmetadata"), name);
  });

  test("the month's folders and the day folders, read the documented way, give every step once with netCDF4's decoded values", async () => {
    const check = await readRange(monthOutputs);
    assertRangeReadsTheFiles(check, "Parquet month outputs");
    assert.deepEqual(check.per_output, stepsPerEra);
    const days = (await readdir(folder())).filter((name) => /^\d{8}\./.test(name)).sort();
    assertRangeReadsTheFiles(await readRange(days.map((name) => join(folder(), name))), "Parquet day outputs");
  });

  test("every folder holds the references of the JSON backfill's output of the same period and part (read through the model)", async () => {
    const json = await backfillDirect(resolveDatasetSpec(byReference(dataset("drift-json0", join(dir, "archive"), join(dir, "out-json0")))), START, END);
    assert.equal(json.status, "completed");
    const jsonFolder = join(dir, "out-json0", "refs", "AHI-L2-FLDK-SST");
    const outputs = await readdir(folder());
    for (const name of outputs) await sameReferences(join(jsonFolder, name.replace(/\.parq$/, ".json")), join(folder(), name));
  });

  test("a re-run finds every folder, parts included, and writes nothing", async () => {
    const before = await bytesUnder(join(dir, out));
    const summary = await backfillDirect(spec(), START, END);
    assert.deepEqual(summary.days, { total: 28, written: 0, existing: 8, noFiles: 20, failed: 0 });
    assert.equal(summary.results["2022-02"]?.outcome, "existing");
    assert.deepEqual(outputsOf(summary.results["2022-02"]), monthOutputs);
    assert.deepEqual(await bytesUnder(join(dir, out)), before);
  });

  test("a run cut short before a folder's .zmetadata: the folder is no output; the re-run finishes it, the same bytes", async () => {
    const before = await bytesUnder(join(dir, out));
    const cut = ["20220203.parq", "20220201.era002of002.parq", "202202.era003of007.parq"];
    for (const name of cut) await rm(join(folder(), name, ".zmetadata"));
    const found = await findOutputs(spec(), "2022");
    assert.deepEqual([found["2022-02-03"], found["2022-02-01"], found["2022-02"]], [undefined, undefined, undefined], "data files alone are no output");
    const summary = await backfillDirect(spec(), START, END);
    assert.equal(summary.status, "completed", JSON.stringify(summary.results));
    assert.deepEqual(summary.days, { total: 28, written: 2, existing: 6, noFiles: 20, failed: 0 });
    assert.equal(summary.results["2022-02"]?.outcome, "written");
    assert.deepEqual(await bytesUnder(join(dir, out)), before);
  });

  test("a year rolls up from the month's Parquet parts: one folder per era again, the same range", async () => {
    const year = resolveDatasetSpec(byReference({ ...dataset("drift-year-parq", join(dir, "archive"), join(dir, "out-year-parq"), undefined, "parquet"), aggregation: "year" }));
    const summary = await backfillDirect(year, "2022-01-01", "2022-12-31");
    assert.equal(summary.status, "completed", JSON.stringify(summary.results["2022"]));
    const outputs = outputsOf(summary.results["2022"]);
    assert.deepEqual(names(outputs), eraFirsts.map((_, i) => `2022.era00${i + 1}of007.parq`));
    const check = await readRange(outputs);
    assertRangeReadsTheFiles(check, "Parquet year outputs");
    assert.deepEqual(check.per_output, stepsPerEra);
  });

  test("the census reads the days' files (not their Parquet folders) and finds the same eras", async () => {
    const census = await censusDirect(spec(), START, END, { exhaustive: true });
    const aggregates = new Map<number, string>();
    for (const era of census.eras) if (!aggregates.has(era.aggregate)) aggregates.set(era.aggregate, era.first);
    assert.deepEqual([...aggregates.values()], eraFirsts.map((i) => sources[i]!.slice(join(dir, "archive").length + 1)));
  });

  test("the workflows on the dev server (day workflows, and batches of small days) write the same folders, byte for byte, with the same results", async () => {
    const { client, connection } = await clientFor();
    try {
      // (The census above wrote its report beside the library's outputs: only the folders are compared.)
      const folders = async (root: string) => new Map([...(await bytesUnder(root))].filter(([path]) => path.includes(".parq/")));
      const library = await folders(join(dir, out, "refs"));
      assert.ok(library.size > 100, `${library.size} files`);
      for (const [name, smallDayFiles] of [["drift-wf-parq", 0], ["drift-wf-parq-small", undefined]] as const) {
        const registry = new DatasetRegistry([byReference(dataset(name, join(dir, "archive"), join(dir, `out-${name}`), undefined, "parquet"))]);
        const worker = await createWorker({ connection: await workerConnection(), datasets: registry, taskQueue: name });
        const input = { dataset: name, start: START, end: END, ...(smallDayFiles === undefined ? {} : { smallDayFiles }) };
        const summary = await worker.runUntil(client.workflow.execute(backfillV3, { ...backfillOptions(input), taskQueue: name }));
        assert.equal(summary.status, "completed", JSON.stringify(summary.results));
        assert.deepEqual(summary.days, { total: 28, written: 8, existing: 0, noFiles: 20, failed: 0 }, name);
        assert.deepEqual(names(outputsOf(summary.results["2022-02"])), names(monthOutputs), name);
        assert.deepEqual(await folders(join(dir, `out-${name}`, "refs")), library, name);
      }
    } finally {
      await connection.close();
    }
  });
});

describe("drift: \"fail\"", () => {
  test("fails as before: the day with a packing change inside fails with CombineError naming scale_factor; the month is incomplete", async () => {
    const summary = await backfillDirect(driftSpec("drift-fail", "out-fail", "fail"), START, END);
    const day = summary.results["2022-02-01"];
    assert.equal(day?.outcome, "failed");
    assert.equal(day.kind, "CombineError");
    assert.match(day.message, /sea_surface_temperature: attribute scale_factor = .* differs/);
    // 2022-02-02 gains wind_speed at hour 2: refused as before (every input must have the same variables).
    const appears = summary.results["2022-02-02"];
    assert.equal(appears?.outcome, "failed");
    assert.match(appears.message, /wind_speed: not in .*every input must have the same variables/);
    assert.equal(summary.results["2022-02"]?.outcome, "failed");
    const written = (await readdir(join(dir, "out-fail", "refs", "AHI-L2-FLDK-SST"))).filter((name) => name.endsWith(".json"));
    assert.ok(written.every((name) => !name.includes(".era")), written.join(", "));
  });

  test("a setting other than split or fail is refused with one line naming it", () => {
    assert.throws(() => resolveDatasetSpec({ ...dataset("bad", "/a", "/o"), drift: "merge" as "split" }), (error: Error) => {
      assert.match(error.message, /datasets\.bad\.drift/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });
});

describe("an archive without drift", () => {
  test("gives the same outputs, byte for byte, under split and fail (a descriptive change splits nothing)", async () => {
    const archive = join(dir, "plain");
    await makeDriftArchive(archive, START, 2, [{ at: "2022-02-01T01", set: { version: "ACSPO_V2.90" } }], { hours: 2, grid: [6, 8] });
    const split = await backfillDirect(resolveDatasetSpec(dataset("plain-split", archive, join(dir, "plain-split"))), START, END);
    const fail = await backfillDirect(resolveDatasetSpec(dataset("plain-fail", archive, join(dir, "plain-fail"), "fail")), START, END);
    assert.equal(split.status, "completed");
    assert.equal(fail.status, "completed");
    const month = split.results["2022-02"];
    assert.equal(month?.outcome, "written");
    assert.equal("outputs" in month ? month.outputs : undefined, undefined, "one output: no list");
    const a = await filesUnder(join(dir, "plain-split"));
    assert.deepEqual(a, await filesUnder(join(dir, "plain-fail")));
    assert.deepEqual([...a.keys()].sort(), ["refs/AHI-L2-FLDK-SST/202202.json", "refs/AHI-L2-FLDK-SST/20220201.json", "refs/AHI-L2-FLDK-SST/20220202.json"]);
  });

  test("a Parquet backfill gives the JSON backfill's references, output for output (read back through the model)", async () => {
    const backfill = async (name: string, format?: OutputFormat) => {
      const summary = await backfillDirect(resolveDatasetSpec(byReference(dataset(name, join(dir, "plain"), join(dir, name), undefined, format))), START, END);
      assert.equal(summary.status, "completed", JSON.stringify(summary.results));
      return join(dir, name, "refs", "AHI-L2-FLDK-SST");
    };
    const [json, parquet] = [await backfill("plain-json0"), await backfill("plain-parq", "parquet")];
    const names = (await readdir(parquet)).sort();
    assert.deepEqual(names, ["202202.parq", "20220201.parq", "20220202.parq"]);
    for (const name of names) await sameReferences(join(json, name.replace(/\.parq$/, ".json")), join(parquet, name));
  });

  test("to Parquet on S3 (MinIO): the same references as on a local folder; the rollup reads its days from S3; a re-run writes nothing", async () => {
    const bucket = uniqueBucket("parq-out");
    const client = s3();
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const spec = resolveDatasetSpec(byReference({ ...dataset("plain-parq-s3", join(dir, "plain"), "/unused", undefined, "parquet"), output: { storage: { kind: "s3", bucket }, prefix: "refs", suffix: "", format: "parquet" } }));
    const first = await backfillDirect(spec, START, END);
    assert.equal(first.status, "completed", JSON.stringify(first.results));
    assert.deepEqual([first.days.written, first.results["2022-02"]?.outcome], [2, "written"]);
    const storage = openStorage(spec.output.storage);
    try {
      for (const period of ["2022-02-01", "2022-02-02", "2022-02"]) {
        const key = outputKey(spec, period);
        const onS3 = await readKerchunkParquet(key, key, (path) => storage.read(joinKey(key, path)));
        const local = await readKerchunkParquet(join(dir, "plain-parq", outputKey(spec, period)));
        assert.equal(serializeReferenceSet(onS3), serializeReferenceSet(local), period);
      }
      const listed = async () => { const keys: string[] = []; for await (const o of storage.list("")) keys.push(`${o.key}:${o.size}`); return keys; };
      const before = await listed();
      const again = await backfillDirect(spec, START, END);
      assert.deepEqual([again.days.written, again.days.existing, again.results["2022-02"]?.outcome], [0, 2, "existing"]);
      assert.deepEqual(await listed(), before);
    } finally {
      await storage.close();
    }
  });

  test("a change of the time calendar splits too (mid-day), and the range still reads every step once", async () => {
    const archive = join(dir, "calendar");
    const keys = await makeDriftArchive(archive, START, 2, [{ at: "2022-02-01T01", set: { calendar: "proleptic_gregorian" } }], { hours: 2, grid: [6, 8] });
    const summary = await backfillDirect(resolveDatasetSpec(dataset("calendar", archive, join(dir, "calendar-out"))), START, END);
    assert.equal(summary.status, "completed", JSON.stringify(summary.results));
    const names = (outputs: string[]) => outputs.map((o) => o.slice(o.lastIndexOf("/") + 1));
    assert.deepEqual(names(outputsOf(summary.results["2022-02-01"])), ["20220201.era001of002.json", "20220201.era002of002.json"]);
    const month = outputsOf(summary.results["2022-02"]);
    assert.deepEqual(names(month), ["202202.era001of002.json", "202202.era002of002.json"]);
    const check = await readRange(month, keys.map((key) => join(archive, key)));
    assert.deepEqual({ steps: check.steps, distinct: check.distinct, increasing: check.increasing, missing: check.missing, per_output: check.per_output }, { steps: 4, distinct: 4, increasing: true, missing: [], per_output: [1, 3] });
    assert.ok(check.decoded.sea_surface_temperature! < 1e-4);
    assert.deepEqual(check.raw_mismatch, { sea_surface_temperature: 0, quality_level: 0, wind_speed: 0 });
  });
});
