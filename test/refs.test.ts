import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import h5wasm from "h5wasm/node";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { decodeChunk } from "../lib/codecs/decode.js";
import { readKerchunkJson, serializeReferenceSet, serializeRefs } from "../lib/model/kerchunkJson.js";
import { decodeNumber } from "../lib/model/numeric.js";
import { translateHdf5 } from "../lib/refs/translate.js";
import type { KerchunkRefs } from "../lib/model/kerchunkRefs.js";
import { BlockCache } from "../lib/source/blockCache.js";
import { LocalFileSource } from "../lib/source/localFile.js";
import { S3Source } from "../lib/source/s3.js";
import { createS3Client } from "../lib/source/s3Client.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { s3, testDir, uniqueBucket } from "./harness/env.js";
import { python, pythonAll, type PythonJob } from "./harness/python.js";

const INLINE = 100;

interface Parity {
  differences: Record<string, string[]>;
  warnings: string[];
}
interface XarrayReport {
  variables: Record<string, string>;
  errors: string[];
  file_variables?: string[];
  refs_variables?: string[];
}

/**
 * Where we deliberately differ from kerchunk 0.2.10, by file: each must show up (proving kerchunk
 * still gets it wrong and the test can tell) and nothing else may differ.
 */
const masksWrittenZeros = "fill_value null for a dataset without _FillValue (kerchunk: HDF5's default fill, which xarray masks)";
const onlyFillValue = /^[^:]*\.fill_value: ours null != kerchunk (0|false|0\.0)$/;
const deviations: Record<string, { keys: RegExp; why: string; detail?: RegExp; failsIn?: string }[]> = {
  "big_endian_groups.h5": [
    { keys: /^(small_contiguous|flags|level1\/level2\/be_float|level1\/level2\/be_int)\/\.zarray$/, why: masksWrittenZeros, detail: onlyFillValue },
    {
      keys: /^level1\/level2\/be_(float|int)\/\.zattrs$/,
      why: "phony dimensions per distinct length, as h5netcdf's phony_dims=\"sort\" (kerchunk's phony_dim_<axis> gives be_float's 30 rows and be_int's 10 one name, which xarray refuses; shown in test/hdf5/fidelity.test.ts)",
      detail: /_ARRAY_DIMENSIONS\[\d\]: ours "phony_dim_\d+" != kerchunk "phony_dim_\d"/,
    },
  ],
  "h5wasm_earliest.h5": [{ keys: /^(temp|count|edges|whole|lat|lon)\/\.zarray$/, why: masksWrittenZeros, detail: onlyFillValue }],
  "h5wasm_latest.h5": [{ keys: /^(temp|count|edges|whole|lat|lon)\/\.zarray$/, why: masksWrittenZeros, detail: onlyFillValue }],
  "never_written.nc": [
    { keys: /^(empty_float|empty_short|partly_written)\/\.zarray$/, why: "fill_value of unwritten chunks (kerchunk: null)" },
  ],
  "fletcher32_netcdf.nc": [{ keys: /^checked(_int)?\//, why: "kerchunk drops fletcher32 variables" }],
  "fletcher32_h5py.h5": [{ keys: /^checked\//, why: "kerchunk drops fletcher32 variables" }],
  "scalar_vlen_string.nc": [{ keys: /^product_name\/0$/, why: "kerchunk loses a 0-d vlen string's value" }],
  "himawari_like.nc": [
    {
      keys: /^crs\/0$/,
      why: "a never-written 0-d variable gets its fill value inline (kerchunk: no chunk)",
      detail: /^missing from kerchunk's$/,
      failsIn: "VirtualiZarr, which refuses a 0-d array without a chunk (test/consumers.test.ts)",
    },
  ],
};

let files: string[] = [];
const ours = new Map<string, KerchunkRefs>();

/**
 * Files written by h5wasm (its HDF5 2.0 in wasm) with the oldest and the newest format bounds:
 * v0 superblock and v1 B-trees, or v3 superblock with single-chunk, fixed-array and
 * extensible-array indexes; deflate, contiguous, edge chunks, dimension scales.
 */
async function writeH5wasmFiles(dir: string): Promise<string[]> {
  await h5wasm.ready;
  const written: string[] = [];
  for (const [name, libver] of [
    ["h5wasm_earliest.h5", ["earliest", "latest"]],
    ["h5wasm_latest.h5", "latest"],
  ] as const) {
    const path = join(dir, name);
    const f = new h5wasm.File(path, "w", { libver: libver as "latest" });
    f.create_attribute("title", `written by h5wasm, libver ${String(libver)}`);
    const lat = f.create_dataset({ name: "lat", data: new Float32Array(10).map((_, i) => 50 - i * 2.5), shape: [10] });
    const lon = f.create_dataset({ name: "lon", data: new Float32Array(20).map((_, i) => 100 + i * 1.5), shape: [20] });
    lat.make_scale("lat");
    lon.make_scale("lon");
    const grid = (fill: (i: number) => number) => Array.from({ length: 200 }, (_, i) => fill(i));
    const datasets = [
      f.create_dataset({ name: "temp", data: new Float32Array(grid((i) => 270 + (i % 37) * 0.5)), shape: [10, 20], chunks: [5, 10], compression: "gzip", compression_opts: 4 }),
      f.create_dataset({ name: "count", data: new Int16Array(grid((i) => i - 100)), shape: [10, 20] }),
      f.create_dataset({ name: "edges", data: new Int32Array(grid((i) => i * 3)), shape: [10, 20], chunks: [4, 8], maxshape: [null, 20] }),
      f.create_dataset({ name: "whole", data: new Float64Array(grid((i) => i / 7)), shape: [10, 20], chunks: [10, 20], compression: "gzip", compression_opts: 1 }),
    ];
    for (const dataset of datasets) {
      dataset.attach_scale(0, "/lat");
      dataset.attach_scale(1, "/lon");
      dataset.create_attribute("units", "unitless");
    }
    f.close();
    written.push(path);
  }
  return written;
}

before(async () => {
  const dir = await testDir("refs");
  files = await python<string[]>("refs_fixtures.py", [join(dir, "fixtures")]);
  files.push(...(await writeH5wasmFiles(join(dir, "fixtures"))));
  for (const file of files) {
    const source = new LocalFileSource(file);
    const { refs } = await translateHdf5(new BlockCache(source), { inlineThreshold: INLINE });
    await source.close();
    ours.set(file, refs);
  }
});

describe("refs equal kerchunk's SingleHdf5ToZarr, except where kerchunk is wrong", () => {
  test("every fixture", async () => {
    const jobs: PythonJob[] = [];
    for (const file of files) {
      const refsPath = `${file}.ours.json`;
      await writeFile(refsPath, JSON.stringify(ours.get(file)));
      jobs.push({ script: "kerchunk_parity.py", args: [String(INLINE), refsPath, file, `${file}.kerchunk.json`] });
    }
    const parities = await pythonAll<Parity>(jobs);
    for (const [i, file] of files.entries()) {
      const name = basename(file);
      const parity = parities[i]!;
      const expected = deviations[name] ?? [];
      const seen = new Set<number>();
      for (const [key, diffs] of Object.entries(parity.differences)) {
        const index = expected.findIndex((d) => d.keys.test(key) && (!d.detail || diffs.every((x) => d.detail!.test(x))));
        assert.ok(index >= 0, `${name}: unexpected difference at ${key}: ${diffs.join("; ")}`);
        seen.add(index);
      }
      expected.forEach((d, i) => assert.ok(seen.has(i), `${name}: expected deviation (${d.why}) did not occur`));
    }
  });
});

test("kerchunk's own refs for those files read wrong values or do not open (the comparison can fail)", async () => {
  const wrong: Record<string, string[]> = {};
  // Deviations for another consumer's sake are shown failing where that consumer is tested.
  const names = Object.keys(deviations).filter((n) => deviations[n]!.some((d) => !d.failsIn));
  const reports = await pythonAll<XarrayReport>(
    names.map((name) => {
      const file = files.find((f) => basename(f) === name)!;
      return { script: "compare_xarray.py", args: [`${file}.kerchunk.json`, file] };
    }),
  );
  for (const [i, name] of names.entries()) {
    const report = reports[i]!;
    wrong[name] = [
      ...report.errors,
      ...Object.entries(report.variables)
        .filter(([, verdict]) => !["equal", "equal-rounding", "equal-masked-fill"].includes(verdict))
        .map(([variable, verdict]) => `${variable}: ${verdict}`),
    ];
  }
  for (const [name, problems] of Object.entries(wrong)) assert.ok(problems.length > 0, `kerchunk's refs for ${name} read correctly`);
});

test("metadata is strict JSON: JSON.parse reads every .zarray, .zattrs and .zgroup (no bare NaN)", () => {
  let parsed = 0;
  for (const file of files) {
    for (const [key, value] of Object.entries(ours.get(file)!.refs)) {
      if (!/(^|\/)\.z(array|attrs|group)$/.test(key)) continue;
      assert.doesNotThrow(() => JSON.parse(value as string), `${basename(file)} ${key}: ${String(value)}`);
      parsed++;
    }
  }
  assert.ok(parsed > 50);
  const himawari = ours.get(files.find((f) => basename(f) === "himawari_like.nc")!)!.refs;
  assert.equal((JSON.parse(himawari["quality_level/.zattrs"] as string) as { _FillValue: unknown })._FillValue, -128);
});

/** The dtype's element reader for the oracle comparison. */
function elementReader(dtype: string): ((bytes: Uint8Array, offset: number) => number | bigint | boolean) | undefined {
  const match = /^([<>|])([iufb])(\d+)$/.exec(dtype);
  if (!match) return undefined;
  const kinds = { i: "int", u: "uint", f: "float", b: "bool" } as const;
  const kind = kinds[match[2] as keyof typeof kinds];
  const size = Number(match[3]);
  return (bytes, offset) => decodeNumber(bytes, offset, kind, size, match[1] !== ">");
}

test("every referenced chunk, decoded with its declared codecs, equals h5wasm's read of that region", async () => {
  await h5wasm.ready;
  let compared = 0;
  for (const file of files) {
    const refs = ours.get(file)!.refs;
    const bytes = await readFile(file);
    const h5 = new h5wasm.File(file, "r");
    try {
      for (const [key, value] of Object.entries(refs)) {
        const match = /^(.*)\/([\d.]+)$/.exec(key);
        if (!match) continue;
        const variable = match[1]!;
        const zarray = JSON.parse(refs[`${variable}/.zarray`] as string) as {
          shape: number[];
          chunks: number[];
          dtype: string;
          filters: { id: string }[] | null;
        };
        const read = elementReader(zarray.dtype);
        if (!read) continue; // strings: checked through xarray below
        const stored =
          typeof value === "string"
            ? value.startsWith("base64:")
              ? new Uint8Array(Buffer.from(value.slice(7), "base64"))
              : new TextEncoder().encode(value)
            : bytes.subarray(value[1]!, value[1]! + value[2]!);
        const decoded = decodeChunk(stored, zarray.filters);
        const coords = match[2]!.split(".").map(Number);
        const itemSize = Number(/\d+$/.exec(zarray.dtype)![0]);
        const chunkShape = zarray.shape.length === 0 ? [] : zarray.chunks;
        assert.equal(decoded.length, chunkShape.reduce((a, b) => a * b, 1) * itemSize, `${file} ${key}: decoded size`);
        const ranges = zarray.shape.map((n, i) => [coords[i]! * chunkShape[i]!, Math.min(n, (coords[i]! + 1) * chunkShape[i]!)] as [number, number]);
        const dataset = h5.get(`/${variable}`) as { slice(r: [number, number][]): ArrayLike<number | bigint> | null; value: unknown };
        const expected = ranges.length === 0 ? [dataset.value as number] : Array.from(dataset.slice(ranges) ?? []);
        // Walk the in-bounds region of the chunk in row-major order.
        const regionShape = ranges.map(([a, b]) => b - a);
        const total = regionShape.reduce((a, b) => a * b, 1);
        for (let flat = 0; flat < total; flat++) {
          let rest = flat;
          let offsetInChunk = 0;
          let stride = 1;
          for (let axis = regionShape.length - 1; axis >= 0; axis--) {
            const index = rest % regionShape[axis]!;
            rest = Math.floor(rest / regionShape[axis]!);
            offsetInChunk += index * stride;
            stride *= chunkShape[axis]!;
          }
          const ours = read(decoded, offsetInChunk * itemSize);
          const theirs = expected[flat];
          const same =
            typeof ours === "number" && typeof theirs === "number" && Number.isNaN(ours) ? Number.isNaN(theirs) : ours == theirs;
          assert.ok(same, `${basename(file)} ${key} element ${flat}: ours ${ours} != h5wasm ${theirs}`);
        }
        compared++;
      }
    } finally {
      h5.close();
    }
  }
  assert.ok(compared > 30, `only ${compared} chunks compared`);
});

test("xarray reads the same values through our refs as from the files", async () => {
  const jobs: PythonJob[] = [];
  for (const file of files) {
    const refsPath = `${file}.ours.json`;
    await writeFile(refsPath, JSON.stringify(ours.get(file)));
    jobs.push({ script: "compare_xarray.py", args: [refsPath, file] });
  }
  const reports = await pythonAll<XarrayReport>(jobs);
  for (const [i, file] of files.entries()) {
    const report = reports[i]!;
    assert.deepEqual(report.errors, [], `${basename(file)}: ${report.errors.join("; ")}`);
    assert.ok(Object.keys(report.variables).length > 0, `${basename(file)}: no variable compared`);
    for (const [variable, verdict] of Object.entries(report.variables)) {
      assert.ok(["equal", "equal-rounding", "equal-masked-fill"].includes(verdict), `${basename(file)} ${variable}: ${verdict}`);
    }
    assert.deepEqual(report.refs_variables, report.file_variables);
  }
});

test("the reference model (lib/model) reads every fixture's refs and writes them back byte for byte", () => {
  assert.ok(files.length >= 5, `only ${files.length} fixtures`);
  for (const file of files) {
    const text = serializeRefs(ours.get(file)!);
    const set = readKerchunkJson(text, file);
    assert.ok(set.arrays.size > 0, basename(file));
    assert.equal(serializeReferenceSet(set), text, `${basename(file)}: the model's JSON differs from the refs it was read from`);
  }
});

test("from MinIO: the same refs (with s3:// URLs), and xarray reads the same values through them", async () => {
  const client = s3();
  const bucket = uniqueBucket("refs");
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const reader = createS3Client();
  const jobs: PythonJob[] = [];
  for (const file of files) {
    const key = `archive/${basename(file)}`;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(file) }));
    const source = new S3Source(reader, bucket, key);
    const { refs } = await translateHdf5(new BlockCache(source), { inlineThreshold: INLINE });
    const local = JSON.parse(JSON.stringify(ours.get(file)).split(JSON.stringify(pathToFileURL(file).href).slice(1, -1)).join(`s3://${bucket}/${key}`));
    assert.deepEqual(refs, local, `${basename(file)}: S3 refs differ from local refs`);
    const refsPath = `${file}.s3.json`;
    await writeFile(refsPath, JSON.stringify(refs));
    jobs.push({ script: "compare_xarray.py", args: [refsPath, file, "--s3-endpoint", process.env.AWS_ENDPOINT_URL!] });
  }
  const reports = await pythonAll<XarrayReport>(jobs);
  for (const [i, file] of files.entries()) {
    const report = reports[i]!;
    assert.deepEqual(report.errors, [], `${basename(file)}: ${report.errors.join("; ")}`);
    assert.ok(Object.keys(report.variables).length > 0, `${basename(file)}: no variable compared`);
    for (const [variable, verdict] of Object.entries(report.variables)) {
      assert.ok(["equal", "equal-rounding", "equal-masked-fill"].includes(verdict), `${basename(file)} ${variable} via S3: ${verdict}`);
    }
  }
  client.destroy();
  reader.destroy();
});

test("CLI: temporal-kerchunk refs writes what the library writes, and names a bad file", async () => {
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const run = promisify(execFile);
  const cli = [resolve(repositoryRoot, "cli/main.ts"), "refs"];
  const file = files.find((f) => basename(f) === "himawari_like.nc")!;
  const out = `${file}.cli.json`;
  const { stderr } = await run(process.execPath, ["--import", "tsx", ...cli, file, "--inline-threshold", String(INLINE), "-o", out]);
  assert.equal(await readFile(out, "utf8"), serializeRefs(ours.get(file)!));
  assert.match(stderr, /\d+ keys, \d+ chunks; \d+ requests, \d+ bytes read/);
  const bad = `${file}.not-hdf5`;
  await writeFile(bad, "plain text, not HDF5 at all".repeat(40));
  const failed = await run(process.execPath, ["--import", "tsx", ...cli, bad]).then(
    () => undefined,
    (e: { code?: number; stderr?: string }) => e,
  );
  assert.equal(failed?.code, 1);
  assert.match(failed?.stderr ?? "", new RegExp(`error: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: invalid HDF5 superblock`));
});
