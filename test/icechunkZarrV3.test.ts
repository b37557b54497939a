/**
 * The Icechunk store's Zarr v3 metadata (lib/icechunk/zarrV3.ts) for every codec and dtype our
 * references write: each variable either reads back through zarr-python 3 exactly as h5py reads
 * the HDF5 file, or is refused with an UnsupportedFeatureError naming the variable and the codec
 * (or dtype) — never a store that opens and reads wrong, or one zarr 3 cannot open.
 *
 * The files are the coverage fixtures (every third-party filter hdf5plugin ships, compounds laid
 * out as C structs) and a netCDF4 file in netCDF-C's filter order. Each variable's `zarr.json`
 * goes into a plain Zarr v3 directory with the bytes its references point at as chunks: what an
 * Icechunk store holds (metadata as written, virtual chunks as byte ranges), read by zarr 3 itself.
 *
 * Run: npm test -- test/icechunkZarrV3.test.ts
 */
import assert from "node:assert/strict";
import { mkdir, open, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { before, describe, test } from "node:test";
import { UnsupportedFeatureError } from "../lib/errors.js";
import { structuredArray, structureDifference } from "../lib/combine/drift.js";
import { PyFloat } from "../lib/json/pyJson.js";
import { chunkKey, metadataText, v2Spelling, v3ArrayMetadataOf, v3GroupMetadata, type V3ArrayMetadata } from "../lib/icechunk/zarrV3.js";
import { translateHdf5, type TranslateResult } from "../lib/refs/translate.js";
import { BlockCache } from "../lib/source/blockCache.js";
import { LocalFileSource } from "../lib/source/localFile.js";
import { testDir } from "./harness/env.js";
import { python } from "./harness/python.js";

let dir = "";
let files: Record<string, string> = {};

before(async () => {
  dir = await testDir("zarr-v3");
  files = {
    ...(await python<Record<string, string>>("h5_coverage_fixtures.py", [dir])),
    ...(await python<Record<string, string>>("zarr_v3_codecs.py", ["write", dir])),
  };
});

async function translate(path: string): Promise<TranslateResult> {
  const source = new LocalFileSource(path);
  try {
    return await translateHdf5(new BlockCache(source), { inlineThreshold: 100 });
  } finally {
    await source.close();
  }
}

interface Outcome {
  /** Variables written to the v3 store, with their v2 codec ids. */
  mapped: Map<string, string[]>;
  /** Variables refused, with the error. */
  refused: Map<string, UnsupportedFeatureError>;
  /** zarr 3 against h5py, per mapped variable. */
  read: Record<string, string>;
}

const codecIds = (zarray: { filters?: { id: string }[] | null; compressor?: { id: string } | null }): string[] => [
  ...(zarray.filters ?? []).map((f) => f.id),
  ...(zarray.compressor ? [zarray.compressor.id] : []),
];

/** Translate `name`, convert each variable's metadata, store the mapped ones and read them with zarr 3. */
async function storeAndRead(name: string): Promise<Outcome> {
  const source = files[name]!;
  const { refs } = await translate(source);
  const store = join(dir, `${name}.zarr`);
  await mkdir(store, { recursive: true });
  await writeFile(join(store, "zarr.json"), metadataText(v3GroupMetadata({})));
  const mapped = new Map<string, string[]>();
  const refused = new Map<string, UnsupportedFeatureError>();
  const file = await open(source, "r");
  try {
    for (const key of Object.keys(refs.refs).filter((k) => k.endsWith("/.zarray"))) {
      const path = key.slice(0, -"/.zarray".length);
      const zarray = refs.refs[key] as string;
      let meta;
      try {
        meta = v3ArrayMetadataOf(name, { path, zarray, zattrs: refs.refs[`${path}/.zattrs`] as string | undefined, chunkKeys: [], chunkRefs: [] });
      } catch (error) {
        assert.ok(error instanceof UnsupportedFeatureError, `${name} ${path}: untyped refusal: ${String(error)}`);
        refused.set(path, error);
        continue;
      }
      mapped.set(path, codecIds(JSON.parse(zarray.replace(/\bNaN\b/g, "null")) as never));
      await mkdir(join(store, path), { recursive: true });
      await writeFile(join(store, path, "zarr.json"), metadataText(meta));
      for (const chunk of Object.keys(refs.refs).filter((k) => k.startsWith(`${path}/`) && !k.slice(path.length + 1).startsWith("."))) {
        const ref = refs.refs[chunk]!;
        let bytes: Buffer;
        if (typeof ref === "string") bytes = ref.startsWith("base64:") ? Buffer.from(ref.slice(7), "base64") : Buffer.from(ref, "utf8");
        else {
          assert.ok(ref[0].endsWith(name), `${path}: a chunk outside ${name}: ${ref[0]}`);
          bytes = Buffer.alloc(ref[2]!);
          await file.read(bytes, 0, ref[2]!, ref[1]!);
        }
        const index = meta.shape.length === 0 ? [] : chunk.slice(path.length + 1).split(".").map(Number);
        const target = join(store, chunkKey(path, index));
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, bytes);
      }
    }
  } finally {
    await file.close();
  }
  const read = mapped.size ? await python<Record<string, string>>("zarr_v3_codecs.py", ["read", store, source, ...mapped.keys()]) : {};
  return { mapped, refused, read };
}

describe("Icechunk store metadata (Zarr v3) for every codec our references write", () => {
  test("numcodecs' codecs map to v3 codecs zarr 3 reads as h5py does; imagecodecs' codecs, astype and compounds are refused naming the variable and codec", async () => {
    const seen = new Set<string>();
    for (const name of ["filters.h5", "compounds.h5", "netcdf_filters.nc"]) {
      const { mapped, refused, read } = await storeAndRead(name);
      for (const [path, ids] of mapped) {
        assert.equal(read[path], "equal", `${name} ${path} (${ids.join(", ")}) through zarr 3`);
        ids.forEach((id) => seen.add(id));
      }
      for (const [path, error] of refused) {
        assert.equal(error.variable, path, `${name} ${path}: the error names the variable`);
        const zarray = JSON.parse((await translate(files[name]!)).refs.refs[`${path}/.zarray`] as string) as { dtype: unknown };
        const ids = codecIds(zarray as never);
        const reason = error.feature;
        const named = ids.find((id) => reason.startsWith(`codec ${id} `));
        assert.ok(named !== undefined || (typeof zarray.dtype !== "string" && /^compound dtype/.test(reason)), `${name} ${path}: refused for a reason that names none of its codecs (${ids.join(", ")}): ${reason}`);
        // Only what zarr 3 cannot read as numcodecs does is refused.
        if (named) assert.ok(/^imagecodecs_|^astype$/.test(named), `${name} ${path}: ${named} refused: ${reason}`);
      }
    }
    // Every numcodecs codec our references write was read back through zarr 3 at least once.
    for (const id of ["zlib", "shuffle", "fletcher32", "zstd", "blosc", "bz2", "vlen-utf8"]) assert.ok(seen.has(id), `no variable with ${id} went through zarr 3`);
  });

  test("each imagecodecs codec and astype our references write is refused with a typed error naming the variable and the codec", async () => {
    const { refused } = await storeAndRead("filters.h5");
    const expected: Record<string, string> = {
      lz4: "imagecodecs_lz4h5",
      lzf: "imagecodecs_lzf",
      szip_nn: "imagecodecs_szip",
      bitshuffle: "imagecodecs_bitshuffle",
    };
    for (const [path, codec] of Object.entries(expected)) {
      const error = refused.get(path);
      assert.ok(error, `${path} (${codec}) was written into the v3 store`);
      assert.equal(error.kind, "UnsupportedFeatureError");
      assert.match(error.message, new RegExp(`variable ${path}: unsupported codec ${codec} in an Icechunk store`));
    }
    const compounds = await storeAndRead("compounds.h5");
    assert.equal(compounds.mapped.size, 0, `compounds in the v3 store: ${[...compounds.mapped.keys()].join(", ")}`);
    assert.match(compounds.refused.get("padded")!.message, /variable padded: unsupported compound dtype/);
  });
});

describe("an array without a fill value (every chunk stored, no _FillValue)", () => {
  const array = (dtype: string, fill: number | null, attributes: Record<string, unknown> = {}) => ({
    path: "v",
    zarray: JSON.stringify({ zarr_format: 2, shape: [4, 6], chunks: [1, 6], dtype, fill_value: fill, filters: null, compressor: null, order: "C" }),
    zattrs: JSON.stringify({ _ARRAY_DIMENSIONS: ["time", "x"], ...attributes }),
    chunkKeys: [],
    chunkRefs: [],
  });
  const spelled = (meta: V3ArrayMetadata) => structuredArray(v2Spelling("v", meta), "v", { concatDims: ["time"], identicalDims: [] });

  test("reads where the store has no chunk as netCDF reads missing data: NaN for floats, netCDF's default fill for integers (not declared)", () => {
    const written = (dtype: string) => JSON.parse(metadataText(v3ArrayMetadataOf("f.nc", array(dtype, null)))) as { fill_value: unknown; attributes: Record<string, unknown> };
    assert.deepEqual([written("<f4").fill_value, written("<f8").fill_value], ["NaN", "NaN"]);
    assert.deepEqual(["<i2", "<u4", "|i1", "|u1"].map((dtype) => written(dtype).fill_value), [-32767, 4294967295, -127, 255]);
    // Not declared: the written values of an integer variable without _FillValue (flags, time) are never masked.
    assert.deepEqual(["<f4", "<i2"].map((dtype) => written(dtype).attributes._FillValue), [undefined, undefined]);
    // A fill value the file gives is kept.
    assert.equal((JSON.parse(metadataText(v3ArrayMetadataOf("f.nc", array("<i2", -999, { _FillValue: -999 })))) as { fill_value: unknown }).fill_value, -999);
  });

  test("a store written before (the type's zero, no _FillValue) goes on in the same era; a real fill value change still splits", () => {
    for (const dtype of ["<f4", "<i2", "|i1"]) {
      const today = v3ArrayMetadataOf("f.nc", array(dtype, null));
      const { _FillValue: _, ...attributes } = today.attributes;
      const before: V3ArrayMetadata = { ...today, fill_value: dtype.includes("f") ? new PyFloat(0) : 0, attributes };
      assert.equal(structureDifference(spelled(before), spelled(today))?.message, undefined, dtype);
    }
    const filled = v3ArrayMetadataOf("f.nc", array("<i2", -999, { _FillValue: -999 }));
    assert.match(structureDifference(spelled(filled), spelled(v3ArrayMetadataOf("f.nc", array("<i2", null))))?.message ?? "", /fill value/);
  });
});
