/**
 * Open-world fidelity: HDF5 structures that writers other than netCDF-C produce, each translated
 * and every array read back through the references (fsspec + zarr) and compared with h5py reading
 * the same file (refs_fidelity_check.py). A variable we cannot translate must be left out with a
 * typed reason; nothing may read wrong values, and no bad part may sink the file. The fixtures
 * (h5_fidelity_fixtures.py) are written by h5py and the HDF5 library it bundles; nothing below
 * states a value h5py did not report for the same file.
 *
 * Run: npm test -- test/hdf5/fidelity.test.ts
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { before, describe, test } from "node:test";
import { decodeChunk } from "../../lib/codecs/decode.js";
import { encodeChunk } from "../../lib/codecs/encode.js";
import { Hdf5FormatError } from "../../lib/errors.js";
import { Hdf5File } from "../../lib/hdf5/file.js";
import { translateHdf5, type TranslateResult } from "../../lib/refs/translate.js";
import type { PyJsonValue } from "../../lib/json/pyJson.js";
import type { Reference } from "../../lib/model/kerchunkRefs.js";
import { BlockCache } from "../../lib/source/blockCache.js";
import { LocalFileSource } from "../../lib/source/localFile.js";
import { testDir } from "../harness/env.js";
import { python } from "../harness/python.js";

interface Report {
  arrays: Record<string, string>;
  datasets: Record<string, { readable: boolean; dtype: string }>;
  attributes: Record<string, Record<string, string>>;
  dimensions: Record<string, string[] | null>;
  xarray?: Record<string, string>;
}

let files: Record<string, string> = {};

before(async () => {
  const dir = await testDir("fidelity");
  files = {
    ...(await python<Record<string, string>>("h5_fidelity_fixtures.py", [dir])),
    ...(await python<Record<string, string>>("h5_coverage_fixtures.py", [dir])),
  };
});

async function translate(name: string): Promise<TranslateResult> {
  const source = new LocalFileSource(files[name]!);
  try {
    return await translateHdf5(new BlockCache(source), { inlineThreshold: 100 });
  } finally {
    await source.close();
  }
}

/** Translate, then read every array back through the refs and compare it with h5py. */
async function check(name: string, options: { xarray?: boolean } = {}): Promise<{ result: TranslateResult; report: Report }> {
  const result = await translate(name);
  const refsPath = `${files[name]!}.refs.json`;
  await writeFile(refsPath, JSON.stringify(result.refs));
  const report = await python<Report>("refs_fidelity_check.py", [refsPath, files[name]!, ...(options.xarray ? ["--xarray"] : [])]);
  return { result, report };
}

/** An empty scalar fixed-length string stored as " " (kerchunk's rule): refs_fidelity_check.py's verdict for it. */
const BLANK = "blank: ' ' for '' (kerchunk's rule for an empty fixed-length string)";

/**
 * Every attribute of every object in the refs is h5py's, exactly, in the documented encoding
 * ("equal", or the BLANK rule); one we left out is plumbing or complex ("left out") or named by a
 * warning ("missing"); nothing we wrote is not in the file.
 */
function assertAttributesFaithful(name: string, result: TranslateResult, report: Report): void {
  const warned = result.warnings.map((w) => `${w.path} ${w.message}`);
  // Verdicts come from h5py's attributes and ours alike: a file with attributes cannot pass on none.
  assert.ok(Object.keys(report.attributes).length > 0, `${name}: no object's attributes compared`);
  for (const [path, verdicts] of Object.entries(report.attributes)) {
    for (const [attribute, verdict] of Object.entries(verdicts)) {
      const where = `${name} ${path} attribute ${JSON.stringify(attribute)}`;
      if (verdict === "missing") assert.ok(warned.some((w) => w.startsWith(`${path} attribute ${JSON.stringify(attribute)} omitted: `)), `${where}: missing without a warning`);
      else assert.ok(verdict === "equal" || verdict === BLANK || verdict === "left out", `${where}: ${verdict}`);
    }
  }
}

/**
 * Every array in the refs equals h5py's read; every dataset h5py sees is either in the refs or
 * left out with a reason matching `skipped` (and only those are left out); every attribute as
 * assertAttributesFaithful says.
 */
function assertFaithful(name: string, result: TranslateResult, report: Report, skipped: Record<string, RegExp> = {}, noTruth: string[] = []): void {
  assertAttributesFaithful(name, result, report);
  for (const [path, verdict] of Object.entries(report.arrays)) {
    if (noTruth.includes(path)) assert.match(verdict, /^no truth: h5py cannot read it/, `${name} ${path}`);
    else assert.equal(verdict, "equal", `${name} ${path}`);
  }
  const left = new Map(result.skipped.map((s) => [s.variable, s.reason]));
  for (const path of Object.keys(report.datasets)) {
    if (path in report.arrays) continue;
    const reason = left.get(path);
    assert.ok(reason !== undefined, `${name} ${path}: missing from the refs without a reason`);
    assert.ok(skipped[path]?.test(reason), `${name} ${path}: left out for an unexpected reason: ${reason}`);
  }
  for (const [path, pattern] of Object.entries(skipped)) {
    assert.match(left.get(path) ?? "(not left out)", pattern, `${name} ${path}`);
  }
  assert.ok(Object.keys(report.arrays).length > 0, `${name}: no arrays compared`);
}

/** xarray opened every group of the refs (the root at least) through them. */
function assertXarrayOpens(report: Report): void {
  assert.ok(report.xarray && Object.keys(report.xarray).length > 0, "xarray opened no group");
  for (const [group, verdict] of Object.entries(report.xarray)) assert.equal(verdict, "ok", `xarray opening ${group}`);
}

const zarray = (result: TranslateResult, path: string): { shape: number[]; chunks: number[]; fill_value: unknown; filters: unknown } =>
  JSON.parse((result.refs.refs[`${path}/.zarray`] as string).replace(/\bNaN\b/g, "null")) as never;

const chunkKeys = (result: TranslateResult, path: string): string[] =>
  Object.keys(result.refs.refs).filter((k) => k.startsWith(`${path}/`) && !k.endsWith(".zarray") && !k.endsWith(".zattrs"));

describe("open-world fidelity (every array compared with h5py)", () => {
  test("external raw data files are referenced where HDF5 finds them, or refused with the reason; never filled", async () => {
    const { result, report } = await check("external.h5");
    assertFaithful("external.h5", result, report, { "/mid_row": /external data files: a slot boundary falls inside a row/ });
    for (const variable of ["single", "split", "rows", "unlimited"]) {
      const targets = chunkKeys(result, variable).map((k) => result.refs.refs[k] as Reference);
      assert.ok(targets.length > 0, `${variable}: no chunks`);
      for (const target of targets) {
        assert.ok(Array.isArray(target) && !target[0].endsWith("external.h5"), `${variable}: a chunk points into the HDF5 file: ${JSON.stringify(target)}`);
      }
    }
    assert.deepEqual(zarray(result, "rows").chunks, [2, 5]); // slots of 2 and 4 rows: chunks of 2 rows
  });

  test("floats: IEEE half/single/double translated; bfloat16, x87 extended, custom layouts and padded integers a typed skip", async () => {
    const { result, report } = await check("numbers.h5");
    const notIeee = /floating-point layout that is not IEEE 754/;
    assertFaithful("numbers.h5", result, report, {
      "/bfloat16": notIeee,
      "/bfloat16_be": notIeee,
      "/float24": notIeee,
      "/long_double": notIeee,
      "/int12": /12-bit integer at bit offset 0 in 2 bytes/,
    });
    // Attributes of those types are decoded field by field to the nearest float64 (what JSON holds).
    const attributes = report.attributes["/"]!;
    for (const name of ["attr_bfloat16", "attr_float24", "attr_long_double", "attr_int12"]) assert.equal(attributes[name], "equal", name);
  });

  test("zero-sized dimensions read as empty arrays", async () => {
    const { result, report } = await check("zero_extent.h5");
    assertFaithful("zero_extent.h5", result, report);
    for (const path of Object.keys(report.arrays)) {
      assert.ok(zarray(result, path.slice(1)).chunks.every((c) => c >= 1), `${path}: a chunk dimension of 0`);
    }
  });

  test("chunks outside the extent are not data; never-written chunks read as HDF5's fill rule says", async () => {
    const { result, report } = await check("extents.h5");
    assertFaithful("extents.h5", result, report);
    for (const variable of ["beyond_ea", "beyond_bt2", "beyond_fa"]) {
      assert.deepEqual(zarray(result, variable).shape, [4, 6]);
      assert.deepEqual(chunkKeys(result, variable).sort(), ["0.0", "0.1", "1.0", "1.1"].map((c) => `${variable}/${c}`));
    }
    // Missing chunks: never a null fill_value (Zarr would invent the values).
    for (const variable of ["missing_user_fill", "missing_default_fill", "missing_fill_never", "missing_fill_undefined", "h5netcdf_style", "contiguous_never_written"]) {
      assert.notEqual(zarray(result, variable).fill_value, null, variable);
    }
  });

  test("fixed-length strings read back as h5py reads them: nothing after a terminator, no trailing spaces", async () => {
    const { result, report } = await check("strings.h5");
    assertFaithful("strings.h5", result, report);
    // Strings whose stored bytes are already their values keep plain references.
    assert.ok(chunkKeys(result, "nullterm_clean").some((k) => Array.isArray(result.refs.refs[k])));
  });

  test("partial edge chunks stored unfiltered are re-encoded with the declared filters", async () => {
    const { result, report } = await check("edge_chunks.h5");
    assertFaithful("edge_chunks.h5", result, report);
    for (const variable of ["fixed_array", "extensible_array", "btree_v2", "fletcher_first"]) {
      assert.ok(zarray(result, variable).filters !== null, `${variable}: declares its filters`);
      // The interior chunk (0,0) stays a reference into the file; edge chunks are inlined.
      assert.ok(Array.isArray(result.refs.refs[`${variable}/0.0`]), `${variable}/0.0`);
      assert.equal(typeof result.refs.refs[`${variable}/2.1`], "string", `${variable}/2.1`);
    }
  });

  test("links: hard-link cycles walked once; external and user-defined links listed, never sinking the file", async () => {
    const { result, report } = await check("links.h5");
    assertFaithful("links.h5", result, report);
    const reasons = Object.fromEntries(result.skipped.map((s) => [s.variable, s.reason]));
    assert.match(reasons["/ext"] ?? "", /external link to elsewhere\.h5:\/data/);
    assert.match(reasons["/ud"] ?? "", /user-defined link of type 187/);
    // Each object header is parsed once, whatever number of paths the cycles create.
    const source = new LocalFileSource(files["links.h5"]!);
    const file = await Hdf5File.open(new BlockCache(source));
    const seen: string[] = [];
    for (const object of await file.objects()) seen.push(object.path);
    await source.close();
    assert.deepEqual(seen, ["/", "/g", "/g/inner", "/g/values", "/top"]);
    assert.ok(file.objectsParsed <= seen.length, `${file.objectsParsed} objects parsed for ${seen.length} objects`);
  });

  test("dimensions: unscaled axes named per length as h5netcdf does, so xarray opens every group; scale problems fall back with a warning", async () => {
    const { result, report } = await check("dimensions.h5", { xarray: true });
    assertFaithful("dimensions.h5", result, report);
    assertXarrayOpens(report);
    const warned = new Map(result.warnings.map((w) => [w.path, w.message]));
    assert.match(warned.get("/two_scales") ?? "", /2 dimension scales are attached to axis 0/);
    assert.match(warned.get("/dangling_scale") ?? "", /points to no object in the file/);
    // Within a group, one name is one length.
    const lengths = new Map<string, number>();
    for (const [path, names] of Object.entries(report.dimensions)) {
      const shape = zarray(result, path.slice(1)).shape;
      names!.forEach((name, axis) => {
        const key = `${path.slice(0, path.lastIndexOf("/"))}:${name}`;
        assert.equal(lengths.get(key) ?? shape[axis], shape[axis], `${path}: ${name} has two lengths`);
        lengths.set(key, shape[axis]!);
      });
    }
    // kerchunk's own refs for the file name unscaled axes phony_dim_<axis>: xarray refuses them, so the check above can fail.
    const kerchunkPath = `${files["dimensions.h5"]!}.kerchunk.json`;
    const ourPath = `${files["dimensions.h5"]!}.refs.json`;
    await python("kerchunk_parity.py", ["100", ourPath, files["dimensions.h5"]!, kerchunkPath]);
    const theirs = await python<Report>("refs_fidelity_check.py", [kerchunkPath, files["dimensions.h5"]!, "--xarray"]);
    assert.match(theirs.xarray!["/"]!, /conflicting sizes|different size/i);
  });

  test("messages shared through the SOHM table (list and B-tree indexes) are read", async () => {
    for (const name of ["sohm_list.h5", "sohm_btree.h5"]) {
      const { result, report } = await check(name);
      assertFaithful(name, result, report);
      const attributes = report.attributes["/var00"]!;
      for (const attribute of ["units", "scale_factor", "long_name", "extra11"]) assert.equal(attributes[attribute], "equal", `${name} ${attribute}`);
      const source = new LocalFileSource(files[name]!);
      const file = await Hdf5File.open(source);
      await source.close();
      assert.ok(file.sharedMessages && file.sharedMessages.indexes.length === 2, `${name}: the fixture has a SOHM table`);
    }
  });

  test("a metadata cache image: the metadata saved in it is read", async () => {
    const { result, report } = await check("cache_image.h5");
    assertFaithful("cache_image.h5", result, report);
    const source = new LocalFileSource(files["cache_image.h5"]!);
    const file = await Hdf5File.open(source);
    await source.close();
    assert.ok((file.context.overlay?.size ?? 0) > 0, "the fixture has a metadata cache image");
  });

  test("one bad variable or attribute costs only itself, with a typed reason", async () => {
    const { result, report } = await check("one_bad.h5");
    assertFaithful("one_bad.h5", result, report, {
      "/complex_f16": /complex datatype over 2-byte floats/,
      "/vax_float": /VAX-order floating point/,
      "/virtual": /virtual dataset layout/,
    });
    const warned = result.warnings.map((w) => `${w.path} ${w.message}`);
    assert.ok(warned.some((w) => /^\/ attribute "complex_attr" omitted: complex number values/.test(w)), warned.join("; "));
    assert.ok(warned.some((w) => /^\/good attribute "complex_attr" omitted/.test(w)), warned.join("; "));
    assert.ok(warned.some((w) => /^\/good attribute "vax_attr" omitted: VAX-order/.test(w)), warned.join("; "));
    assert.equal(report.attributes["/good"]!.units, "equal");
  });

  test("types numpy holds: flat compounds, h5py's and HDF5 2.0's complex numbers, bitfields, opaque and h5py's tagged datetimes", async () => {
    const { result, report } = await check("types.h5");
    // An opaque type with a tag of its own: h5py has no numpy type to read it into; its bytes are |V3.
    assertFaithful(
      "types.h5",
      result,
      report,
      {
        "/compound_nested": /member "pair" is an array/,
        "/compound_vlen": /member "s": datatype class vlen-string/,
      },
      ["/opaque_tagged"],
    );
    assert.equal(zarray(result, "opaque_tagged").filters, null);
    assert.equal((JSON.parse(result.refs.refs["opaque_tagged/.zarray"] as string) as { dtype: string }).dtype, "|V3");
    // Missing chunks: the fill in each type's Zarr encoding (never null).
    // Missing chunks: the fill in the type's Zarr encoding (never null), or, for structured and raw
    // types (xarray cannot mask with those), every missing chunk written inline as fill.
    assert.notEqual(zarray(result, "complex_missing").fill_value, null);
    for (const variable of ["compound_missing", "opaque_missing"]) {
      const { shape, chunks } = zarray(result, variable);
      assert.equal(chunkKeys(result, variable).length, Math.ceil(shape[0]! / chunks[0]!), `${variable}: every chunk present`);
    }
  });

  test("third-party filters: each plugin's chunks read back through the codec numcodecs or imagecodecs registers", async () => {
    // refs_fidelity_check.py reads with zarr 3 and the codecs the imagecodecs-numcodecs package
    // registers; h5py reads the truth through hdf5plugin's own filters.
    const { result, report } = await check("filters.h5", { xarray: true });
    assertFaithful("filters.h5", result, report, {
      "/bitshuffle_lz4": /bitshuffle filter \(32008\) with LZ4: no codec reads it/,
      "/bitshuffle_zstd": /bitshuffle filter \(32008\) with zstd: no codec reads it/,
      // random doubles: szip cannot compress some chunks, HDF5 stores them raw, and we cannot write szip
      "/szip_ec_f8": /imagecodecs_szip: codec not supported by this encoder/,
      "/vlen_strings_bzip2": /variable-length strings in chunks that do not decode here \(bz2/,
    });
    assertXarrayOpens(report);
    const ids = (variable: string): string[] => ((zarray(result, variable).filters ?? []) as { id: string }[]).map((f) => f.id);
    assert.deepEqual(ids("lz4_small_blocks"), ["imagecodecs_lz4h5"]);
    assert.deepEqual(ids("lzf_shuffle"), ["shuffle", "imagecodecs_lzf"]);
    assert.deepEqual(ids("szip_shuffle_fletcher"), ["shuffle", "imagecodecs_szip"]);
    assert.deepEqual(ids("bzip2"), ["bz2"]);
    // imagecodecs' bitshuffle is handed an array of its element size (an identity astype first).
    assert.deepEqual(ids("bitshuffle_f8_block8"), ["imagecodecs_bitshuffle", "astype"]);
    assert.deepEqual(ids("blosc_zstd_bitshuffle"), ["blosc"]);
    // LZF chunks compressed past 8:1 (imagecodecs cannot size them) and chunks HDF5 stored raw
    // after the optional LZF failed are re-encoded and inlined; the others stay references.
    const everyChunk = (variable: string, holds: (ref: unknown) => boolean): boolean => chunkKeys(result, variable).length > 0 && chunkKeys(result, variable).every((k) => holds(result.refs.refs[k]));
    assert.ok(everyChunk("lzf_far", (ref) => typeof ref === "string"), "lzf_far: inlined");
    assert.ok(everyChunk("lzf", (ref) => Array.isArray(ref)), "lzf: references");
    assert.ok(everyChunk("lzf_incompressible", (ref) => typeof ref === "string"), "lzf_incompressible: inlined");
    // Shuffle after deflate: chunks whose compressed length is whole elements stay references; the
    // others are re-deflated to whole elements (a padded zlib stream) and inlined.
    for (const variable of ["deflate_then_shuffle", "deflate_then_shuffle_i4"]) {
      assert.deepEqual(ids(variable), ["zlib", "shuffle"]);
      assert.ok(chunkKeys(result, variable).some((k) => typeof result.refs.refs[k] === "string"), `${variable}: some chunks re-encoded`);
    }
  });

  test("our own LZ4 (HDF5 framing) and LZF decoders read the plugins' chunks, and read back what our encoders write", async () => {
    // The translator decodes chunks itself only to rewrite them (strings, edge chunks) or to read
    // vlen-string pointers; two independent plugins' chunks of the same data must decode alike.
    const { result } = await check("filters.h5");
    const source = new LocalFileSource(files["filters.h5"]!);
    try {
      const decoded = async (variable: string): Promise<Uint8Array[]> => {
        const filters = zarray(result, variable).filters as PyJsonValue[];
        return Promise.all(
          chunkKeys(result, variable)
            .sort()
            .map(async (key) => {
              const ref = result.refs.refs[key]!;
              const stored =
                typeof ref !== "string" ? await source.read(ref[1]!, ref[2]!) : ref.startsWith("base64:") ? Buffer.from(ref.slice(7), "base64") : Buffer.from(ref, "utf8");
              return decodeChunk(new Uint8Array(stored), filters);
            }),
        );
      };
      const [lz4, lzf, lz4Small, lzfShuffle] = await Promise.all(["lz4", "lzf", "lz4_small_blocks", "lzf_shuffle"].map(decoded));
      assert.equal(lz4!.length, 12); // 37 x 23 in chunks of 10 x 8
      assert.deepEqual(lz4, lzf);
      assert.deepEqual(lz4Small, lzfShuffle);
    } finally {
      await source.close();
    }
    const bytes = new Uint8Array(1000).map((_, i) => (i * 7) % 256);
    for (const id of ["imagecodecs_lzf", "imagecodecs_lz4h5", "blosc"]) {
      assert.deepEqual(decodeChunk(encodeChunk(bytes, [{ id }]), [{ id }]), bytes, id);
    }
  });

  test("compounds laid out as C structs (padding, member order, big-endian members, nesting) read as h5py reads them, and open in xarray", async () => {
    const { result, report } = await check("compounds.h5", { xarray: true });
    assertFaithful("compounds.h5", result, report);
    assertXarrayOpens(report);
    const dtype = (variable: string): unknown => (JSON.parse(result.refs.refs[`${variable}/.zarray`] as string) as { dtype: unknown }).dtype;
    assert.deepEqual(dtype("padded"), [["a", "|i1"], ["b", "<f8"], ["c", "<i2"]]);
    assert.deepEqual(((zarray(result, "padded").filters ?? []) as { id: string }[])[0]?.id, "astype");
    assert.deepEqual(dtype("nested"), [["id", "<i4"], ["pos", [["u", "<i2"], ["v", "<f8"]]], ["deep", [["k", "|u1"], ["pair", [["p", "<f4"], ["q", "<i4"]]]]]]);
    // A packed compound needs no filter; missing chunks of a structured type are inline fill chunks
    // (xarray cannot mask with a structured fill value).
    assert.equal(zarray(result, "nested_packed").filters, null);
    assert.equal(zarray(result, "padded_missing").fill_value, null);
  });

  test("attributes of every type h5py writes read back exactly: float32 and float16 values, non-finite floats, 64-bit integers, booleans, strings, nested arrays, compounds, references", async () => {
    const { result, report } = await check("attributes.h5");
    assertFaithful("attributes.h5", result, report);
    // On a group, the root and two datasets, every attribute equal to h5py's, except an empty
    // fixed-length string (" ", kerchunk's rule) and a _FillValue on the root (no array to fill).
    for (const path of ["/", "/g", "/floats", "/ints"]) {
      const verdicts = report.attributes[path]!;
      const others = Object.entries(verdicts).filter(([, verdict]) => verdict !== "equal");
      const expected: [string, string][] = [["fixed_empty", BLANK], ...(path === "/" ? [["_FillValue", "left out"] as [string, string]] : [])];
      assert.deepEqual(others.sort(), expected.sort(), path);
      assert.ok(Object.keys(verdicts).length >= 25, `${path}: ${Object.keys(verdicts).length} attributes compared`);
    }
  });

  test("non-HDF5 input gets an error naming what it is", async () => {
    await assert.rejects(translate("classic.nc"), (e) => e instanceof Hdf5FormatError && /not an HDF5 file.*netCDF-3 classic format/.test(e.message));
    const bytes = await readFile(files["classic.nc"]!);
    assert.equal(bytes.subarray(0, 3).toString(), "CDF");
  });
});
