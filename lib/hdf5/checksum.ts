import { Hdf5FormatError } from "../errors.js";

/**
 * Bob Jenkins' lookup3 `hashlittle`, byte for byte as HDF5's H5_checksum_lookup3 (H5checksum.c).
 * Every version 2 metadata structure (superblock v2/v3, object header v2, B-tree v2 nodes, fractal
 * heap blocks, fixed and extensible array blocks) ends with this 32-bit checksum of the bytes
 * before it (format spec, II.A "Checksums"). HDF5 reads the key byte-wise, so endianness and
 * alignment of `bytes` do not matter.
 */
export function lookup3(bytes: Uint8Array, initval = 0): number {
  let length = bytes.length;
  // All arithmetic is 32-bit: `| 0` after every add/subtract, `>>> 0` only on the result.
  let a = (0xdeadbeef + length + initval) | 0;
  let b = a;
  let c = a;
  let k = 0;

  while (length > 12) {
    a = (a + (bytes[k]! | (bytes[k + 1]! << 8) | (bytes[k + 2]! << 16) | (bytes[k + 3]! << 24))) | 0;
    b = (b + (bytes[k + 4]! | (bytes[k + 5]! << 8) | (bytes[k + 6]! << 16) | (bytes[k + 7]! << 24))) | 0;
    c = (c + (bytes[k + 8]! | (bytes[k + 9]! << 8) | (bytes[k + 10]! << 16) | (bytes[k + 11]! << 24))) | 0;
    // mix(a, b, c)
    a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0;
    length -= 12;
    k += 12;
  }

  // The last block of 1..12 bytes; the cases fall through exactly as in the C switch.
  if (length === 0) return c >>> 0;
  if (length >= 12) c = (c + (bytes[k + 11]! << 24)) | 0;
  if (length >= 11) c = (c + (bytes[k + 10]! << 16)) | 0;
  if (length >= 10) c = (c + (bytes[k + 9]! << 8)) | 0;
  if (length >= 9) c = (c + bytes[k + 8]!) | 0;
  if (length >= 8) b = (b + (bytes[k + 7]! << 24)) | 0;
  if (length >= 7) b = (b + (bytes[k + 6]! << 16)) | 0;
  if (length >= 6) b = (b + (bytes[k + 5]! << 8)) | 0;
  if (length >= 5) b = (b + bytes[k + 4]!) | 0;
  if (length >= 4) a = (a + (bytes[k + 3]! << 24)) | 0;
  if (length >= 3) a = (a + (bytes[k + 2]! << 16)) | 0;
  if (length >= 2) a = (a + (bytes[k + 1]! << 8)) | 0;
  a = (a + bytes[k]!) | 0;

  // final(a, b, c)
  c ^= b; c = (c - rot(b, 14)) | 0;
  a ^= c; a = (a - rot(c, 11)) | 0;
  b ^= a; b = (b - rot(a, 25)) | 0;
  c ^= b; c = (c - rot(b, 16)) | 0;
  a ^= c; a = (a - rot(c, 4)) | 0;
  b ^= a; b = (b - rot(a, 14)) | 0;
  c ^= b; c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

function rot(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Throw an Hdf5FormatError unless lookup3(bytes) equals the stored checksum. */
export function verifyChecksum(bytes: Uint8Array, expected: number, url: string, structure: string, address: number): void {
  const actual = lookup3(bytes);
  if (actual !== expected >>> 0) {
    throw new Hdf5FormatError(
      url,
      structure,
      `checksum mismatch: stored 0x${(expected >>> 0).toString(16).padStart(8, "0")}, computed 0x${actual.toString(16).padStart(8, "0")}`,
      address,
    );
  }
}
