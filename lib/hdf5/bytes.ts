/**
 * Reading fields straight out of bytes a structure reader has already bounds-checked (a whole
 * block fetched and checksummed as one, then its records decoded by offset). Reads that advance
 * through a structure field by field use `ByteCursor` instead, which checks every read.
 */

/** Little-endian unsigned integer of 1..8 bytes at `offset` (HDF5's variable-width fields). */
export function readUint(bytes: Uint8Array, offset: number, size: number): number {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < size; i++) {
    v += bytes[offset + i]! * scale;
    scale *= 256;
  }
  return v;
}

/** Little-endian unsigned 32-bit integer at `offset` (checksums, filter masks, chunk sizes). */
export function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

/** A file address of `size` bytes at `offset`, or undefined for HDF5's "undefined address" (all bits set). */
export function readAddress(bytes: Uint8Array, offset: number, size: number): number | undefined {
  for (let i = 0; i < size; i++) {
    if (bytes[offset + i] !== 0xff) return readUint(bytes, offset, size);
  }
  return undefined;
}

/** Block sizes, table widths and element counts the format requires to be powers of two. */
export function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isSafeInteger(n) && 2 ** Math.round(Math.log2(n)) === n;
}
