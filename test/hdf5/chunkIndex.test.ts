/**
 * Chunk index readers against libhdf5 itself, end to end through Hdf5File: h5py writes files
 * with every index type (v1 B-tree, single chunk, implicit, fixed array incl. paged, extensible
 * array incl. super blocks and paged data blocks, v2 B-tree incl. depth 2), filtered and not,
 * with partial edge chunks and chunks never written; the oracle is what libhdf5 reports for each
 * chunk (H5Dchunk_iter, and H5Dread_chunk's stored bytes where iterate is known to be wrong).
 * Run: node --import tsx --test test/hdf5/chunkIndex.test.ts
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { lookup3 } from "../../lib/hdf5/checksum.js";
import { readBTreeV2Header } from "../../lib/hdf5/btreeV2.js";
import { readChunkIndex } from "../../lib/hdf5/chunkIndex/index.js";
import { Hdf5File } from "../../lib/hdf5/file.js";
import type { ChunkRef, Hdf5Dataset } from "../../lib/hdf5/model.js";
import { chunkIndexInput, contextFor, datasetsOf, fixtures, MemorySource, type OracleDataset } from "./chunkIndexHelpers.js";

const { dir, oracle } = fixtures();
const fileBytes = new Map<string, Uint8Array>();
function bytesOf(name: string): Uint8Array {
  let bytes = fileBytes.get(name);
  if (!bytes) {
    bytes = new Uint8Array(readFileSync(join(dir, name)));
    fileBytes.set(name, bytes);
  }
  return bytes;
}

const opened = new Map<string, Promise<{ file: Hdf5File; datasets: Map<string, Hdf5Dataset> }>>();
function open(name: string): Promise<{ file: Hdf5File; datasets: Map<string, Hdf5Dataset> }> {
  let p = opened.get(name);
  if (!p) {
    p = (async () => {
      const file = await Hdf5File.open(new MemorySource(bytesOf(name), name));
      return { file, datasets: await datasetsOf(file) };
    })();
    opened.set(name, p);
  }
  return p;
}

async function datasetOf(name: string, path: string): Promise<Hdf5Dataset> {
  const dataset = (await open(name)).datasets.get(path);
  assert.ok(dataset, `${name} has ${path}`);
  return dataset;
}

function sha1(bytes: Uint8Array): string {
  return createHash("sha1").update(bytes).digest("hex");
}

/** Compare our refs with the oracle: coords, size and mask always; the address, or the stored bytes. */
function assertMatchesOracle(file: Uint8Array, ds: OracleDataset, refs: ChunkRef[]): void {
  assert.equal(refs.length, ds.chunks.length, `${ds.path}: chunk count`);
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i]!;
    const [coords, address, size, mask, digest] = ds.chunks[i]!;
    const where = `${ds.path} chunk ${i} ${JSON.stringify(coords)}`;
    assert.deepEqual(ref.coords, coords, `${where}: coords`);
    assert.equal(ref.size, size, `${where}: size`);
    assert.equal(ref.filterMask, mask, `${where}: filter mask`);
    if (address !== null) assert.equal(ref.address, address, `${where}: address`);
    if (digest !== null) assert.equal(sha1(file.subarray(ref.address, ref.address + ref.size)), digest, `${where}: stored bytes`);
  }
}

test("lookup3 matches Jenkins' published hashlittle vectors", () => {
  const text = new TextEncoder().encode("Four score and seven years ago");
  assert.equal(lookup3(new Uint8Array(0)), 0xdeadbeef);
  assert.equal(lookup3(new Uint8Array(0), 0xdeadbeef), 0xbd5b7dde);
  assert.equal(lookup3(text, 0), 0x17770551);
  assert.equal(lookup3(text, 1), 0xcd628161);
});

describe("chunk indexes equal libhdf5's chunk list (Hdf5File.chunks)", () => {
  for (const [name, datasets] of Object.entries(oracle.files)) {
    for (const ds of datasets) {
      test(`${name} ${ds.path} (${ds.indexType}, ${ds.filtered ? "filtered" : "unfiltered"}, ${ds.chunks.length} chunks)`, async () => {
        const { file } = await open(name);
        const dataset = await datasetOf(name, ds.path);
        assert.equal(dataset.layout.kind, "chunked");
        if (dataset.layout.kind === "chunked") {
          assert.equal(dataset.layout.index.type, ds.indexType, "the file uses the index type the fixture meant to cover");
        }
        assert.deepEqual(dataset.dataspace.shape, ds.shape);
        assertMatchesOracle(bytesOf(name), ds, await file.chunks(dataset));
      });
    }
  }

  test("the fixtures cover what they are meant to", async () => {
    const all = Object.values(oracle.files).flat();
    const types = new Set(all.map((d) => `${d.indexType}/${d.filtered}`));
    for (const t of ["btree-v1", "fixed-array", "extensible-array", "btree-v2", "single"]) {
      assert.ok(types.has(`${t}/true`) && types.has(`${t}/false`), `${t} filtered and unfiltered`);
    }
    assert.ok(types.has("implicit/false"));
    // Chunks never written exist (fewer chunks than the grid) in every index that can have them.
    const fullyWritten = ["/v1_deep", "/v1_100k", "/fa_100k", "/bt2_deep", "/bt2_deep_filtered"];
    for (const d of all) {
      const grid = d.shape.reduce((p, n, i) => p * Math.ceil(n / d.chunkShape[i]!), 1);
      if (d.indexType !== "single" && d.indexType !== "implicit" && !fullyWritten.includes(d.path)) {
        assert.ok(d.chunks.length < grid, `${d.path} has unwritten chunks`);
      }
    }
    assert.ok(all.some((d) => !d.iterTrusted), "the swizzled extensible array is checked by stored bytes");
    // The deep v2 B-trees really are depth 2 (variable-width "total records" fields in play).
    for (const path of ["/bt2_deep", "/bt2_deep_filtered"]) {
      const dataset = await datasetOf("btree_v2.h5", path);
      assert.ok(dataset.layout.kind === "chunked" && dataset.layout.index.type === "btree-v2" && dataset.layout.index.address !== undefined);
      const header = await readBTreeV2Header((await open("btree_v2.h5")).file.context, dataset.layout.index.address, path);
      assert.equal(header.depth, 2, `${path} depth`);
    }
    // The paged extensible arrays reach paged data blocks (> 131,060 elements with default
    // parameters) and leave a whole page unwritten.
    for (const d of oracle.files["ea_paged.h5"]!) {
      assert.ok(d.chunks.length > 131_060, d.path);
      const indexes = new Set(d.chunks.map((c) => c[0][0]!));
      let longestGap = 0;
      let gap = 0;
      for (let i = 0; i < d.shape[0]!; i++) {
        gap = indexes.has(i) ? 0 : gap + 1;
        longestGap = Math.max(longestGap, gap);
      }
      assert.ok(longestGap >= 2048, `${d.path} has a page-sized gap`);
    }
  });
});

describe("round trips and linear cost", () => {
  const find = (file: string, path: string): OracleDataset => {
    const ds = oracle.files[file]!.find((d) => d.path === path);
    assert.ok(ds, `${file} ${path}`);
    return ds;
  };

  // Per-node sequential reads would be hundreds to thousands of round trips; per-level reads are
  // one per index level (plus a header). Timings at 20 ms per request are in bench/, not here.
  for (const [file, path, maxRoundTrips] of [
    ["btree_v1.h5", "/v1_100k", 4],
    ["latest.h5", "/fa_100k", 3],
    ["ea_paged.h5", "/ea_paged_unfiltered", 5],
    ["btree_v2.h5", "/bt2_deep", 4],
  ] as const) {
    test(`${file} ${path}: at most ${maxRoundTrips} sequential round trips`, async () => {
      const ds = find(file, path);
      const bytes = bytesOf(file);
      const input = chunkIndexInput(await datasetOf(file, path));
      const source = new MemorySource(bytes, file);
      const refs = await readChunkIndex(contextFor(source, bytes.length), input);
      assert.equal(refs.length, ds.chunks.length);
      assert.ok(source.roundTrips <= maxRoundTrips, `${source.roundTrips} round trips (${source.stats.requests} reads)`);
    });
  }

  test("100,000 chunks: every index byte read once, reads and bytes linear in the chunk count", async () => {
    for (const [file, path, bytesPerChunk] of [
      ["btree_v1.h5", "/v1_100k", 48],
      ["latest.h5", "/fa_100k", 16],
    ] as const) {
      const bytes = bytesOf(file);
      const input = chunkIndexInput(await datasetOf(file, path));
      const source = new MemorySource(bytes, file);
      const refs = await readChunkIndex(contextFor(source, bytes.length), input);
      assert.equal(refs.length, 100_000);
      // A v1 B-tree key is 4+4+8*(rank+1) bytes plus an 8-byte child address per chunk; a fixed
      // array element is 8 or 16 bytes. Anything quadratic would read far more.
      assert.ok(source.stats.bytes <= bytesPerChunk * 100_000 * 1.25 + 65_536, `${path}: ${source.stats.bytes} bytes read`);
      assert.ok(source.stats.requests <= 100_000 / 50 + 10, `${path}: ${source.stats.requests} reads`);
    }
  });
});

