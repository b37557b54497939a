/**
 * HDF5's variable-width integers (sizes of offsets and lengths, heap ids: 1 to 8 bytes, little
 * endian) against the values DataView and BigInt read from the same bytes.
 *
 * Run: node --import tsx --test test/hdf5/bytes.test.ts
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { readAddress, readUint } from "../../lib/hdf5/bytes.js";
import { ByteCursor } from "../../lib/hdf5/cursor.js";
import { Hdf5FormatError } from "../../lib/errors.js";

/** The little-endian value of `size` bytes at `offset`, through BigInt (exact at any width). */
function expected(bytes: Uint8Array, offset: number, size: number): number {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[offset + i]!);
  return Number(value);
}

test("readUint reads every width from 1 to 8 bytes as the little-endian value, at any offset", () => {
  // Bytes of every kind: zero runs (small addresses in wide fields), 0xff runs, anything between.
  let seed = 20220113;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const bytes = new Uint8Array(4096);
  for (let i = 0; i < bytes.length; i++) {
    const r = random();
    bytes[i] = r < 0.35 ? 0 : r < 0.5 ? 0xff : Math.floor(random() * 256);
  }
  let checked = 0;
  for (let size = 1; size <= 8; size++) {
    for (let offset = 0; offset + size <= bytes.length; offset += 3) {
      assert.equal(readUint(bytes, offset, size), expected(bytes, offset, size), `${size} bytes at ${offset}`);
      checked++;
    }
  }
  // Edges of each part of the sum: the fourth byte alone, the highest byte alone, 2^53 - 1.
  const view = new DataView(new ArrayBuffer(8));
  for (const value of [0, 1, 0xffffff, 0x1000000, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 40 + 5, 2 ** 53 - 1]) {
    view.setBigUint64(0, BigInt(value), true);
    assert.equal(readUint(new Uint8Array(view.buffer), 0, 8), value);
    checked++;
  }
  assert.ok(checked > 10_000);
});

test("addresses: all bits set is the undefined address; a cursor rejects integers beyond 2^53", () => {
  assert.equal(readAddress(new Uint8Array(8).fill(0xff), 0, 8), undefined);
  assert.equal(readAddress(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), 0, 8), expected(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), 0, 8));
  const beyond = new Uint8Array(8);
  new DataView(beyond.buffer).setBigUint64(0, 2n ** 53n + 2n, true);
  assert.throws(() => new ByteCursor(beyond, 0, "mem://beyond", "test").u64(), Hdf5FormatError);
  const limit = new Uint8Array(8);
  new DataView(limit.buffer).setBigUint64(0, 2n ** 53n - 1n, true);
  assert.equal(new ByteCursor(limit, 0, "mem://limit", "test").u64(), 2 ** 53 - 1);
});
