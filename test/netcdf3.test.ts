import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { open, readFile, stat, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Netcdf3FormatError } from "../lib/errors.js";
import { translateNetcdf3 } from "../lib/netcdf3/translate.js";
import { translateHdf5 } from "../lib/refs/translate.js";
import type { KerchunkRefs } from "../lib/model/kerchunkRefs.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { BlockCache } from "../lib/source/blockCache.js";
import { LocalFileSource } from "../lib/source/localFile.js";
import { S3Source } from "../lib/source/s3.js";
import { createS3Client } from "../lib/source/s3Client.js";
import { translateFile } from "../lib/translateFile.js";
import { s3, testDir, uniqueBucket, venvPython } from "./harness/env.js";
import { python, pythonAll, type PythonJob } from "./harness/python.js";

const run = promisify(execFile);
const INLINE = 100;
/** The small split limit the "large" fixtures are translated with (their variables are 4-10 KB). */
const SMALL_CHUNKS = 3000;

interface XarrayReport {
  variables: Record<string, string>;
  errors: string[];
  file_variables?: string[];
  refs_variables?: string[];
}
interface ValuesReport {
  format: string;
  variables: Record<string, string>;
  attributes: string[];
}

let dir = "";
let files: string[] = [];
let netcdf4: string[] = [];
const ours = new Map<string, KerchunkRefs>();
const requests = new Map<string, number>();

async function writeFixtures(out: string, ...flags: string[]): Promise<string[]> {
  const { stdout } = await run(venvPython, [resolve(repositoryRoot, "python/netcdf3_fixtures.py"), out, ...flags], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as string[];
}

const maxChunkBytesFor = (file: string): number | undefined => (basename(file).startsWith("large") ? SMALL_CHUNKS : undefined);

async function translateLocal(file: string, inlineThreshold = INLINE): Promise<{ refs: KerchunkRefs; requests: number }> {
  const origin = new LocalFileSource(file);
  try {
    const { refs } = await translateFile(new BlockCache(origin), { inlineThreshold, maxChunkBytes: maxChunkBytesFor(file) });
    return { refs, requests: origin.stats.requests };
  } finally {
    await origin.close();
  }
}

async function saveRefs(file: string, refs: KerchunkRefs, suffix = "ours"): Promise<string> {
  const path = `${file}.${suffix}.json`;
  await writeFile(path, JSON.stringify(refs));
  return path;
}

const meta = (refs: KerchunkRefs, key: string): Record<string, unknown> => JSON.parse(refs.refs[key] as string) as Record<string, unknown>;

before(async () => {
  dir = await testDir("netcdf3");
  files = await writeFixtures(join(dir, "fixtures"));
  netcdf4 = await writeFixtures(join(dir, "fixtures"), "--netcdf4");
  for (const file of files) {
    const result = await translateLocal(file);
    ours.set(file, result.refs);
    requests.set(file, result.requests);
  }
});

describe("netCDF-3 fixtures written by netCDF-C", () => {
  test("cover the three formats (CDF-1, CDF-2, CDF-5) and every fixture kind", async () => {
    const versions = new Set<number>();
    for (const file of files) {
      const handle = await open(file);
      const { buffer } = await handle.read(Buffer.alloc(4), 0, 4, 0);
      await handle.close();
      assert.equal(buffer.subarray(0, 3).toString("latin1"), "CDF", basename(file));
      versions.add(buffer[3]!);
    }
    assert.deepEqual([...versions].sort(), [1, 2, 5]);
    assert.equal(files.length, 3 * 7);
  });

  test("raw values, dtypes, dimensions and attributes through our refs equal netCDF4-python's", async () => {
    const reports = await pythonAll<ValuesReport>(await Promise.all(files.map(async (file) => ({ script: "netcdf3_values.py", args: [await saveRefs(file, ours.get(file)!), file] }))));
    for (const [i, file] of files.entries()) {
      const report = reports[i]!;
      assert.match(report.format, /^NETCDF3_/);
      assert.deepEqual(report.attributes, [], `${basename(file)}: ${report.attributes.join("; ")}`);
      assert.ok(Object.keys(report.variables).length > 0);
      for (const [variable, verdict] of Object.entries(report.variables)) assert.equal(verdict, "equal", `${basename(file)} ${variable}`);
    }
  });

  test("xarray reads the same values through our refs (zarr engine) as from the file (netcdf4 engine), raw and decoded", async () => {
    const reports = await pythonAll<XarrayReport>(await Promise.all(files.map(async (file) => ({ script: "compare_xarray.py", args: [await saveRefs(file, ours.get(file)!), file] }))));
    for (const [i, file] of files.entries()) {
      const report = reports[i]!;
      assert.deepEqual(report.errors, [], `${basename(file)}: ${report.errors.join("; ")}`);
      assert.deepEqual(report.refs_variables, report.file_variables, basename(file));
      for (const [variable, verdict] of Object.entries(report.variables)) {
        // equal-rounding: a float32 scale_factor decodes in float64 through JSON attributes (README).
        assert.ok(["equal", "equal-rounding"].includes(verdict), `${basename(file)} ${variable}: ${verdict}`);
      }
    }
  });

  test("VirtualiZarr's kerchunk parser (Zarr v3) and a round trip into Icechunk read every fixture's values", async () => {
    const kinds = files.filter((f) => /^(every_type|zero_records|one_record_variable|large)_/.test(basename(f)));
    for (const file of kinds) await saveRefs(file, ours.get(file)!);
    const report = await python<Record<string, { parser: string[]; icechunk: string[] }>>("netcdf3_virtualizarr.py", [".ours.json", ...kinds]);
    for (const file of kinds) assert.deepEqual(report[file], { parser: [], icechunk: [] }, basename(file));
    // The check can fail: two records' references swapped.
    const file = kinds[0]!;
    const swapped: KerchunkRefs = { version: 1, refs: { ...ours.get(file)!.refs } };
    [swapped.refs["record_f4/0.0"], swapped.refs["record_f4/1.0"]] = [swapped.refs["record_f4/1.0"]!, swapped.refs["record_f4/0.0"]!];
    await saveRefs(file, swapped, "swapped");
    const broken = await python<Record<string, { parser: string[]; icechunk: string[] }>>("netcdf3_virtualizarr.py", [".swapped.json", file]);
    assert.deepEqual(broken[file], { parser: ["record_f4: values differ"], icechunk: ["record_f4: values differ"] });
  });

  test("the comparison can fail: records placed as if the one record variable were padded read other values", async () => {
    const file = files.find((f) => basename(f) === "one_record_variable_cdf1.nc")!;
    const { refs } = await translateLocal(file, 0);
    const broken: KerchunkRefs = { version: 1, refs: { ...refs.refs } };
    let moved = 0;
    for (const [key, value] of Object.entries(broken.refs)) {
      const record = /^counts\/(\d+)\.0$/.exec(key);
      if (record && Number(record[1]) < 5 && Array.isArray(value) && value.length === 3) {
        broken.refs[key] = [value[0], value[1] + 2 * Number(record[1]), value[2]]; // 6-byte records padded to 8 (the last two left: they would pass the end)
        moved++;
      }
    }
    assert.equal(moved, 5);
    const good = await python<ValuesReport>("netcdf3_values.py", [await saveRefs(file, refs, "unpadded"), file]);
    assert.equal(good.variables.counts, "equal");
    const bad = await python<ValuesReport>("netcdf3_values.py", [await saveRefs(file, broken, "padded"), file]);
    assert.equal(bad.variables.counts, "values differ");
  });

  test("one round trip for a header that fits the block cache's first read; a longer header takes one more", () => {
    for (const file of files) {
      const name = basename(file);
      // big_header: the head, the rest of the header, then its one small variable (inlined).
      assert.equal(requests.get(file), name.startsWith("big_header") ? 3 : 1, name);
    }
  });

  test("char arrays stay |S1 with the string length as the last dimension (as netCDF-4 stores them), which xarray reads as strings", () => {
    const refs = ours.get(files.find((f) => basename(f) === "every_type_cdf1.nc")!)!;
    assert.equal(meta(refs, "station_name/.zarray").dtype, "|S1");
    assert.deepEqual(meta(refs, "station_name/.zattrs")._ARRAY_DIMENSIONS, ["x", "name_length"]);
    assert.deepEqual(meta(refs, "record_label/.zarray").chunks, [1, 8]);
    // The values as strings: checked by compare_xarray above (xarray joins the characters into |S8).
  });

  test("a file written streaming (numrecs all ones) has its records counted from the file size", async () => {
    for (const name of ["every_type_cdf1.nc", "one_record_variable_cdf2.nc", "every_type_cdf5.nc"]) {
      const file = files.find((f) => basename(f) === name)!;
      const bytes = new Uint8Array(await readFile(file));
      bytes.fill(0xff, 4, name.includes("cdf5") ? 12 : 8);
      const streaming = join(dir, `streaming_${name}`);
      await writeFile(streaming, bytes);
      const { refs } = await translateLocal(streaming);
      assert.deepEqual(JSON.parse(JSON.stringify(refs).replaceAll(pathToFileURL(streaming).href, pathToFileURL(file).href)), ours.get(file), name);
    }
  });

  test("unlimited dimension with no records: shape 0, chunks 1, no chunk keys", () => {
    const refs = ours.get(files.find((f) => basename(f) === "zero_records_cdf2.nc")!)!;
    assert.deepEqual(meta(refs, "values/.zarray").shape, [0, 4]);
    assert.deepEqual(meta(refs, "values/.zarray").chunks, [1, 4]);
    assert.deepEqual(meta(refs, "time/.zarray").shape, [0]);
    assert.equal(Object.keys(refs.refs).filter((k) => /^(values|time|flags)\/\d/.test(k)).length, 0);
  });

  test("large blocks split along the first axis that fits, each chunk one byte range", async () => {
    for (const format of ["cdf1", "cdf2", "cdf5"]) {
      const file = files.find((f) => basename(f) === `large_${format}.nc`)!;
      const refs = ours.get(file)!;
      // 12 rows of 800 bytes: 3 rows fit, 3 divides 12.
      assert.deepEqual(meta(refs, "evenly/.zarray").chunks, [3, 100]);
      // 11 rows: 3 a chunk; the last chunk's range is a whole chunk's, into the next variable.
      assert.deepEqual(meta(refs, "middle/.zarray").chunks, [3, 100]);
      const last = refs.refs["middle/3.0"] as [string, number, number];
      assert.equal(last[2], 3 * 800);
      // (1, 40, 30) float32: the first axis cannot be split; 20 of 40 rows of 120 bytes (a divisor).
      assert.deepEqual(meta(refs, "deep/.zarray").chunks, [1, 20, 30]);
      assert.deepEqual(meta(refs, "per_record/.zarray").chunks, [1, 20, 30]);
      assert.ok(refs.refs["per_record/1.1.0"]);
      // The file's last variable: a whole last chunk of 3 rows would pass the end of the file, so 1 row.
      const endFile = files.find((f) => basename(f) === `large_${format}_end.nc`)!;
      const end = ours.get(endFile)!;
      assert.deepEqual(meta(end, "last/.zarray").chunks, [1, 100]);
      const [, offset, length] = end.refs["last/6.0"] as [string, number, number];
      assert.equal(length, 800);
      assert.equal(offset + length, (await stat(endFile)).size);
    }
  });

  test("the same .zarray and .zattrs as the same content written as netCDF-4 (byte order and chunking aside)", async () => {
    const documented: Record<string, RegExp> = {
      // netCDF-4 leaves a never-written variable without storage: its fill_value says what it reads.
      // netCDF-3 stores every element (netCDF-C writes the fill value): nothing is missing.
      fill: /^(never_written|crs)\/\.zarray fill_value: netCDF-3 null, netCDF-4 (9\.969209968386869e\+36|-2147483647)$/,
      // The HDF5 reader takes a dimension scale without stored chunks for a dimension without a
      // variable; a netCDF-3 coordinate variable with zero records is kept, as xarray shows it.
      zeroRecords: /^time\/\.z(array|attrs) only in netCDF-3$/,
      // netCDF-4's " " (kerchunk's SingleHdf5ToZarr rule) makes xarray mask the spaces of a char
      // array it does not join into strings; netCDF-3's is none, as kerchunk's NetCDF3ToZarr.
      charFill: /^(fixed_S1|record_S1|record_scalar_S1|station_name|record_label)\/\.zarray fill_value: netCDF-3 null, netCDF-4 "IA=="$/,
    };
    const seen = new Set<string>();
    for (const nc4 of netcdf4) {
      const name = basename(nc4).replace("_nc4.nc", "");
      const source = new LocalFileSource(nc4);
      const theirs = await translateHdf5(new BlockCache(source), { inlineThreshold: INLINE })
        .then((result) => result.refs)
        .finally(() => source.close());
      const mine = ours.get(files.find((f) => basename(f) === `${name}_cdf5.nc`)!)!;
      const problems: string[] = [];
      for (const key of new Set([...Object.keys(mine.refs), ...Object.keys(theirs.refs)])) {
        if (!/(^|\/)\.z(array|attrs|group)$/.test(key)) continue;
        if (!(key in theirs.refs) || !(key in mine.refs)) {
          problems.push(`${key} only in ${key in mine.refs ? "netCDF-3" : "netCDF-4"}`);
          continue;
        }
        const [a, b] = [meta(mine, key), meta(theirs, key)];
        if (key.endsWith(".zarray")) {
          for (const m of [a, b]) {
            m.dtype = String(m.dtype).replace(/^>/, "<");
            delete m.chunks;
            delete m.filters; // netCDF-4 chunks may be compressed
          }
          if (JSON.stringify(a.fill_value) !== JSON.stringify(b.fill_value)) {
            problems.push(`${key} fill_value: netCDF-3 ${JSON.stringify(a.fill_value)}, netCDF-4 ${JSON.stringify(b.fill_value)}`);
            delete a.fill_value;
            delete b.fill_value;
          }
        }
        if (JSON.stringify(a) !== JSON.stringify(b)) problems.push(`${key}: netCDF-3 ${JSON.stringify(a)} != netCDF-4 ${JSON.stringify(b)}`);
      }
      for (const problem of problems) {
        const why = Object.entries(documented).find(([, pattern]) => pattern.test(problem));
        assert.ok(why, `${name}: ${problem}`);
        seen.add(why[0]);
      }
    }
    assert.deepEqual([...seen].sort(), Object.keys(documented).sort(), "every documented difference occurs");
  });
});

describe("netCDF-3 files from other projects", () => {
  test("the test data installed with xarray and scipy read as netCDF4-python and xarray read them", async () => {
    const { stdout } = await run(venvPython, ["-c", "import glob, os, scipy.io, xarray; print('\\n'.join(sorted(glob.glob(os.path.join(os.path.dirname(xarray.__file__), 'tests/data/*.nc')) + glob.glob(os.path.join(os.path.dirname(scipy.io.__file__), 'tests/data/*.nc')))))"]);
    const real: string[] = [];
    for (const path of stdout.split("\n").filter(Boolean)) {
      const handle = await open(path);
      const { buffer } = await handle.read(Buffer.alloc(3), 0, 3, 0);
      await handle.close();
      if (buffer.toString("latin1") === "CDF") real.push(path);
    }
    assert.ok(real.length >= 5, `only ${real.length} netCDF-3 files found: ${real.join(", ")}`);
    const jobs: PythonJob[] = [];
    for (const path of real) {
      const copy = join(dir, `${basename(resolve(path, "../../.."))}_${basename(path)}`);
      await writeFile(copy, await readFile(path));
      const refsPath = await saveRefs(copy, (await translateLocal(copy)).refs);
      jobs.push({ script: "netcdf3_values.py", args: [refsPath, copy] }, { script: "compare_xarray.py", args: [refsPath, copy] });
    }
    const reports = await pythonAll<ValuesReport | XarrayReport>(jobs);
    for (const [i, path] of real.entries()) {
      const values = reports[2 * i] as ValuesReport;
      assert.deepEqual(values.attributes, [], `${path}: ${values.attributes.join("; ")}`);
      for (const [variable, verdict] of Object.entries(values.variables)) assert.equal(verdict, "equal", `${path} ${variable}`);
      const report = reports[2 * i + 1] as XarrayReport;
      assert.deepEqual(report.errors, [], `${path}: ${report.errors.join("; ")}`);
      assert.deepEqual(report.refs_variables, report.file_variables, path);
      for (const [variable, verdict] of Object.entries(report.variables)) assert.ok(["equal", "equal-rounding"].includes(verdict), `${path} ${variable}: ${verdict}`);
    }
  });

  test("a name that an old writer padded with NULs ends at the first NUL, as netCDF-C reads it", async () => {
    // A CDF-1 file by hand: dimension x = 3, variable "yy\0\0" (short, x), values 3, 4, 5.
    const words: number[] = [];
    const u32 = (n: number): void => void words.push(...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
    const bytes = (b: number[]): void => void words.push(...b);
    bytes([0x43, 0x44, 0x46, 1]);
    u32(0); // numrecs
    u32(0x0a), u32(1), u32(1), bytes([0x78, 0, 0, 0]), u32(3); // dimension x = 3
    u32(0), u32(0); // no global attributes
    u32(0x0b), u32(1), u32(4), bytes([0x79, 0x79, 0, 0]), u32(1), u32(0); // variable "yy\0\0" (x)
    u32(0), u32(0), u32(3), u32(8); // no attributes, NC_SHORT, vsize 8
    const begin = words.length + 4;
    u32(begin);
    bytes([0, 3, 0, 4, 0, 5, 0, 0]);
    const path = join(dir, "nul_padded_name.nc");
    await writeFile(path, new Uint8Array(words));
    const { refs } = await translateLocal(path);
    assert.deepEqual(Object.keys(refs.refs).filter((k) => k.startsWith("yy")).sort(), ["yy/.zarray", "yy/.zattrs", "yy/0"]);
    const values = await python<ValuesReport>("netcdf3_values.py", [await saveRefs(path, refs), path]);
    assert.deepEqual(values.variables, { yy: "equal" });
  });
});

describe("kerchunk's NetCDF3ToZarr (0.2.10)", () => {
  /**
   * Compared with inlining off on both sides, so that every chunk is a byte range. Where kerchunk
   * reads a file, every chunk it references is ours too, byte for byte; its metadata differs as
   * listed (docs/design.md, "netCDF-3"). CDF-5 (scipy's reader knows CDF-1 and CDF-2 only) and
   * files without records or with one record variable are not read, or read wrong.
   */
  const deviations: { keys: RegExp; detail: RegExp; why: string }[] = [
    { keys: /\.zattrs$/, detail: /: ours .* != kerchunk "/, why: "kerchunk writes every attribute but scale_factor/add_offset as str(value)" },
    { keys: /^packed\/\.zattrs$/, detail: /(scale_factor|add_offset): ours [\d.]+ != kerchunk [\d.]+$/, why: "kerchunk rounds a float32 scale_factor/add_offset through its decimal text" },
    { keys: /^with_missing_value\/\.z(array|attrs)$/, detail: /(fill_value: ours null != kerchunk -999\.0|missing_value: missing from kerchunk's)$/, why: "kerchunk turns missing_value into the fill_value and drops the attribute (xarray masks with it either way)" },
    { keys: /^counts\//, detail: /(shape\[0\]: ours 7 != kerchunk 9|^missing from ours$)/, why: "one record variable of 6-byte records: kerchunk counts 9 records of 7, the last two past the data" },
  ];

  test("every chunk kerchunk references is ours byte for byte; metadata differs only as documented; CDF-5 unread", async () => {
    const unread: string[] = [];
    const seen = new Set<number>();
    let compared = 0;
    for (const file of files.filter((f) => !basename(f).startsWith("large") && !basename(f).startsWith("big_header"))) {
      const { refs } = await translateLocal(file, 0);
      const parity = await python<{ differences: Record<string, string[]>; error?: string }>("netcdf3_parity.py", ["0", await saveRefs(file, refs, "ours0"), file, `${file}.kerchunk.json`]);
      if (parity.error) {
        unread.push(`${basename(file)}: ${parity.error}`);
        continue;
      }
      compared++;
      for (const [key, diffs] of Object.entries(parity.differences)) {
        for (const diff of diffs) {
          const index = deviations.findIndex((d) => d.keys.test(key) && d.detail.test(diff));
          assert.ok(index >= 0, `${basename(file)}: unexpected difference at ${key}: ${diff}`);
          seen.add(index);
        }
      }
      const chunkKeys = Object.keys(refs.refs).filter((k) => !/(^|\/)\.z/.test(k));
      assert.ok(chunkKeys.length > 0);
    }
    assert.ok(compared >= 6, `kerchunk read only ${compared} fixtures`);
    deviations.forEach((d, i) => assert.ok(seen.has(i), `documented difference did not occur: ${d.why}`));
    assert.ok(unread.every((u) => /_cdf5\.nc:/.test(u)), `kerchunk failed on a CDF-1/2 file: ${unread.join("; ")}`);
    assert.equal(unread.length, 4, `kerchunk read a CDF-5 file now? ${unread.join("; ")}`);
  });

  test("kerchunk's refs for the one-record-variable file read wrong (so the comparison above can tell)", async () => {
    const file = files.find((f) => basename(f) === "one_record_variable_cdf1.nc")!;
    const report = await python<ValuesReport>("netcdf3_values.py", [`${file}.kerchunk.json`, file]);
    assert.match(report.variables.counts!, /^read failed: /);
    assert.equal(report.variables.band, "equal");
  });
});

describe("bad netCDF-3 input", () => {
  async function refused(name: string, bytes: Uint8Array): Promise<Netcdf3FormatError> {
    const path = join(dir, name);
    await writeFile(path, bytes);
    const error = await translateLocal(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof Netcdf3FormatError, `${name}: ${String(error)}`);
    assert.ok(error.message.startsWith(`${path}: invalid netCDF-3 `), error.message);
    assert.ok(!error.message.includes("\n"), error.message);
    assert.equal(error.retryable, false);
    return error;
  }

  test("truncated, damaged or unknown headers and truncated data fail with one line naming the file and what broke", async () => {
    const good = new Uint8Array(await readFile(files.find((f) => basename(f) === "every_type_cdf1.nc")!));
    assert.match((await refused("header_cut.nc", good.subarray(0, 70))).message, /dimension 3 at byte \d+: needs \d+ bytes but the file ends at byte 70 \(truncated\?\)/);
    assert.match((await refused("header_cut_counted.nc", good.subarray(0, 200))).message, /list of attributes of the file at byte \d+: 17 attributes of the file cannot fit in a file of 200 bytes/);
    const dataCut = good.subarray(0, good.length - 10);
    assert.match((await refused("data_cut.nc", dataCut)).message, /variable \w+: data ends at byte \d+, past the end of the file/);
    const version = good.slice();
    version[3] = 3;
    assert.match((await refused("version3.nc", version)).message, /unknown netCDF-3 version byte 3/);
    const tag = good.slice();
    tag[11] = 0x0b; // the dimension list's tag (NC_DIMENSION, 0x0A) made NC_VARIABLE
    assert.match((await refused("bad_tag.nc", tag)).message, /list of dimensions at byte 8: expected tag 10 or ABSENT, found 11/);
    const count = good.slice();
    count.set([0x7f, 0xff, 0xff, 0xff], 12); // two billion dimensions
    assert.match((await refused("huge_count.nc", count)).message, /2147483647 dimensions cannot fit in a file of \d+ bytes/);
    const cdf5Type = good.slice();
    const x = findVariableType(good, "fixed_i4");
    cdf5Type.set([0, 0, 0, 10], x); // NC_INT64 in a CDF-1 file
    assert.match((await refused("int64_in_cdf1.nc", cdf5Type)).message, /variable fixed_i4 at byte \d+: nc_type 10 \(int64\) exists only in CDF-5 files/);
    await refused("tiny.nc", new TextEncoder().encode("CDF"));
  });
});

/** Offset of a variable's nc_type field in a CDF-1 header: after its name, dimension ids and attributes. */
function findVariableType(header: Uint8Array, name: string): number {
  const bytes = new TextEncoder().encode(name);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  for (let at = 0; at + 4 + bytes.length < header.length; at++) {
    if (view.getUint32(at) !== bytes.length || !bytes.every((b, i) => header[at + 4 + i] === b)) continue;
    let pos = at + 4 + Math.ceil(bytes.length / 4) * 4;
    const rank = view.getUint32(pos);
    pos += 4 + 4 * rank;
    const tag = view.getUint32(pos);
    const attributes = view.getUint32(pos + 4);
    pos += 8;
    if (tag !== 0x0c && !(tag === 0 && attributes === 0)) continue;
    for (let i = 0; i < attributes; i++) {
      const nameLength = view.getUint32(pos);
      pos += 4 + Math.ceil(nameLength / 4) * 4;
      const type = view.getUint32(pos);
      const n = view.getUint32(pos + 4);
      const size = [0, 1, 1, 2, 4, 4, 8][type]!;
      pos += 8 + Math.ceil((n * size) / 4) * 4;
    }
    return pos;
  }
  throw new Error(`variable ${name} not found`);
}

test("from MinIO: the same refs with s3:// URLs, one request for a small file", async () => {
  const client = s3();
  const bucket = uniqueBucket("netcdf3");
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const reader = createS3Client();
  try {
    for (const file of files.filter((f) => /^(every_type|one_record_variable)_/.test(basename(f)))) {
      const key = `archive/${basename(file)}`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(file) }));
      const origin = new S3Source(reader, bucket, key);
      const { refs } = await translateNetcdf3(new BlockCache(origin), { inlineThreshold: INLINE });
      assert.equal(origin.stats.requests, 1, basename(file));
      const local = JSON.parse(JSON.stringify(ours.get(file)).split(pathToFileURL(file).href).join(`s3://${bucket}/${key}`)) as KerchunkRefs;
      assert.deepEqual(refs, local, basename(file));
      const refsPath = await saveRefs(file, refs, "s3");
      const report = await python<XarrayReport>("compare_xarray.py", [refsPath, file, "--s3-endpoint", process.env.AWS_ENDPOINT_URL!]);
      assert.deepEqual(report.errors, [], `${basename(file)}: ${report.errors.join("; ")}`);
      for (const [variable, verdict] of Object.entries(report.variables)) assert.ok(["equal", "equal-rounding"].includes(verdict), `${basename(file)} ${variable}: ${verdict}`);
    }
  } finally {
    client.destroy();
    reader.destroy();
  }
});

test("CLI: temporal-kerchunk refs reads a netCDF-3 file", async () => {
  const file = files.find((f) => basename(f) === "fixed_only_cdf5.nc")!;
  const out = `${file}.cli.json`;
  const { serializeRefs } = await import("../lib/model/kerchunkJson.js");
  await run(process.execPath, ["--import", "tsx", resolve(repositoryRoot, "cli/main.ts"), "refs", file, "-o", out]);
  assert.equal(await readFile(out, "utf8"), serializeRefs(ours.get(file)!));
});
