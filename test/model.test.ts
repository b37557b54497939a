/**
 * The reference model's own parts (lib/model), on small made-up reference sets, without servers:
 * parsed metadata, the compact chunk manifest. (Round trips through kerchunk JSON and Parquet
 * on every fixture are in test/refs.test.ts and test/combine.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UnsupportedFeatureError } from "../lib/errors.js";
import { arrayMetadata } from "../lib/model/arrayMetadata.js";
import { inlineBytes, inlineReference } from "../lib/model/chunkBytes.js";
import { chunkIndexAt, chunkManifestOf } from "../lib/model/chunkManifest.js";
import { serializeRefs } from "../lib/model/kerchunkJson.js";
import type { KerchunkRefs, Reference } from "../lib/model/kerchunkRefs.js";
import { referenceSetOf, type ReferenceSet } from "../lib/model/referenceSet.js";

/** One file's references: sst (time, lat) and time, with `steps` time steps. */
function file(name: string, steps: number): ReferenceSet {
  const refs: Record<string, Reference> = {
    ".zgroup": '{"zarr_format":2}',
    "sst/.zarray": JSON.stringify({ shape: [steps, 4], chunks: [1, 4], dtype: "<i2", fill_value: -32768, order: "C", filters: null, compressor: { id: "zlib", level: 4 }, zarr_format: 2 }),
    "sst/.zattrs": '{"_ARRAY_DIMENSIONS":["time","lat"],"scale_factor":0.01,"_FillValue":-32768}',
    "time/.zarray": JSON.stringify({ shape: [steps], chunks: [steps], dtype: "<i4", fill_value: null, order: "C", filters: null, compressor: null, zarr_format: 2 }),
    "time/.zattrs": '{"_ARRAY_DIMENSIONS":["time"],"units":"hours since 2022-01-01"}',
    "time/0": "base64:AAAAAA==",
  };
  for (let t = 0; t < steps; t++) refs[`sst/${t}.0`] = [`s3://archive/${name}`, 100 + t * 10, 10];
  return referenceSetOf({ version: 1, refs }, name);
}

describe("array metadata", () => {
  test("parsed once per array, typed: shape, chunks, numeric dtype, codecs, attributes, dimension names", () => {
    const sst = file("a.nc", 2).arrays.get("sst")!;
    const metadata = arrayMetadata(sst);
    assert.equal(arrayMetadata(sst), metadata, "the same parse for every consumer");
    assert.deepEqual([metadata.shape, metadata.chunks, metadata.numeric, metadata.codecs.length], [[2, 4], [1, 4], { kind: "int", size: 2, littleEndian: true }, 1]);
    assert.deepEqual(metadata.dimensionNames, ["time", "lat"]);
  });
});

describe("chunk manifest", () => {
  test("grid indices, one path per distinct URL, offsets and lengths in typed arrays, inline content apart", () => {
    const set = file("a.nc", 3);
    const manifest = chunkManifestOf(set.arrays.get("sst")!, 2);
    assert.equal(manifest.count, 3);
    assert.deepEqual(manifest.paths, ["s3://archive/a.nc"]);
    assert.deepEqual([chunkIndexAt(manifest, 2), manifest.offsets[2], manifest.lengths[2], manifest.pathIds[2]], [[2, 0], 120, 10, 0]);
    const time = chunkManifestOf(set.arrays.get("time")!, 1);
    assert.deepEqual([time.pathIds[0], time.inline.get(0)], [-1, "base64:AAAAAA=="]);
  });

  test("a key that is not a chunk index of the grid is refused, naming the array", () => {
    const set = file("a.nc", 1);
    const sst = set.arrays.get("sst")!;
    assert.throws(() => chunkManifestOf({ ...sst, chunkKeys: ["sst/0"] }, 2), (e: unknown) => e instanceof UnsupportedFeatureError && /chunk key 'sst\/0' is not a chunk index of a 2-d array/.test(e.message));
  });
});

describe("inline chunk content", () => {
  test("stored as fsspec reads it back: valid UTF-8 as a string (a leading byte order mark kept), anything else as base64", () => {
    const cases: [string, number[], "string" | "base64"][] = [
      ["empty", [], "string"],
      ["ASCII", [0x41, 0x42, 0x00], "string"],
      ["two-byte and four-byte characters", [0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80], "string"],
      ["a byte order mark first", [0xef, 0xbb, 0xbf, 0x41], "string"],
      ["a float64 (not UTF-8)", [0, 0, 0, 0, 0, 0, 0xf0, 0x3f], "base64"],
      ["an encoded surrogate", [0xed, 0xa0, 0x80], "base64"],
      ["an overlong encoding", [0xc0, 0x80], "base64"],
      ["a truncated sequence", [0x41, 0xe2, 0x82], "base64"],
    ];
    for (const [name, bytes, form] of cases) {
      const stored = inlineReference(new Uint8Array(bytes));
      assert.equal(stored.startsWith("base64:") ? "base64" : "string", form, name);
      // fsspec: a "base64:" string is decoded, any other string encoded as UTF-8.
      assert.deepEqual([...inlineBytes(stored)], bytes, name);
    }
  });
});

describe("kerchunk JSON text", () => {
  test("keys written in compareRefKeys order, also where some are array indices (a root array's chunks)", () => {
    const url = "s3://b/f.nc";
    const grouped: KerchunkRefs = { version: 1, refs: { "t/10": [url, 40, 4], "t/.zarray": "{}", ".zgroup": "{}", "t/2": [url, 8, 4], "t/0": [url, 0, 4] } };
    const rootArray: KerchunkRefs = { version: 1, refs: { "10": [url, 40, 4], ".zarray": "{}", "2": [url, 8, 4], "0": [url, 0, 4], ".zattrs": "{}" } };
    const keysOf = (text: string): string[] => [...text.matchAll(/"([^"]*)":(?:"|\[)/g)].map((m) => m[1]!).filter((k) => k !== "refs");
    assert.deepEqual(keysOf(serializeRefs(grouped)), [".zgroup", "t/.zarray", "t/0", "t/2", "t/10"]);
    assert.deepEqual(keysOf(serializeRefs(rootArray)), [".zarray", ".zattrs", "0", "2", "10"]);
    assert.deepEqual(JSON.parse(serializeRefs(rootArray)), rootArray);
  });
});
