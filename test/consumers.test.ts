/**
 * Issue 9: every consumer reads every output. Each output kind this project writes (single-file
 * JSON, a day combined to JSON by the backfill, combined Parquet, a month rolled up from day
 * outputs) is opened by every reader users have: xarray (reference:// + zarr, engine="kerchunk"),
 * fsspec's ReferenceFileSystem (JSON; Parquet with fastparquet and with pyarrow), VirtualiZarr's
 * kerchunk parsers (and a round trip into Icechunk), zarrita.js. Raw values are compared with the
 * source files, which the test writes with netCDF4-python; decoded values where masking matters.
 *
 * Every check is also run on deliberately broken outputs (what we wrote before issue 9, or what
 * kerchunk writes), and must fail on the ones that break it: no check here cannot fail.
 * The matrix, with the versions pinned, is docs/consumers.md.
 */
import h5wasm from "h5wasm/node";
import { ReferenceStore } from "@zarrita/storage";
import * as zarr from "zarrita";
import assert from "node:assert/strict";
import { mkdir, open as openFile, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { before, describe, test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { backfillDirect } from "../lib/backfill/direct.js";
import { outputKey } from "../lib/backfill/names.js";
import { combineRefs, writeCombinedReferences } from "../lib/combine/index.js";
import { resolveDatasetSpec, type ResolvedDatasetSpec } from "../lib/datasets/spec.js";
import { serializeRefs } from "../lib/model/kerchunkJson.js";
import { translateHdf5 } from "../lib/refs/translate.js";
import type { KerchunkRefs, Reference } from "../lib/model/kerchunkRefs.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { BlockCache } from "../lib/source/blockCache.js";
import { LocalFileSource } from "../lib/source/localFile.js";
import { testDataset } from "./harness/archive.js";
import { testDir } from "./harness/env.js";
import { python } from "./harness/python.js";

interface Case {
  id: string;
  kind: "json" | "parquet";
  path: string;
  /** Source files whose values the output holds, in time order. */
  files: string[];
}
/** A deliberately broken output, and the checks that must fail on it. */
interface Broken extends Case {
  what: string;
  breaks: string[];
}
type Report = Record<string, Record<string, { ok: boolean; problems: string[] }>>;

const ZARRITA = "zarrita.js ReferenceStore";
const XARRAY = ["xarray reference:// + zarr", "xarray engine=kerchunk"];
const FSSPEC_JSON = "fsspec ReferenceFileSystem";
const FSSPEC_PARQUET = ["fsspec ReferenceFileSystem (fastparquet)", "fsspec ReferenceFileSystem (pyarrow)"];
const VIRTUALIZARR = ["VirtualiZarr parser", "VirtualiZarr → Icechunk"];

let dir = "";
let archive = "";
let good: Case[] = [];
let broken: Broken[] = [];

const readRefs = async (path: string): Promise<KerchunkRefs> => JSON.parse(await readFile(path, "utf8")) as KerchunkRefs;

/** Per-file references written the way `temporal-kerchunk refs` writes them. */
async function fileRefs(file: string): Promise<KerchunkRefs> {
  const source = new LocalFileSource(file);
  try {
    return (await translateHdf5(new BlockCache(source), { inlineThreshold: 100 })).refs;
  } finally {
    await source.close();
  }
}

/** A .zattrs text without `_FillValue`, every other byte kept (JSON.stringify would turn 0.0 into 0). */
function withoutFillValueAttribute(text: string): string {
  const without = text.replace(/,"_FillValue":("[^"]*"|[^,}]*)/, "");
  assert.ok(!without.includes('"_FillValue"'), text);
  return without;
}

function swapChunks(refs: KerchunkRefs, a: string, b: string): KerchunkRefs {
  const [x, y] = [refs.refs[a], refs.refs[b]];
  assert.ok(Array.isArray(x) && Array.isArray(y) && x[1] !== y[1], `${a} and ${b} should be byte ranges of different chunks`);
  return { version: 1, refs: { ...refs.refs, [a]: y as Reference, [b]: x as Reference } };
}

before(async () => {
  dir = await testDir("consumers");
  archive = join(dir, "archive");
  const { files } = await python<{ files: string[] }>("consumer_fixtures.py", [archive]);
  assert.equal(files.length, 4);
  const out = join(dir, "out");
  await mkdir(out, { recursive: true });

  // Single-file JSON, as `temporal-kerchunk refs` writes it.
  const single = join(out, "single.json");
  const perFile = await Promise.all(files.map(fileRefs));
  await writeFile(single, serializeRefs(perFile[0]!));
  const perFilePaths = files.map((_, i) => join(out, `file${i}.json`));
  await Promise.all(perFilePaths.map((path, i) => writeFile(path, serializeRefs(perFile[i]!))));

  // A day and its month as the backfill writes them (days, then the rollup from day outputs).
  const spec: ResolvedDatasetSpec = resolveDatasetSpec(testDataset("consumers", { kind: "local", path: archive }, { kind: "local", path: join(out, "backfill") }, "month"));
  const { report } = await backfillDirect(spec, "2022-01-01", "2022-01-31");
  const day = join(out, "backfill", outputKey(spec, "2022-01-13"));
  const month = join(out, "backfill", outputKey(spec, "2022-01"));
  assert.equal(report["2022-01-13"], day);
  assert.equal(report["2022-01"], month);

  // Combined Parquet, in records of 4 references (several files per array, missing chunks).
  const parquet = join(out, "combined.parq");
  const parquetOptions = { ...spec.combine, parquet: { recordSize: 4 } };
  await writeCombinedReferences(perFilePaths, parquet, parquetOptions);

  good = [
    { id: "single-file JSON", kind: "json", path: single, files: files.slice(0, 1) },
    { id: "combined JSON (a day)", kind: "json", path: day, files: files.slice(0, 2) },
    { id: "combined Parquet", kind: "parquet", path: parquet, files },
    { id: "rollup (a month of days)", kind: "json", path: month, files },
  ];

  // Broken outputs: each what an older version of ours, or kerchunk, writes.
  const singleText = await readFile(single, "utf8");
  const bareNaN = singleText.replace(/\\"(NaN|-?Infinity)\\"/g, "$1");
  assert.ok((bareNaN.match(/:NaN[,}]/g) ?? []).length >= 3, "the single-file refs should have NaN fill values and attributes");
  const barePaths = singleText.replaceAll('"file://', '"');
  assert.notEqual(barePaths, singleText);
  const withoutScalarChunks = { version: 1 as const, refs: { ...perFile[0]!.refs } };
  for (const key of ["crs/0", "sst_reference/0"]) {
    assert.equal(typeof withoutScalarChunks.refs[key], "string", `${key} should be inline`);
    delete withoutScalarChunks.refs[key];
  }
  const dayRefs = await readRefs(day);
  const withoutFillAttribute: KerchunkRefs = { version: 1, refs: { ...dayRefs.refs } };
  let removed = 0;
  for (const [key, value] of Object.entries(dayRefs.refs)) {
    if (!key.endsWith(".zattrs") || typeof value !== "string" || !value.includes('"_FillValue"')) continue;
    withoutFillAttribute.refs[key] = withoutFillValueAttribute(value);
    removed++;
  }
  assert.ok(removed >= 4, "quality_level, sst, sses_bias, dt_analysis and wind_speed have _FillValue");
  const swapped = swapChunks(dayRefs, "sea_surface_temperature/0.0.0", "sea_surface_temperature/0.0.1");
  const brokenPath = (name: string): string => join(out, name);
  await writeFile(brokenPath("bare-nan.json"), bareNaN);
  await writeFile(brokenPath("bare-paths.json"), barePaths);
  await writeFile(brokenPath("no-scalar-chunks.json"), serializeRefs(withoutScalarChunks));
  await writeFile(brokenPath("no-fill-attribute.json"), serializeRefs(withoutFillAttribute));
  await writeFile(brokenPath("swapped.json"), serializeRefs(swapped));
  await writeCombinedReferences(perFilePaths, brokenPath("no-statistics.parq"), { ...parquetOptions, parquet: { recordSize: 4, columnStatistics: false } });
  const swappedFirst = join(out, "file0-swapped.json");
  await writeFile(swappedFirst, serializeRefs(swapChunks(perFile[0]!, "sea_surface_temperature/0.0.0", "sea_surface_temperature/0.0.1")));
  await writeCombinedReferences([swappedFirst, ...perFilePaths.slice(1)], brokenPath("swapped.parq"), parquetOptions);

  const dayFiles = files.slice(0, 2);
  const jsonChecks = [...XARRAY, FSSPEC_JSON, ...VIRTUALIZARR, ZARRITA];
  broken = [
    { id: "bare NaN", what: "NaN/Infinity as bare literals (before issue 9)", kind: "json", path: brokenPath("bare-nan.json"), files: files.slice(0, 1), breaks: [ZARRITA, VIRTUALIZARR[1]!] },
    { id: "bare local paths", what: "local paths instead of file:// URLs (before issue 9)", kind: "json", path: brokenPath("bare-paths.json"), files: files.slice(0, 1), breaks: [ZARRITA] },
    { id: "0-d arrays without a chunk", what: "never-written scalars without a chunk (kerchunk)", kind: "json", path: brokenPath("no-scalar-chunks.json"), files: files.slice(0, 1), breaks: VIRTUALIZARR },
    { id: "no _FillValue attribute", what: "_FillValue only as the .zarray fill_value (kerchunk)", kind: "json", path: brokenPath("no-fill-attribute.json"), files: dayFiles, breaks: VIRTUALIZARR },
    { id: "swapped chunks (JSON)", what: "two chunk references swapped", kind: "json", path: brokenPath("swapped.json"), files: dayFiles, breaks: jsonChecks },
    { id: "Parquet without statistics", what: "no column statistics (before issue 9)", kind: "parquet", path: brokenPath("no-statistics.parq"), files, breaks: [...XARRAY, FSSPEC_PARQUET[0]!, ...VIRTUALIZARR] },
    { id: "swapped chunks (Parquet)", what: "two chunk references swapped", kind: "parquet", path: brokenPath("swapped.parq"), files, breaks: [...XARRAY, ...FSSPEC_PARQUET, ...VIRTUALIZARR] },
  ];
});

/** Run one consumer over every good and broken case in one process. */
async function consumer(script: string): Promise<Report> {
  const plan = join(dir, `${script}.plan.json`);
  await writeFile(plan, JSON.stringify({ archive, cases: [...good, ...broken].map(({ id, kind, path, files }) => ({ id, kind, path, files })) }));
  return python<Report>(script, [plan]);
}

/**
 * Every check passes on every good output, fails on every broken output meant to break it, and so
 * has at least one broken output of the same kind that it fails on.
 */
function assertMatrix(report: Report, checks: string[], t: TestContext): void {
  const failures: string[] = [];
  for (const item of good) {
    for (const [check, result] of Object.entries(report[item.id] ?? {})) {
      if (!result.ok) failures.push(`${check} on ${item.id}: ${result.problems.join("; ")}`);
    }
  }
  assert.deepEqual(failures, [], failures.join("\n"));
  for (const item of broken) {
    for (const check of item.breaks.filter((c) => checks.includes(c))) {
      const result = report[item.id]?.[check];
      assert.ok(result, `${check} did not run on ${item.id}`);
      assert.equal(result.ok, false, `${check} should fail on the broken output "${item.id}" (${item.what})`);
    }
  }
  for (const check of checks) {
    for (const kind of ["json", "parquet"] as const) {
      const ran = good.some((g) => g.kind === kind && report[g.id]?.[check]);
      if (!ran) continue;
      const caught = broken.filter((b) => b.kind === kind && report[b.id]?.[check]?.ok === false);
      assert.ok(caught.length > 0, `${check} (${kind}) fails on no broken output: it cannot fail`);
      const why = (b: Broken): string => report[b.id]![check]!.problems[0]!.replace(/\s+/g, " ").slice(0, 100);
      t.diagnostic(`${check} (${kind}) fails on: ${caught.map((b) => `${b.id} [${why(b)}]`).join("; ")}`);
    }
  }
}

describe("every consumer reads every output (docs/consumers.md)", () => {
  test("xarray: reference:// + zarr and engine=\"kerchunk\"", async (t) => {
    const report = await consumer("consumer_xarray.py");
    assertMatrix(report, XARRAY, t);
    for (const item of good) for (const check of XARRAY) assert.ok(report[item.id]?.[check], `${check} did not run on ${item.id}`);
  });

  test("fsspec ReferenceFileSystem + zarr: JSON, and Parquet with fastparquet and with pyarrow", async (t) => {
    const report = await consumer("consumer_fsspec.py");
    assertMatrix(report, [FSSPEC_JSON, ...FSSPEC_PARQUET], t);
    for (const item of good) for (const check of item.kind === "json" ? [FSSPEC_JSON] : FSSPEC_PARQUET) assert.ok(report[item.id]?.[check]);
  });

  test("VirtualiZarr's kerchunk parsers (JSON, Parquet), and to_icechunk read back with xarray", async (t) => {
    const report = await consumer("consumer_virtualizarr.py");
    assertMatrix(report, VIRTUALIZARR, t);
    for (const item of good) for (const check of VIRTUALIZARR) assert.ok(report[item.id]?.[check]);
  });

  test("zarrita.js ReferenceStore in Node (JSON; zarrita has no Parquet reference store)", async (t) => {
    const report: Report = {};
    for (const item of [...good, ...broken].filter((c) => c.kind === "json")) {
      let problems: string[];
      try {
        problems = await zarritaProblems(item);
      } catch (error) {
        problems = [`${(error as Error).name}: ${(error as Error).message}`];
      }
      report[item.id] = { [ZARRITA]: { ok: problems.length === 0, problems } };
    }
    assertMatrix(report, [ZARRITA], t);
    for (const item of good.filter((g) => g.kind === "json")) assert.ok(report[item.id]?.[ZARRITA]);
  });

  test("docs/consumers.md names the versions pinned in python/requirements.txt and package.json", async () => {
    const doc = await readFile(resolve(repositoryRoot, "docs/consumers.md"), "utf8");
    const requirements = (await readFile(resolve(repositoryRoot, "python/requirements.txt"), "utf8")).split("\n").filter(Boolean);
    const pkg = JSON.parse(await readFile(resolve(repositoryRoot, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    const pins = [
      ...requirements.filter((r) => /^(xarray|zarr|fsspec|kerchunk|fastparquet|pyarrow|pandas|virtualizarr|icechunk|numcodecs)==/.test(r)).map((r) => r.split("==") as [string, string]),
      ["zarrita", pkg.devDependencies.zarrita!],
      ["@zarrita/storage", pkg.devDependencies["@zarrita/storage"]!],
    ] as [string, string][];
    assert.ok(pins.length >= 12);
    for (const [name, version] of pins) assert.ok(doc.includes(`${name} ${version}`), `docs/consumers.md should name ${name} ${version}`);
  });
});

test("day outputs written before issue 9 (bare NaN, paths, no _FillValue attribute, no scalar chunk) roll up with new ones into strict JSON", async () => {
  const [first, second] = [good[3]!.files[0]!, good[3]!.files[2]!];
  const modern = await fileRefs(second);
  // The older form, as our translator wrote it before issue 9.
  const old = JSON.parse(serializeRefs(await fileRefs(first)).replaceAll('"file://', '"')) as KerchunkRefs;
  for (const [key, value] of Object.entries(old.refs)) {
    if (/\/(crs|sst_reference)\/0$/.test(key)) delete old.refs[key];
    if (key.endsWith(".zattrs") && typeof value === "string") old.refs[key] = withoutFillValueAttribute(value);
    if (typeof old.refs[key] === "string") old.refs[key] = (old.refs[key] as string).replace(/"(NaN|-?Infinity)"/g, "$1");
  }
  assert.match(old.refs["wind_speed/.zarray"] as string, /"fill_value":NaN/);
  const { refs } = await combineRefs([modern, old], { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] });
  for (const [key, value] of Object.entries(refs.refs)) {
    if (/(^|\/)\.z(array|attrs|group)$/.test(key)) assert.doesNotThrow(() => JSON.parse(value as string), `${key}: ${String(value)}`);
  }
  assert.match(refs.refs["wind_speed/.zarray"] as string, /"fill_value":"NaN"/);
  assert.match(refs.refs["wind_speed/.zattrs"] as string, /"valid_max":"NaN"/);
});

/** zarrita's ReferenceStore fetches every reference; in Node, file:// URLs are read here. */
async function fetchFileUrls(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.protocol !== "file:") return fetch(request);
  const handle = await openFile(fileURLToPath(url), "r");
  try {
    const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.get("Range") ?? "");
    if (!range) return new Response(await handle.readFile());
    const [start, end] = [Number(range[1]), Number(range[2])];
    const bytes = new Uint8Array(end - start + 1);
    await handle.read(bytes, 0, bytes.length, start);
    return new Response(bytes, { status: 206 });
  } finally {
    await handle.close();
  }
}

type Values = ArrayLike<number | bigint | boolean>;

/** A dataset's raw values through h5wasm (the oracle), as a flat list. */
function h5Values(file: InstanceType<typeof h5wasm.File>, name: string): Values {
  const value = (file.get(name) as { value: unknown }).value;
  return (typeof value === "number" || typeof value === "bigint" ? [value] : value) as Values;
}

const same = (a: number | bigint | boolean, b: number | bigint | boolean): boolean =>
  typeof a === "number" && typeof b === "number" && Number.isNaN(a) ? Number.isNaN(b) : a === b;

/** What zarrita reads through the references, compared with the source files' raw values. */
async function zarritaProblems(item: Case): Promise<string[]> {
  const spec = JSON.parse(await readFile(item.path, "utf8")) as { refs: Record<string, unknown> };
  const store = ReferenceStore.fromSpec(spec, { fetch: fetchFileUrls });
  const root = zarr.root(store);
  await zarr.open.v2(root, { kind: "group" }); // the group's attributes parse
  const names = Object.keys(spec.refs)
    .filter((k) => k.endsWith("/.zarray"))
    .map((k) => k.slice(0, -"/.zarray".length));
  await h5wasm.ready;
  const sources = item.files.map((f) => new h5wasm.File(f, "r"));
  const problems: string[] = [];
  try {
    const expectedNames = sources[0]!.keys().filter((k) => sources[0]!.get(k) instanceof h5wasm.Dataset);
    if (names.sort().join() !== expectedNames.sort().join()) problems.push(`variables ${names.join()} != ${expectedNames.join()}`);
    for (const name of names) {
      const array = await zarr.open.v2(root.resolve(name), { kind: "array" });
      const got = await zarr.get(array);
      const values: Values = typeof got === "object" && got !== null && "data" in got ? (got.data as Values) : [got as number];
      const alongTime = (array.attrs._ARRAY_DIMENSIONS as string[] | undefined)?.[0] === "time";
      const parts = (alongTime ? sources : sources.slice(0, 1)).map((s) => h5Values(s, name));
      const expected = parts.flatMap((p) => Array.from(p));
      const differ = expected.length !== values.length ? -1 : expected.filter((v, i) => !same(values[i]!, v)).length;
      if (differ !== 0) problems.push(differ < 0 ? `${name}: ${values.length} values, expected ${expected.length}` : `${name}: ${differ} raw values differ`);
    }
  } finally {
    for (const s of sources) s.close();
  }
  return problems;
}
