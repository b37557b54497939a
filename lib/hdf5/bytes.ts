/**
 * Reading fields straight out of bytes a structure reader has already bounds-checked (a whole
 * block fetched and checksummed as one, then its records decoded by offset). Reads that advance
 * through a structure field by field use `ByteCursor` instead, which checks every read.
 */

/**
 * Little-endian unsigned integer of 1..8 bytes at `offset` (HDF5's variable-width fields). The
 * bytes above the fourth are added only when set: multiplying by a scale of 2^32 or more makes a
 * heap number of even a small address in V8's interpreter (a small integer once optimized), and
 * the objects holding addresses then change field representation and deoptimize their readers.
 */
export function readUint(bytes: Uint8Array, offset: number, size: number): number {
  let low = 0;
  const lowBytes = size < 4 ? size : 3;
  for (let i = lowBytes - 1; i >= 0; i--) low = (low << 8) | bytes[offset + i]!;
  if (size <= 3) return low;
  // Bytes 3.. (up to 5 of them) as a multiple of 2^24: exact in a double up to 2^53 and beyond.
  let high = 0;
  for (let i = size - 1; i >= 3; i--) high = high * 256 + bytes[offset + i]!;
  return high === 0 ? low : high * 16777216 + low;
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
