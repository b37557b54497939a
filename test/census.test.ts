/**
 * The census (issue 17) on archives written by python/make_drift_archive.py: every drift class's
 * boundary named exactly (the first file of the new era) with what changed, sampled and exhaustive
 * agreeing; descriptive-only changes not splitting; day outputs of a backfill standing for their
 * files; the workflow on the dev server returning what the library returns.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { CreateBucketCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { WorkflowFailedError } from "@temporalio/client";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { promisify } from "node:util";
import { backfillDirect } from "../lib/backfill/direct.js";
import { censusDirect, readCensusSignatures } from "../lib/census/census.js";
import { noReads, runsOf, searchEras } from "../lib/census/model/index.js";
import { aggregateGroups, type Census } from "../lib/census/report.js";
import { metadataOfRefs } from "../lib/census/signature.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { resolveDatasetSpec, type ResolvedDatasetSpec } from "../lib/datasets/spec.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { censusOptions, censusV1, type CensusSummary } from "../workflows/census.js";
import { backfillOptions } from "../workflows/options.js";
import { describeFailure } from "../workflows/failures.js";
import { makeArchive, makeDriftArchive, testDataset, uploadArchive, writeConfig, type DriftChange } from "./harness/archive.js";
import { runCli } from "./harness/cli.js";
import { s3, temporalAddress, testDir, uniqueBucket, venvPython } from "./harness/env.js";
import { clientFor, workerConnection } from "./harness/temporal.js";

const run = promisify(execFile);

/** 8 days of 8 hourly files from 2022-03-01: file i is day i/8, hour i%8. */
const START = "2022-03-01";
const END = "2022-03-08";
const at = (i: number): string => `2022-03-0${1 + Math.floor(i / 8)}T0${i % 8}`;
/** A boundary per drift class (file number → change); 9 is descriptive only and must not split. */
const drift: [number, DriftChange["set"], [variable: string, field: string][]][] = [
  [3, { scale_factor: 0.005 }, [["sea_surface_temperature", "scale_factor"]]],
  [9, { version: "ACSPO_V2.90" }, []],
  [11, { wind_speed: true }, [["wind_speed", "present"]]],
  [17, { chunks: [1, 6, 6] }, [["sea_surface_temperature", "chunks"], ["quality_level", "chunks"], ["wind_speed", "chunks"]]],
  [22, { zlib: false, shuffle: false }, [["sea_surface_temperature", "codecs"]]],
  [26, { fill_value: -30000 }, [["sea_surface_temperature", "fill_value"], ["sea_surface_temperature", "_FillValue"]]],
  [30, { units: "K" }, [["sea_surface_temperature", "units"]]],
  [34, { dtype: "i4" }, [["sea_surface_temperature", "dtype"]]],
  [38, { unsigned: true, add_offset: 250, scale_factor: 0.001, dtype: "i2", fill_value: -1 }, [["sea_surface_temperature", "_Unsigned"], ["sea_surface_temperature", "add_offset"]]],
  [48, { wind_speed: false }, [["wind_speed", "present"]]],
];
const boundaries = drift.filter(([, , expected]) => expected.length > 0);

let dir: string;
let keys: string[];

const spec = (name: string, output: string): ResolvedDatasetSpec =>
  resolveDatasetSpec(testDataset(name, { kind: "local", path: join(dir, "archive") }, { kind: "local", path: join(dir, output) }));

/** The eras' first files, and per boundary the (variable, field) pairs that changed. */
const shape = (summary: CensusSummary): { firsts: string[]; changed: string[][] } => ({
  firsts: summary.eras.map((e) => e.first),
  changed: summary.eras.slice(1).map((e) => e.changes.map((c) => c.split(" ").slice(0, 2).join(" ").replace(/ (appears|disappears)$/, " present"))),
});

before(async () => {
  dir = await testDir("census");
  keys = await makeDriftArchive(join(dir, "archive"), START, 8, drift.map(([i, set]) => ({ at: at(i), set })), { hours: 8, grid: [12, 24] });
  assert.equal(keys.length, 64);
});

describe("census on a drift archive (every class, local files)", () => {
  test("the fixture decodes to one physical field across every boundary (netCDF4-python decoding each file with its own attributes)", async () => {
    // Each file's decoded sea_surface_temperature (in kelvin) against the field the writer samples:
    // equal to packing precision whatever the file's packing, dtype or units.
    const script = `
import datetime as dt, json, sys
import numpy as np, netCDF4
sys.path.insert(0, sys.argv[1])
from make_drift_archive import EPOCH, true_sst_kelvin
worst = []
for p in sys.argv[2:]:
    ds = netCDF4.Dataset(p)
    v = ds["sea_surface_temperature"]
    t = EPOCH + dt.timedelta(seconds=int(ds["time"][0]))
    x = v[:].astype("f8") + (273.15 if v.units == "celsius" else 0.0)
    truth = true_sst_kelvin(t, *x.shape[1:])
    worst.append(float(np.max(np.abs(x - truth))) if x.count() else None)
print(json.dumps(worst))`;
    const { stdout } = await run(venvPython, ["-c", script, join(repositoryRoot, "python"), ...keys.map((k) => join(dir, "archive", k))]);
    const worst = JSON.parse(stdout) as number[];
    assert.equal(worst.length, 64);
    // Half the coarsest scale_factor (0.01) plus float32 rounding of a value near 300.
    worst.forEach((error, i) => assert.ok(error < 0.005 + 1e-4, `file ${i}: decoded values differ from the field by up to ${error}`));
  });

  test("names every boundary's first file and what changed; sampled (stride 5) and exhaustive agree; the descriptive change does not split", async () => {
    const sampled = await censusDirect(spec("census-drift", "out-sampled"), START, END, { stride: 5, reuseOutputs: false });
    const exhaustive = await censusDirect(spec("census-drift", "out-exhaustive"), START, END, { exhaustive: true, reuseOutputs: false });
    const expectedFirsts = [keys[0]!, ...boundaries.map(([i]) => keys[i]!)];
    for (const summary of [sampled, exhaustive]) {
      const { firsts, changed } = shape(summary);
      assert.deepEqual(firsts, expectedFirsts, summary.mode);
      boundaries.forEach(([i, , expected], b) => {
        for (const [variable, field] of expected) assert.ok(changed[b]!.includes(`${variable} ${field}`), `${summary.mode}: boundary at file ${i} should name ${variable} ${field}: ${changed[b]!.join("; ")}`);
        // Only structural fields are ever named: never the descriptive attributes that change every file.
        assert.ok(!changed[b]!.some((c) => /date_created|history|product_version/.test(c)), changed[b]!.join("; "));
      });
    }
    assert.deepEqual(shape(sampled), shape(exhaustive));
    // A variable appearing (file 11) or disappearing (file 48) does not split an aggregate (the union holds it); every other change does.
    assert.deepEqual(sampled.eras.map((e) => e.aggregate), [1, 2, 2, 3, 4, 5, 6, 7, 8, 8]);
    assert.equal(exhaustive.counts.filesRead, 64 + expectedFirsts.length, "exhaustive reads every file once, and each era's first again for the report");
    assert.ok(sampled.counts.filesRead < exhaustive.counts.filesRead, `sampled read ${sampled.counts.filesRead}`);

    // census.json (typed, versioned) and the report beside the outputs.
    const census = JSON.parse(await readFile(sampled.census, "utf8")) as Census;
    assert.equal(census.version, 1);
    assert.equal(census.eras.length, expectedFirsts.length);
    assert.match(census.assumption, /A→B→A/);
    assert.ok(census.eras[1]!.attributes.product_version === "ACSPO_V2.80" && census.eras[2]!.attributes.product_version === "ACSPO_V2.90", "descriptive attributes are listed per era");
    const report = await readFile(sampled.report, "utf8");
    for (const [i] of boundaries) assert.ok(report.includes(`Era ${boundaries.findIndex(([j]) => j === i) + 2} begins at ${keys[i]}`), `report names ${keys[i]}`);
    assert.match(report, /### wind_speed\n\n\| eras \| from \| to \| structure \|\n\| --- \| --- \| --- \| --- \|\n\| 1–2 \| 2022-03-01 \| 2022-03-02 \| absent \|/);
    assert.match(await readFile(sampled.report.replace(/census\.md$/, "census.svg"), "utf8"), /^<svg/);

    // A later step given another listing's id (a census of the same range listed a changed archive meanwhile) refuses to number files.
    await assert.rejects(readCensusSignatures(spec("census-drift", "out-sampled"), START, END, "0123456789abcdef", [0]), /the census listing was replaced \(listing [0-9a-f]{16}, not 0123456789abcdef\)/);
  });

  test("an era that begins and ends between two samples is missed by sampling (the stated assumption) and found exhaustively", async () => {
    // wind_speed exists only in files 2..3 of a day of 8; samples at stride 7 are files 0 and 7.
    const abaDir = join(dir, "aba");
    const abaKeys = await makeDriftArchive(abaDir, "2022-05-01", 1, [{ at: "2022-05-01T02", set: { wind_speed: true } }, { at: "2022-05-01T04", set: { wind_speed: false } }], { hours: 8 });
    const aba = resolveDatasetSpec(testDataset("census-aba", { kind: "local", path: abaDir }, { kind: "local", path: join(dir, "out-aba") }));
    const sampled = await censusDirect(aba, "2022-05-01", "2022-05-01", { stride: 7 });
    const exhaustive = await censusDirect(aba, "2022-05-01", "2022-05-01", { exhaustive: true });
    assert.deepEqual(sampled.eras.map((e) => e.first), [abaKeys[0]]);
    assert.deepEqual(exhaustive.eras.map((e) => e.first), [abaKeys[0], abaKeys[2], abaKeys[4]]);
  });

  test("on S3 (MinIO): the sources listed and read with ranged GETs, the report written to an output bucket", async () => {
    const s3Dir = join(dir, "s3");
    const s3Keys = await makeDriftArchive(s3Dir, "2022-07-01", 2, [{ at: "2022-07-01T05", set: { scale_factor: 0.005 } }, { at: "2022-07-02T01", set: { wind_speed: true } }], { hours: 6 });
    const source = await uploadArchive(s3Dir, s3Keys, "census-src");
    const client = s3();
    const output = uniqueBucket("census-out");
    await client.send(new CreateBucketCommand({ Bucket: output }));
    const onS3 = resolveDatasetSpec(testDataset("census-s3", { kind: "s3", bucket: source }, { kind: "s3", bucket: output }));
    const sampled = await censusDirect(onS3, "2022-07-01", "2022-07-02", { stride: 4 });
    const exhaustive = await censusDirect(onS3, "2022-07-01", "2022-07-02", { exhaustive: true });
    for (const summary of [sampled, exhaustive]) assert.deepEqual(summary.eras.map((e) => e.first), [s3Keys[0], s3Keys[5], s3Keys[7]], summary.mode);
    assert.ok(sampled.counts.requests >= sampled.counts.filesRead && sampled.counts.bytesRead > 0);
    assert.equal(sampled.census, `s3://${output}/refs/AHI-L2-FLDK-SST/census/2022-07-01..2022-07-02/census.json`);
    const stored = await client.send(new GetObjectCommand({ Bucket: output, Key: "refs/AHI-L2-FLDK-SST/census/2022-07-01..2022-07-02/census.json" }));
    const census = JSON.parse(await stored.Body!.transformToString()) as Census;
    assert.deepEqual(census.eras.map((e) => e.first), [s3Keys[0], s3Keys[5], s3Keys[7]]);
    client.destroy();
  });

  test("a backfill's day outputs stand for their days' files: the same eras, fewer source files read", async () => {
    // Days 6-8 (files 40..63) have one structure each and get one day output; the others have
    // drift inside the day and get one output per era (drift "split"), which the census does not
    // reuse (a split day is not one structure). The boundary at file 48 lies between two output days.
    const reused = spec("census-reuse", "out-reuse");
    const backfill = await backfillDirect(reused, START, END);
    const parts = (day: string): number | undefined => {
      const result = backfill.results[day];
      return result?.outcome === "written" ? (result.outputs?.length ?? 1) : undefined;
    };
    assert.deepEqual(["2022-03-06", "2022-03-07", "2022-03-08"].map(parts), [1, 1, 1]);
    assert.equal(parts("2022-03-01"), 2);
    const withOutputs = await censusDirect(reused, START, END, { stride: 5 });
    const withoutOutputs = await censusDirect(reused, START, END, { stride: 5, reuseOutputs: false });
    assert.ok(withOutputs.counts.outputsRead > 0, "day outputs were read");
    assert.equal(withoutOutputs.counts.outputsRead, 0);
    assert.deepEqual(shape(withOutputs), shape(withoutOutputs));
    assert.ok(withOutputs.counts.filesRead < withoutOutputs.counts.filesRead, `${withOutputs.counts.filesRead} < ${withoutOutputs.counts.filesRead}`);
  });
});

describe("censusV1 on the dev server", () => {
  test("returns what the library returns (same eras, changes and files read) and writes the same census", async () => {
    const { client, connection } = await clientFor();
    try {
      const worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry([testDataset("census-wf", { kind: "local", path: join(dir, "archive") }, { kind: "local", path: join(dir, "out-wf") })]), taskQueue: "census-wf" });
      const input = { dataset: "census-wf", start: START, end: END, stride: 5 };
      const summary = await worker.runUntil(client.workflow.execute(censusV1, { ...censusOptions(input), taskQueue: "census-wf" }));
      const direct = await censusDirect(spec("census-wf", "out-wf-direct"), START, END, { stride: 5 });
      const comparable = (s: CensusSummary, out: string) => JSON.parse(JSON.stringify({ ...s, wallMs: 0 }).split(join(dir, out)).join("<out>")) as unknown;
      assert.deepEqual(comparable(summary, "out-wf"), comparable(direct, "out-wf-direct"));
      assert.equal(summary.eras.length, boundaries.length + 1);
      const described = await client.workflow.getHandle(censusOptions(input).workflowId).describe();
      assert.equal(await described.staticSummary(), `census census-wf ${START}..${END}`);
      const census = JSON.parse(await readFile(summary.census, "utf8")) as Census;
      assert.deepEqual(census.eras.map((e) => e.first), summary.eras.map((e) => e.first));

      // The CLI starts the same workflow (a new worker: a Worker runs once) and prints the eras.
      const cliWorker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry([testDataset("census-wf", { kind: "local", path: join(dir, "archive") }, { kind: "local", path: join(dir, "out-wf") })]), taskQueue: "census-wf" });
      const cli = await cliWorker.runUntil(runCli(["census", "--dataset", "census-wf", "--start", START, "--end", END, "--stride", "5", "--id", "census-wf-cli", "--address", temporalAddress(), "--task-queue", "census-wf"]));
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, new RegExp(`^census of census-wf ${START}\\.\\.${END}: 64 files, ${boundaries.length + 1} eras \\(sampled, stride 5\\)\n`));
      assert.match(cli.stdout, /\nera 2 \(aggregate 2\): 8 files from 20220301030000-NCCF\S+ to 20220302020000-NCCF\S+\n  sea_surface_temperature scale_factor 0\.01 → 0\.005\n/);
      assert.match(cli.stdout, /\nreport: \S+\/census\.md\n$/);
    } finally {
      await connection.close();
    }
  });
});

describe("a census asked of a backfill (dev server)", () => {
  test("runs as the backfill's child after the days, reads their outputs, and its eras are in the result and the CLI's summary", async () => {
    const { client, connection } = await clientFor();
    try {
      const registry = new DatasetRegistry([testDataset("census-bf", { kind: "local", path: join(dir, "archive") }, { kind: "local", path: join(dir, "out-bf") })]);
      const worker = await createWorker({ connection: await workerConnection(), datasets: registry, taskQueue: "census-bf" });
      const input = { dataset: "census-bf", start: START, end: END, census: { stride: 5 } };
      const options = backfillOptions(input, "census-bf-backfill");
      const result = await worker.runUntil(client.workflow.execute(backfillV3, { ...options, taskQueue: "census-bf" }));
      assert.ok(result.census && !("error" in result.census), `a census in the result: ${JSON.stringify(result.census)}`);
      const direct = await censusDirect(spec("census-bf", "out-bf-direct"), START, END, { stride: 5, reuseOutputs: false });
      assert.deepEqual(shape(result.census), shape(direct));
      const written = Object.values(result.results).filter((r) => r.outcome === "written").length;
      assert.ok(written > 0 && result.census.counts.outputsRead > 0, `day outputs were read (${written} written, ${result.census.counts.outputsRead} read)`);
      assert.equal((await client.workflow.getHandle("census-bf-backfill/census").describe()).status.name, "COMPLETED");

      // From the CLI: --census, the eras after the per-period results (a new worker: a Worker runs once).
      const cliWorker = await createWorker({ connection: await workerConnection(), datasets: registry, taskQueue: "census-bf" });
      const cli = await cliWorker.runUntil(runCli(["backfill", "--dataset", "census-bf", "--start", START, "--end", END, "--census", "--id", "census-bf-cli", "--address", temporalAddress(), "--task-queue", "census-bf"]));
      assert.match(cli.stdout, new RegExp(`\ncensus of census-bf ${START}\\.\\.${END}: 64 files, \\d+ eras \\(sampled, stride 24\\)\n`), cli.stdout + cli.stderr);
    } finally {
      await connection.close();
    }
  });
});

describe("the search (lib/census/model), on made-up digests", () => {
  test("finds every boundary exactly when eras are at least a stride long, reading a fraction of the files; exhaustive agrees", async () => {
    // mulberry32: reproducible, and random in its low bits too.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) % n);
    };
    let boundariesSeen = 0;
    for (let trial = 0; trial < 200; trial++) {
      const files = 1 + random(3000);
      const stride = 1 + random(48);
      // Eras of at least `stride` files (the stated assumption holds), each a new digest or an old one again.
      const starts = [0];
      for (;;) {
        const next = starts[starts.length - 1]! + stride + random(4 * stride);
        if (next >= files || random(8) === 0) break;
        starts.push(next);
      }
      const eraOf = (i: number): number => starts.filter((s) => s <= i).length - 1;
      const digests = starts.map((_, e) => (e > 0 && random(3) === 0 ? `d${e - 2}` : `d${e}`));
      const expected = starts.filter((s, e) => e === 0 || digests[e] !== digests[e - 1]);
      let reads = 0;
      const read = async (indices: number[]) => {
        reads += indices.length;
        return { runs: runsOf(indices.map((index) => ({ index, digest: digests[eraOf(index)]! }))), counts: noReads() };
      };
      const sampled = await searchEras(files, { exhaustive: false, stride }, read);
      assert.deepEqual(sampled.eraStarts, expected, `trial ${trial}: ${files} files, stride ${stride}, eras at ${starts.join(", ")}`);
      assert.ok(reads <= Math.ceil(files / stride) + 1 + expected.length * Math.ceil(Math.log2(stride + 1)), `trial ${trial}: ${reads} reads`);
      reads = 0;
      assert.deepEqual((await searchEras(files, { exhaustive: true, stride }, read)).eraStarts, expected);
      assert.equal(reads, files);
      boundariesSeen += expected.length - 1;
    }
    assert.ok(boundariesSeen > 300, `${boundariesSeen} boundaries in 200 trials`);
  });
});

describe("the census's aggregates are the combine's parts (one rule)", () => {
  test("a carried array's change and a calendar spelled another way begin eras but no aggregate; an identicalDims attribute splits both", async () => {
    // Files 0..7 (two days of 4 hours): crs (no time dimension: the combine carries the first file's)
    // changes dtype at file 1; the calendar is spelled "standard" (the same calendar as "Gregorian")
    // from file 2; lat (identicalDims: the combine compares every attribute) gets a long_name at file 5.
    const ruleDir = join(dir, "rule");
    const ruleKeys = await makeDriftArchive(
      ruleDir,
      "2022-09-01",
      2,
      [
        { at: "2022-09-01T01", set: { crs_dtype: "i2" } },
        { at: "2022-09-01T02", set: { calendar: "standard" } },
        { at: "2022-09-02T01", set: { lat_long_name: "latitude" } },
      ],
      { hours: 4 },
    );
    const ruleSpec = resolveDatasetSpec(testDataset("census-rule", { kind: "local", path: ruleDir }, { kind: "local", path: join(dir, "out-rule") }, "month"));
    const backfill = await backfillDirect(ruleSpec, "2022-09-01", "2022-09-30");
    const month = backfill.results["2022-09"];
    assert.ok(month?.outcome === "written", JSON.stringify(month));
    const monthOutputs = month.outputs ?? [month.output];
    // Each part's time steps (one per file), in name order, which is time order.
    const partSteps = await Promise.all(
      [...monthOutputs].sort().map(async (output) => {
        const refs = JSON.parse(await readFile(output, "utf8")) as { refs: Record<string, string> };
        return (JSON.parse(refs.refs["time/.zarray"]!) as { shape: number[] }).shape[0]!;
      }),
    );
    assert.deepEqual(partSteps, [5, 3], "the combine splits at lat's long_name only");
    const census = await censusDirect(ruleSpec, "2022-09-01", "2022-09-30", { exhaustive: true, reuseOutputs: false });
    assert.deepEqual(census.eras.map((e) => e.first), [0, 1, 2, 5].map((i) => ruleKeys[i]), "every structural change begins an era");
    const aggregateFiles: number[] = [];
    for (const era of census.eras) aggregateFiles[era.aggregate - 1] = (aggregateFiles[era.aggregate - 1] ?? 0) + era.files;
    assert.deepEqual(aggregateFiles, partSteps, `census aggregates ${census.eras.map((e) => e.aggregate).join(", ")}`);
  });
});

describe("aggregateGroups", () => {
  /** An era's first file with arrays (time, x) of these dtypes. */
  const era = (dtypes: Record<string, string>) => {
    const refs: Record<string, string> = {};
    for (const [name, dtype] of Object.entries(dtypes)) {
      refs[`${name}/.zarray`] = JSON.stringify({ zarr_format: 2, shape: [1, 4], chunks: [1, 4], dtype, compressor: null, fill_value: null, filters: null, order: "C" });
      refs[`${name}/.zattrs`] = JSON.stringify({ _ARRAY_DIMENSIONS: ["time", "x"] });
    }
    return metadataOfRefs({ version: 1, refs }, { concatDims: ["time"], identicalDims: [] }, "f.nc");
  };
  test("a variable that goes away and comes back keeps its aggregate only with the same structure", () => {
    assert.deepEqual(aggregateGroups([era({ a: "<i2", w: "<f4" }), era({ a: "<i2" }), era({ a: "<i2", w: "<f4" })]), [1, 1, 1]);
    assert.deepEqual(aggregateGroups([era({ a: "<i2", w: "<f4" }), era({ a: "<i2" }), era({ a: "<i2", w: "<f8" })]), [1, 1, 2]);
    assert.deepEqual(aggregateGroups([era({ a: "<i2" }), era({ a: "<i4" }), era({ a: "<i2" })]), [1, 2, 3]);
  });
});

describe("census of files it cannot read", () => {
  test("a corrupt file and a truncated netCDF-3 file: one line naming the file, from the CLI (--direct) and from the workflow (not retried)", async () => {
    const badDir = join(dir, "bad");
    const badKeys = await makeDriftArchive(badDir, "2022-06-01", 1, [], { hours: 4 });
    await writeFile(join(badDir, badKeys[2]!), "this is not an HDF5 file".repeat(10));
    // A netCDF-3 file whose last bytes are missing (an upload cut short).
    const classicPath = join(badDir, badKeys[3]!);
    const classic = `import netCDF4; d = netCDF4.Dataset(${JSON.stringify(classicPath)}, "w", format="NETCDF3_CLASSIC"); d.createDimension("time", 4); v = d.createVariable("v", "f8", ("time",)); v[:] = [1, 2, 3, 4]; d.close()`;
    await run(venvPython, ["-c", classic]);
    const whole = await readFile(classicPath);
    await writeFile(classicPath, whole.subarray(0, whole.length - 8));
    const bad = testDataset("census-bad", { kind: "local", path: badDir }, { kind: "local", path: join(dir, "out-bad") });
    const config = await writeConfig(badDir, [bad]);

    const cli = await runCli(["census", "--dataset", "census-bad", "--start", "2022-06-01", "--end", "2022-06-01", "--direct", "--config", config, "--exhaustive"]);
    assert.equal(cli.code, 1);
    assert.deepEqual(cli.stderr.trim().split("\n").length, 1, cli.stderr);
    assert.match(cli.stderr, new RegExp(`^error: ${join(badDir, badKeys[2]!)}: invalid HDF5 superblock`));

    // Without the corrupt file, the netCDF-3 file is named with what is wrong.
    await rm(join(badDir, badKeys[2]!));
    const classicOnly = await runCli(["census", "--dataset", "census-bad", "--start", "2022-06-01", "--end", "2022-06-01", "--direct", "--config", config, "--exhaustive"]);
    const truncated = "invalid netCDF-3 variable v: data ends at byte \\d+, past the end of the file \\(\\d+ bytes\\): the file is truncated";
    assert.match(classicOnly.stderr, new RegExp(`^error: \\/.*20220601030000-NCCF.*\\.nc: ${truncated}\\n$`));

    const { client, connection } = await clientFor();
    try {
      const worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry([bad]), taskQueue: "census-bad" });
      const input = { dataset: "census-bad", start: "2022-06-01", end: "2022-06-01", exhaustive: true };
      const failure = await worker.runUntil(client.workflow.execute(censusV1, { ...censusOptions(input), taskQueue: "census-bad" }).then(() => undefined, (e: unknown) => e));
      assert.ok(failure instanceof WorkflowFailedError, String(failure));
      const described = describeFailure(failure.cause);
      assert.deepEqual({ outcome: described.outcome, kind: described.kind }, { outcome: "failed", kind: "Netcdf3FormatError" });
      assert.match(described.message, new RegExp(`^\\/.*20220601030000-NCCF-L3C_GHRSST-SSTsubskin-AHI_H08-ACSPO_V2\\.80-v02\\.0-fv01\\.0\\.nc: ${truncated}$`));
      const history = await client.workflow.getHandle(censusOptions(input).workflowId).fetchHistory();
      const attempts = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : []));
      assert.ok(attempts.length >= 2 && attempts.every((a) => a === 1), `no activity was retried: attempts ${attempts.join(", ")}`);
    } finally {
      await connection.close();
    }
  });
});

describe("census of an archive that switched from netCDF-3 to netCDF-4", () => {
  test("both formats are read (metadata only); the first netCDF-4 file begins an era and an aggregate, naming the byte order", async () => {
    const mixedDir = join(dir, "mixed");
    const netcdf3 = await makeArchive(mixedDir, "2022-08-01", 1, { hours: 4, grid: [12, 24], format: "NETCDF3_64BIT_OFFSET" });
    const netcdf4 = await makeArchive(mixedDir, "2022-08-02", 1, { hours: 4, grid: [12, 24] });
    const mixed = resolveDatasetSpec(testDataset("census-mixed", { kind: "local", path: mixedDir }, { kind: "local", path: join(dir, "out-mixed") }));
    const summary = await censusDirect(mixed, "2022-08-01", "2022-08-02", { exhaustive: true });
    assert.deepEqual(summary.eras.map((e) => e.first), [netcdf3[0], netcdf4[0]]);
    assert.deepEqual(summary.eras.map((e) => e.aggregate), [1, 2]);
    const changes = summary.eras[1]!.changes.join("; ");
    assert.match(changes, /sea_surface_temperature dtype/, changes);
  });
});
