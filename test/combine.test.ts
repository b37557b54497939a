import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { before, describe, test } from "node:test";
import { promisify } from "node:util";
import { combineRefs, combineRefsAcrossDrift, writeCombinedReferences, type CombineOptions } from "../lib/combine/index.js";
import { CombineError } from "../lib/errors.js";
import { readKerchunkJson, serializeReferenceSet, serializeRefs } from "../lib/model/kerchunkJson.js";
import { readKerchunkParquet } from "../lib/model/kerchunkParquet.js";
import { translateHdf5 } from "../lib/refs/translate.js";
import type { KerchunkRefs } from "../lib/model/kerchunkRefs.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { BlockCache } from "../lib/source/blockCache.js";
import { LocalFileSource } from "../lib/source/localFile.js";
import { S3Source } from "../lib/source/s3.js";
import { createS3Client } from "../lib/source/s3Client.js";
import { makeDriftArchive } from "./harness/archive.js";
import { runCli } from "./harness/cli.js";
import { s3, testDir, uniqueBucket } from "./harness/env.js";
import { python } from "./harness/python.js";

const INLINE = 100;
const TIME: CombineOptions = { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] };
const KERCHUNK_OPTIONS = JSON.stringify({ concat_dims: ["time"], coo_map: { time: "data:time" }, identical_dims: ["lat", "lon"] });

interface XarrayReport {
  errors: string[];
  checked: Record<string, number>;
  mismatches: string[];
}
interface KerchunkRun {
  ok: boolean;
  error: string | null;
}

let dir = "";
/** Fixture files by set name (combine_fixtures.py), and each file's refs (ours, inline 100). */
let sets: Record<string, string[]> = {};
const refsOf = new Map<string, KerchunkRefs>();
const refsPath = (file: string): string => `${file}.json`;

before(async () => {
  dir = await testDir("combine");
  sets = await python<Record<string, string[]>>("combine_fixtures.py", [join(dir, "fixtures")]);
  for (const file of Object.values(sets).flat()) {
    const source = new LocalFileSource(file);
    const { refs } = await translateHdf5(new BlockCache(source), { inlineThreshold: INLINE });
    await source.close();
    refsOf.set(file, refs);
    await writeFile(refsPath(file), serializeRefs(refs));
  }
});

const combineSet = (name: string, options: Partial<CombineOptions> = {}, order: (files: string[]) => string[] = (f) => f) => {
  const files = order(sets[name]!);
  return combineRefs(
    files.map((f) => refsOf.get(f)!),
    { ...TIME, ...options, labels: files.map((f) => basename(f)) },
  );
};

async function saveJson(name: string, refs: KerchunkRefs): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, serializeRefs(refs, { keysInOrder: true }));
  return path;
}

async function kerchunkCombine(name: string, files: string[]): Promise<{ path: string; run: KerchunkRun }> {
  const path = join(dir, `${name}.kerchunk.json`);
  const run = await python<KerchunkRun>("combine_kerchunk.py", [path, KERCHUNK_OPTIONS, ...files.map(refsPath)]);
  return { path, run };
}

function assertReadsLikeFiles(report: XarrayReport, what: string): void {
  assert.deepEqual(report.errors, [], `${what}: ${report.errors.join("; ")}`);
  assert.deepEqual(report.mismatches, [], `${what}: ${report.mismatches.join("; ")}`);
  assert.ok((report.checked["sea_surface_temperature (decoded)"] ?? 0) >= 2, `${what}: too few time steps compared`);
}

const shuffled = (files: string[]): string[] => files.map((f, i) => [f, (i * 7) % files.length] as const).sort((a, b) => a[1] - b[1]).map(([f]) => f);

describe("equal to kerchunk's MultiZarrToZarr, except that a variable without time stays without it", () => {
  for (const name of ["hourly", "multistep"]) {
    test(`${name}: same refs after normalising formatting (our inputs shuffled, kerchunk's in time order)`, async () => {
      const { refs } = await combineSet(name, {}, shuffled);
      const ours = await saveJson(`${name}.ours.json`, refs);
      const theirs = await kerchunkCombine(name, sets[name]!);
      assert.ok(theirs.run.ok, `kerchunk failed: ${theirs.run.error}`);
      const parity = await python<{ differences: Record<string, string[]> }>("combine_parity.py", [ours, theirs.path, "time"]);
      // kerchunk adds the concat dimension to the scalar crs (shape [n], dims ["time"], so one chunk
      // per input: each input's inline fill chunk); we keep it 0-d with the first input's chunk.
      const unexpected = Object.entries(parity.differences).filter(([key, d]) => !/^crs\/\.(zarray|zattrs)$/.test(key) && !(/^crs\/[1-9]\d*$/.test(key) && d.join() === "missing from ours"));
      assert.deepEqual(unexpected, [], unexpected.map(([k, d]) => `${k}: ${d.join("; ")}`).join("\n"));
      assert.ok(parity.differences["crs/.zarray"], "the crs deviation should show (the comparison can tell)");
    });
  }
});

describe("xarray through the combined refs reads the source files' values", () => {
  test("hourly files, one step each, time in netCDF-C's 1024-element unlimited chunk (kerchunk #394)", async () => {
    // The shape of the case: a one-value time stored in a 4096-byte chunk, referenced (not inline).
    const first = refsOf.get(sets.hourly![0]!)!.refs;
    assert.match(first["time/.zarray"] as string, /"shape":\[1\],"chunks":\[1024\]/);
    assert.ok(Array.isArray(first["time/0"]) && first["time/0"][2] === 4096, "time/0 should be a 4096-byte range");
    const { refs, summary } = await combineSet("hourly");
    assert.equal(summary.concat.time!.length, 12);
    assert.equal(summary.reads.requests, 12);
    const report = await python<XarrayReport>("combine_xarray.py", [await saveJson("hourly.xr.json", refs), ...sets.hourly!]);
    assertReadsLikeFiles(report, "hourly");
  });

  test("files with four steps each, chunked two along time", async () => {
    const { refs } = await combineSet("multistep");
    const report = await python<XarrayReport>("combine_xarray.py", [await saveJson("multistep.xr.json", refs), ...sets.multistep!]);
    assertReadsLikeFiles(report, "multistep");
  });

  test("from MinIO: refs with s3:// URLs, coordinates read through S3", async () => {
    const client = s3();
    const bucket = uniqueBucket("combine");
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const reader = createS3Client();
    const inputs: KerchunkRefs[] = [];
    for (const file of sets.hourly!.slice(0, 6)) {
      const key = `sst/${basename(file)}`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(file) }));
      inputs.push((await translateHdf5(new BlockCache(new S3Source(reader, bucket, key)), { inlineThreshold: INLINE })).refs);
    }
    const { refs, summary } = await combineRefs(inputs.reverse(), TIME);
    assert.equal(summary.concat.time!.length, 6);
    assert.ok(JSON.stringify(refs.refs["sea_surface_temperature/5.0.0"]).includes(`s3://${bucket}/sst/`));
    const report = await python<XarrayReport>("combine_xarray.py", [
      await saveJson("s3.xr.json", refs),
      ...sets.hourly!.slice(0, 6),
      "--s3-endpoint",
      process.env.AWS_ENDPOINT_URL!,
    ]);
    assertReadsLikeFiles(report, "MinIO");
    client.destroy();
    reader.destroy();
  });
});

describe("rollups: combining combined sets gives the refs combining every file gives", () => {
  test("days into a month: three 4-hour sets, and two levels (day+day, then + day)", async () => {
    const files = sets.hourly!;
    const all = serializeRefs((await combineSet("hourly")).refs, { keysInOrder: true });
    const days: string[] = [];
    for (let d = 0; d < 3; d++) {
      const day = files.slice(4 * d, 4 * d + 4);
      const { refs } = await combineRefs(day.map((f) => refsOf.get(f)!), TIME);
      days.push(await saveJson(`day${d}.json`, refs));
    }
    const month = await writeCombinedReferences([days[2]!, days[0]!, days[1]!], join(dir, "month.json"), TIME);
    assert.equal(month.concat.time!.length, 12);
    assert.equal(await readFile(join(dir, "month.json"), "utf8"), all, "month of days != month of files");
    const twoDays = await writeCombinedReferences([days[0]!, days[1]!], join(dir, "two-days.json"), TIME);
    assert.equal(twoDays.concat.time!.length, 8);
    await writeCombinedReferences([join(dir, "two-days.json"), days[2]!], join(dir, "nested.json"), TIME);
    assert.equal(await readFile(join(dir, "nested.json"), "utf8"), all, "(day+day)+day != month of files");
  });

  test("multi-step inputs: per-file sets into pairs, pairs into the whole", async () => {
    const files = sets.multistep!;
    const all = serializeRefs((await combineSet("multistep")).refs, { keysInOrder: true });
    const pair = await saveJson("pair.json", (await combineRefs(files.slice(0, 2).map((f) => refsOf.get(f)!), TIME)).refs);
    await writeCombinedReferences([refsPath(files[2]!), pair], join(dir, "multistep-rollup.json"), TIME);
    assert.equal(await readFile(join(dir, "multistep-rollup.json"), "utf8"), all);
  });

  test("output is the same bytes whatever the input order, equals serializeRefs, and re-runs are byte-identical", async () => {
    const a = serializeRefs((await combineSet("hourly")).refs, { keysInOrder: true });
    const { refs } = await combineSet("hourly", {}, (f) => [...f].reverse());
    assert.equal(serializeRefs(refs, { keysInOrder: true }), a);
    assert.equal(serializeRefs(refs), a);
    assert.equal(serializeRefs((await combineSet("hourly", {}, shuffled)).refs, { keysInOrder: true }), a);
  });
});

describe("the reference model (lib/model)", () => {
  test("every file's refs and every combined set read into it and written back are the same bytes; the combine's own model is what reading its JSON gives", async () => {
    for (const [file, refs] of refsOf) {
      const text = serializeRefs(refs);
      assert.equal(serializeReferenceSet(readKerchunkJson(text, file)), text, basename(file));
    }
    assert.ok(refsOf.size >= 10, `only ${refsOf.size} files`);
    for (const name of ["hourly", "multistep"]) {
      const combined = await combineSet(name);
      const text = combined.json().toString("utf8");
      const model = combined.references(name);
      assert.deepEqual(model, readKerchunkJson(text, name), name);
      assert.equal(serializeReferenceSet(model), text, name);
    }
  });
});

describe("corrected where the reference tools go wrong", () => {
  test("time units differing between files (kerchunk #282): re-encoded to the first file's, or a clear error by setting", async () => {
    const { refs, summary } = await combineSet("units");
    assert.equal(summary.reencodedInputs, 2);
    const report = await python<XarrayReport>("combine_xarray.py", [await saveJson("units.xr.json", refs), ...sets.units!]);
    assertReadsLikeFiles(report, "units");
    await assert.rejects(combineSet("units", { timeUnits: "error" }), (e: unknown) => {
      assert.ok(e instanceof CombineError && e.problem === "mismatched-time-units", String(e));
      assert.match(e.message, /u2\.nc: variable time: units 'hours since 2022-01-13 00:00:00' differ/);
      assert.match(e.message, /timeUnits/);
      return true;
    });
    // kerchunk's data:time mixes the raw numbers: its times are wrong (the comparison can fail).
    const theirs = await kerchunkCombine("units", sets.units!);
    const wrong = await python<XarrayReport>("combine_xarray.py", [theirs.path, ...sets.units!]);
    assert.ok(wrong.mismatches.length > 0, "kerchunk's combine of mixed units read correctly");
  });

  test("calendars that differ: a clear error", async () => {
    await assert.rejects(combineSet("calendar"), (e: unknown) => {
      assert.ok(e instanceof CombineError && e.problem === "mismatched-calendar", String(e));
      assert.match(e.message, /c1\.nc: variable time: calendar 'noleap' differs from 'Gregorian'/);
      return true;
    });
  });

  test("inputs not starting on a chunk boundary along time (kerchunk #430): a clear error, where kerchunk shifts values", async () => {
    await assert.rejects(combineSet("misaligned"), (e: unknown) => {
      assert.ok(e instanceof CombineError && e.problem === "misaligned-chunks", String(e));
      assert.match(e.message, /mis0\.nc: variable \w+: ends at index 3 along time, inside a chunk \(chunk size 2/);
      return true;
    });
    const theirs = await kerchunkCombine("misaligned", sets.misaligned!);
    assert.ok(theirs.run.ok, `kerchunk failed: ${theirs.run.error}`);
    const wrong = await python<XarrayReport>("combine_xarray.py", [theirs.path, ...sets.misaligned!]);
    assert.ok(wrong.mismatches.length > 0, "kerchunk's combine of misaligned inputs read correctly");
  });

  test("scale_factor differing between files (VirtualiZarr #1004): a clear error, where kerchunk decodes with the first's", async () => {
    await assert.rejects(combineSet("scales"), (e: unknown) => {
      assert.ok(e instanceof CombineError && e.problem === "mismatched-packing", String(e));
      assert.match(e.message, /s1\.nc: variable sea_surface_temperature: attribute scale_factor = 0\.0199\d+ differs from 0\.0099\d+ in s0\.nc/);
      return true;
    });
    const theirs = await kerchunkCombine("scales", sets.scales!);
    assert.ok(theirs.run.ok, `kerchunk failed: ${theirs.run.error}`);
    const wrong = await python<XarrayReport>("combine_xarray.py", [theirs.path, ...sets.scales!]);
    assert.ok(wrong.mismatches.some((m) => m.includes("sea_surface_temperature (decoded)")), "kerchunk's combine decoded right");
  });
});

describe("clear errors naming the file and the variable", () => {
  const cases: [set: string, problem: string, message: RegExp][] = [
    ["shape", "mismatched-shape", /b\.nc: variable \w+: shape \[1, 24, 54\] differs from \[1, 24, 36\] in a\.nc \(only time may differ\)/],
    ["dtype", "mismatched-dtype", /b\.nc: variable sea_surface_temperature: dtype "<i4" differs from "<i2" in a\.nc/],
    ["chunks", "mismatched-chunking", /b\.nc: variable sea_surface_temperature: chunking \[1,24,18\] differs from \[1,12,18\] in a\.nc/],
    ["codecs", "mismatched-codecs", /b\.nc: variable sea_surface_temperature: codecs \(filters\) .*zlib.* differs from .*shuffle.* in a\.nc/],
    ["fill", "mismatched-fill-value", /b\.nc: variable sea_surface_temperature: fill value -999 differs from -32768 in a\.nc/],
    ["duplicate", "duplicate-coordinate", /c\.nc: variable time: coordinate value 1294794000 is also in b\.nc \(setting: duplicates\)/],
    ["nocoord", "missing-coordinate", /b\.nc: variable time: coordinate variable not found \(selector 'data:time' for dimension time\) \(setting: cooMap\.time\)/],
    ["identical", "mismatched-identical", /b\.nc: variable lat: values of chunk 0 differ from a\.nc, but lat is listed in identicalDims/],
  ];
  for (const [set, problem, message] of cases) {
    test(`${set}: ${problem}`, async () => {
      await assert.rejects(combineSet(set), (e: unknown) => {
        assert.ok(e instanceof CombineError, `not a CombineError: ${String(e)}`);
        assert.equal(e.problem, problem, e.message);
        assert.match(e.message, message);
        assert.equal(e.retryable, false);
        assert.ok(e.context.file && e.context.variable, "context names file and variable");
        return true;
      });
    });
  }

  test("duplicates with keep-first: the file listed first is kept, the rest dropped, values right", async () => {
    const { refs, summary } = await combineSet("duplicate", { duplicates: "keep-first" });
    assert.deepEqual(summary.dropped, ["c.nc"]);
    assert.equal(summary.concat.time!.length, 2);
    const report = await python<XarrayReport>("combine_xarray.py", [await saveJson("keep-first.xr.json", refs), ...sets.duplicate!.slice(0, 2)]);
    assertReadsLikeFiles(report, "keep-first");
  });

  test("identicalCheck 'metadata' skips the value reads (and so accepts differing lat)", async () => {
    const { summary } = await combineSet("identical", { identicalCheck: "metadata" });
    assert.equal(summary.reads.requests, 2, "only the two time chunks are read");
  });
});

describe("Parquet reference layout (kerchunk.df / fsspec LazyReferenceMapper)", () => {
  test("a streamed aggregate in several records opens in xarray through fsspec with the files' values", async () => {
    const out = join(dir, "hourly.parq");
    const summary = await writeCombinedReferences(sets.hourly!.map(refsPath), out, { ...TIME, parquet: { recordSize: 10 } });
    assert.equal(summary.format, "parquet");
    const records = (await readdir(join(out, "sea_surface_temperature"))).sort();
    assert.deepEqual(records, ["refs.0.parq", "refs.1.parq", "refs.2.parq", "refs.3.parq", "refs.4.parq"]);
    const report = await python<XarrayReport>("combine_xarray.py", [out, ...sets.hourly!, "--parquet"]);
    assertReadsLikeFiles(report, "parquet");
    // Re-runs write the same bytes.
    const before = await readFile(join(out, "sea_surface_temperature/refs.3.parq"));
    const metadata = await readFile(join(out, ".zmetadata"));
    await writeCombinedReferences([...sets.hourly!].reverse().map(refsPath), out, { ...TIME, parquet: { recordSize: 10 } });
    assert.deepEqual(await readFile(join(out, "sea_surface_temperature/refs.3.parq")), before);
    assert.deepEqual(await readFile(join(out, ".zmetadata")), metadata);
  });

  test("read back into the reference model, a Parquet folder (in several records, multi-step too) writes the JSON the JSON output holds", async () => {
    for (const name of ["hourly", "multistep"]) {
      const out = join(dir, `${name}.model.parq`);
      await writeCombinedReferences(sets[name]!.map(refsPath), out, { ...TIME, parquet: { recordSize: 3 } });
      const json = (await combineSet(name)).json().toString("utf8");
      assert.equal(serializeReferenceSet(await readKerchunkParquet(out)), json, name);
    }
  });
});

test("CLI: temporal-kerchunk combine writes what the library writes", async () => {
  const out = join(dir, "cli.json");
  const files = sets.multistep!.map(refsPath);
  const run = promisify(execFile);
  const { stderr } = await run(
    process.execPath,
    ["--import", "tsx", "cli/main.ts", "combine", ...files.map((f) => relative(repositoryRoot, f)), "--concat-dims", "time", "--coo-map", "time=data:time", "--identical-dims", "lat,lon", "-o", out],
    { cwd: repositoryRoot },
  );
  assert.match(stderr, /3 inputs combined; time: 12 values/);
  const library = serializeRefs((await combineSet("multistep")).refs, { keysInOrder: true });
  // The CLI was given relative paths; the refs inside point at the .nc files by absolute path either way.
  assert.equal(await readFile(out, "utf8"), library);
});

test("CLI: combine --drift split writes one output per era (named .era001of002), --drift fail fails as before, a bad value is one line", async () => {
  // Four hourly files; the third halves sea_surface_temperature's scale_factor (a new era).
  const archive = join(dir, "drift-cli");
  const keys = await makeDriftArchive(archive, "2022-06-01", 1, [{ at: "2022-06-01T02", set: { scale_factor: 0.005 } }], { hours: 4, grid: [6, 8] });
  const refs: KerchunkRefs[] = [];
  const files: string[] = [];
  for (const key of keys) {
    const source = new LocalFileSource(join(archive, key));
    refs.push((await translateHdf5(new BlockCache(source), { inlineThreshold: INLINE })).refs);
    await source.close();
    files.push(await saveJson(`drift-cli-${files.length}.json`, refs[refs.length - 1]!));
  }
  const flags = ["--concat-dims", "time", "--coo-map", "time=data:time", "--identical-dims", "lat,lon"];
  const out = join(dir, "drift-cli-out.json");
  const split = await runCli(["combine", ...files, ...flags, "-o", out]);
  assert.equal(split.code, 0, split.stderr);
  const parts = [join(dir, "drift-cli-out.era001of002.json"), join(dir, "drift-cli-out.era002of002.json")];
  assert.deepEqual(split.stdout.trim().split("\n"), parts, "the outputs, listed");
  assert.ok(!existsSync(out), "no unsplit output");
  const library = await combineRefsAcrossDrift(refs, { ...TIME, labels: files });
  assert.equal(library.length, 2);
  for (const [i, part] of parts.entries()) assert.equal(await readFile(part, "utf8"), serializeRefs(library[i]!.refs, { keysInOrder: true }), part);
  // Without -o, inputs that span eras are one line naming the way out.
  const stdout = await runCli(["combine", ...files, ...flags]);
  assert.equal(stdout.code, 1);
  assert.match(stdout.stderr, /^error: .*the inputs span 2 eras .*give -o out\.json .*or --drift fail\n$/);
  // One era (the first two files): exactly as without the flag, to the name given.
  const one = join(dir, "drift-cli-one.json");
  assert.equal((await runCli(["combine", ...files.slice(0, 2), ...flags, "-o", one])).stdout, "");
  assert.equal(await readFile(one, "utf8"), serializeRefs((await combineRefs(refs.slice(0, 2), { ...TIME, labels: files.slice(0, 2) })).refs, { keysInOrder: true }));

  const fail = await runCli(["combine", ...files, ...flags, "--drift", "fail", "-o", join(dir, "drift-cli-fail.json")]);
  assert.equal(fail.code, 1);
  assert.match(fail.stderr, /^error: .*mismatched-packing|^error: .*variable sea_surface_temperature: attribute scale_factor/);
  assert.equal(fail.stderr.trim().split("\n").length, 1, fail.stderr);
  const bad = await runCli(["combine", ...files, ...flags, "--drift", "eras"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: invalid --drift: expected split or fail, got 'eras'\n$/);
});

test("a compound (structured) variable combines along time like any other, and reads back field by field", async (t) => {
  const { files } = await python<{ files: string[] }>("combine_structured.py", ["write", join(dir, "structured")]);
  const refs: KerchunkRefs[] = [];
  for (const file of files) {
    const source = new LocalFileSource(file);
    refs.push((await translateHdf5(new BlockCache(source), { inlineThreshold: INLINE })).refs);
    await source.close();
  }
  const combined = await combineRefs(refs, { concatDims: ["time"], cooMap: { time: "data:time" }, labels: files.map((f) => basename(f)) });
  const path = await saveJson("structured.json", combined.refs);
  const report = await python<{ problems: string[] }>("combine_structured.py", ["check", path, ...files]);
  assert.deepEqual(report.problems, []);
  // The check can fail: the second file's chunk pointing at the first file's bytes.
  const broken = structuredClone(combined.refs);
  broken.refs["obs/1.0"] = broken.refs["obs/0.0"]!;
  const wrong = await python<{ problems: string[] }>("combine_structured.py", ["check", await saveJson("structured-broken.json", broken), ...files]);
  t.diagnostic(`broken: ${wrong.problems.join("; ")}`);
  assert.ok(wrong.problems.some((p) => p.startsWith("obs.")));
});
