/**
 * Damaged and hostile chunk indexes: every one must end in a typed Hdf5FormatError naming the
 * dataset and structure, promptly, never a hang, a RangeError or a huge allocation.
 * Run: node --import tsx --test test/hdf5/chunkIndexHostile.test.ts
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Hdf5FormatError } from "../../lib/errors.js";
import { bTreeV1Leaves } from "../../lib/hdf5/btreeV1.js";
import { runParse } from "../../lib/hdf5/parse.js";
import { readBTreeV2Header } from "../../lib/hdf5/btreeV2.js";
import { lookup3 } from "../../lib/hdf5/checksum.js";
import { readChunkIndex, type ChunkIndexInput } from "../../lib/hdf5/chunkIndex/index.js";
import { Hdf5File } from "../../lib/hdf5/file.js";
import { chunkIndexInput, contextFor, datasetsOf, fixtures, MemorySource } from "./chunkIndexHelpers.js";

const TIMEOUT = { timeout: 20_000 };
const { dir, oracle } = fixtures();

function bytesOf(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(dir, name)));
}

async function inputOf(name: string, path: string): Promise<ChunkIndexInput> {
  const datasets = await datasetsOf(await Hdf5File.open(new MemorySource(bytesOf(name), name)));
  const dataset = datasets.get(path);
  assert.ok(dataset, path);
  return chunkIndexInput(dataset);
}

/** Run the chunk index reader on `bytes` and expect a format error about `path`. */
async function rejectsWithFormatError(bytes: Uint8Array, input: ChunkIndexInput, detail?: RegExp): Promise<Hdf5FormatError> {
  const ctx = contextFor(new MemorySource(bytes), bytes.length);
  let caught: unknown;
  try {
    await readChunkIndex(ctx, input);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof Hdf5FormatError, `expected Hdf5FormatError, got ${String(caught)}`);
  assert.ok(caught.structure.includes(input.path), `the error names ${input.path}: ${caught.message}`);
  if (detail) assert.match(caught.message, detail);
  return caught;
}

function writeU64(bytes: Uint8Array, at: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, BigInt(value), true);
}

/** A version 1 B-tree node of type 1 (rank-1 chunks: 24-byte keys) at `at` in `bytes`. */
function writeTreeNode(bytes: Uint8Array, at: number, level: number, entries: number, children: number[]): void {
  bytes.set([0x54, 0x52, 0x45, 0x45, 1, level], at); // "TREE", type 1
  new DataView(bytes.buffer).setUint16(at + 6, entries, true);
  bytes.fill(0xff, at + 8, at + 24); // no siblings
  let p = at + 24;
  for (const child of children) {
    p += 24; // key (zeros: size 0, mask 0, offset 0)
    writeU64(bytes, p, child);
    p += 8;
  }
}

function btreeV1Input(address: number): ChunkIndexInput {
  return {
    path: "/hostile",
    shape: [100],
    maxShape: [100],
    chunkShape: [10],
    elementSize: 4,
    filtered: false,
    layout: { kind: "chunked", version: 3, chunkShape: [10], dontFilterPartialBoundChunks: false, index: { type: "btree-v1", address } },
  };
}

/** Find the stored checksum of the structure starting at `at`: the first 4 bytes equal to lookup3 of all before them. */
function checksumOffset(bytes: Uint8Array, at: number, maxLength: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  for (let end = at + 8; end < at + maxLength; end++) {
    if (view.getUint32(end, true) === lookup3(bytes.subarray(at, end))) return end;
  }
  throw new Error(`no checksum found after ${at}`);
}

function rewriteChecksum(bytes: Uint8Array, at: number, checksumAt: number): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(checksumAt, lookup3(bytes.subarray(at, checksumAt)), true);
}

describe("version 1 B-tree", () => {
  test("a node whose child is itself", TIMEOUT, async () => {
    const bytes = new Uint8Array(4096);
    writeTreeNode(bytes, 512, 1, 1, [512]);
    await rejectsWithFormatError(bytes, btreeV1Input(512));
    await assert.rejects(runParse(bTreeV1Leaves(contextFor(new MemorySource(bytes), bytes.length), 512, 1, 24, "test tree")), Hdf5FormatError);
  });

  test("two parents' entries sharing one child", TIMEOUT, async () => {
    const bytes = new Uint8Array(4096);
    writeTreeNode(bytes, 512, 1, 2, [1024, 1024]);
    writeTreeNode(bytes, 1024, 0, 1, [2048]);
    await rejectsWithFormatError(bytes, btreeV1Input(512), /reachable twice/);
  });

  test("a child at the wrong level (a deep chain or a loop through levels)", TIMEOUT, async () => {
    const bytes = new Uint8Array(4096);
    writeTreeNode(bytes, 512, 200, 1, [1024]);
    writeTreeNode(bytes, 1024, 200, 1, [512]);
    await rejectsWithFormatError(bytes, btreeV1Input(512), /level/);
  });

  test("an absurd entry count", TIMEOUT, async () => {
    const bytes = new Uint8Array(4096);
    writeTreeNode(bytes, 512, 0, 65535, []);
    await rejectsWithFormatError(bytes, btreeV1Input(512), /65535 entries/);
  });

  test("a bad signature", TIMEOUT, async () => {
    const bytes = new Uint8Array(4096);
    writeTreeNode(bytes, 512, 0, 1, [2048]);
    bytes[512] = 0x58;
    await rejectsWithFormatError(bytes, btreeV1Input(512), /signature/);
  });

  test("a root past the end of the file", TIMEOUT, async () => {
    await rejectsWithFormatError(new Uint8Array(4096), btreeV1Input(10_000));
  });
});

describe("truncated files", () => {
  for (const [name, path] of [
    ["btree_v1.h5", "/v1_100k"],
    ["latest.h5", "/fa_100k"],
    ["latest.h5", "/ea_filtered"],
    ["ea_paged.h5", "/ea_paged_unfiltered"],
    ["btree_v2.h5", "/bt2_deep"],
  ] as const) {
    test(`${name} ${path} cut short`, TIMEOUT, async () => {
      const input = await inputOf(name, path);
      const full = bytesOf(name);
      // Any cut before the end of the dataset's last chunk must fail: either index metadata is
      // missing, or a chunk would point past the end of the file.
      const chunks = oracle.files[name]!.find((d) => d.path === path)!.chunks;
      const extent = chunks.reduce((m, [, address, size]) => Math.max(m, (address ?? 0) + size), 0);
      for (const fraction of [0.1, 0.3, 0.6, 0.9, 0.9999]) {
        await rejectsWithFormatError(full.slice(0, Math.floor(extent * fraction)), input);
      }
    });
  }
});

describe("version 2 B-tree", () => {
  async function deep(): Promise<{ bytes: Uint8Array; input: ChunkIndexInput; headerAddress: number; rootAddress: number; rootRecords: number; recordSize: number }> {
    const input = await inputOf("btree_v2.h5", "/bt2_deep");
    const bytes = bytesOf("btree_v2.h5");
    assert.ok(input.layout.index.type === "btree-v2" && input.layout.index.address !== undefined);
    const headerAddress = input.layout.index.address;
    const header = await readBTreeV2Header(contextFor(new MemorySource(bytes), bytes.length), headerAddress, "test");
    assert.ok(header.rootAddress !== undefined);
    return { bytes, input, headerAddress, rootAddress: header.rootAddress, rootRecords: header.rootRecordCount, recordSize: header.recordSize };
  }

  test("a corrupted node fails its checksum", TIMEOUT, async () => {
    const { bytes, input, rootAddress } = await deep();
    bytes[rootAddress + 10]! ^= 0x01;
    await rejectsWithFormatError(bytes, input, /checksum/);
  });

  test("an internal node whose first child is itself (checksum made valid)", TIMEOUT, async () => {
    const { bytes, input, rootAddress, rootRecords, recordSize } = await deep();
    const checksumAt = checksumOffset(bytes, rootAddress, 4096);
    writeU64(bytes, rootAddress + 6 + rootRecords * recordSize, rootAddress);
    rewriteChecksum(bytes, rootAddress, checksumAt);
    await rejectsWithFormatError(bytes, input);
  });

  test("a header claiming more records than the file can hold", TIMEOUT, async () => {
    const { bytes, input, headerAddress } = await deep();
    const checksumAt = checksumOffset(bytes, headerAddress, 256);
    writeU64(bytes, checksumAt - 8, 2 ** 50); // total number of records
    rewriteChecksum(bytes, headerAddress, checksumAt);
    await rejectsWithFormatError(bytes, input, /records/);
  });

  test("a header claiming an absurd depth", TIMEOUT, async () => {
    const { bytes, input, headerAddress } = await deep();
    const checksumAt = checksumOffset(bytes, headerAddress, 256);
    new DataView(bytes.buffer).setUint16(headerAddress + 12, 60000, true); // depth
    rewriteChecksum(bytes, headerAddress, checksumAt);
    await rejectsWithFormatError(bytes, input, /depth/);
  });
});

describe("fixed and extensible arrays", () => {
  test("a fixed array header with an absurd element count (checksum made valid)", TIMEOUT, async () => {
    const input = await inputOf("latest.h5", "/fa_100k");
    const bytes = bytesOf("latest.h5");
    assert.ok(input.layout.index.address !== undefined);
    const at = input.layout.index.address;
    const checksumAt = checksumOffset(bytes, at, 64);
    writeU64(bytes, at + 8, 2 ** 45); // number of elements
    rewriteChecksum(bytes, at, checksumAt);
    await rejectsWithFormatError(bytes, input, /elements/);
  });

  test("a fixed array data block page with a flipped byte", TIMEOUT, async () => {
    const input = await inputOf("latest.h5", "/fa_paged_gap");
    const bytes = bytesOf("latest.h5");
    assert.ok(input.layout.index.address !== undefined);
    const dataBlock = Number(new DataView(bytes.buffer).getBigUint64(input.layout.index.address + 16, true));
    // Prefix: signature, version, client, header address, 1-byte page bitmap (3 pages), checksum.
    bytes[dataBlock + 4 + 1 + 1 + 8 + 1 + 4 + 3]! ^= 0x10;
    await rejectsWithFormatError(bytes, input, /checksum/);
  });

  test("an extensible array whose index block has a bad signature", TIMEOUT, async () => {
    const input = await inputOf("latest.h5", "/ea_filtered");
    const bytes = bytesOf("latest.h5");
    assert.ok(input.layout.index.address !== undefined);
    const at = input.layout.index.address;
    const indexBlock = Number(new DataView(bytes.buffer).getBigUint64(at + 12 + 6 * 8, true));
    bytes[indexBlock + 1] = 0x21;
    await rejectsWithFormatError(bytes, input, /signature/);
  });

  test("an extensible array super block pointing back at itself as a data block", TIMEOUT, async () => {
    const input = await inputOf("latest.h5", "/ea_filtered");
    const bytes = bytesOf("latest.h5");
    assert.ok(input.layout.index.address !== undefined);
    const at = input.layout.index.address;
    const indexBlock = Number(new DataView(bytes.buffer).getBigUint64(at + 12 + 6 * 8, true));
    const ibChecksum = checksumOffset(bytes, indexBlock, 4096);
    // Index block: prefix (6), header address (8), 4 elements, 6 data block addresses, then
    // super block addresses: make the first data block address point at the index block.
    const elementSize = bytes[at + 6]!;
    writeU64(bytes, indexBlock + 14 + 4 * elementSize, indexBlock);
    rewriteChecksum(bytes, indexBlock, ibChecksum);
    await rejectsWithFormatError(bytes, input, /signature/);
  });
});
