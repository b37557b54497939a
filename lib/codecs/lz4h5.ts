import { CodecError } from "./codecError.js";

const ID = "imagecodecs_lz4h5";

/** An LZ4 length: `base` (15 meaning more) plus the bytes that follow while they are 255. */
function extendLength(input: Uint8Array, at: { ip: number }, base: number, what: string): number {
  if (base !== 15) return base;
  let length = base;
  let b: number;
  do {
    if (at.ip >= input.length) throw new CodecError(ID, `truncated ${what} length`);
    b = input[at.ip++]!;
    length += b;
  } while (b === 255);
  return length;
}

/** One LZ4 block (the LZ4 block format: token, literals, 2-byte offset, match) into `out` at `at`. */
function lz4Block(input: Uint8Array, out: Uint8Array, at: number, length: number): void {
  let ip = 0;
  let op = at;
  const end = at + length;
  while (ip < input.length) {
    const token = input[ip++]!;
    const cursor = { ip };
    const literals = extendLength(input, cursor, token >> 4, "literal");
    ip = cursor.ip;
    if (ip + literals > input.length || op + literals > end) throw new CodecError(ID, "literals past the end of the block");
    out.set(input.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    if (ip >= input.length) break; // the last sequence has literals only
    if (ip + 2 > input.length) throw new CodecError(ID, "truncated match offset");
    const offset = input[ip]! | (input[ip + 1]! << 8);
    ip += 2;
    cursor.ip = ip;
    const match = extendLength(input, cursor, token & 15, "match") + 4;
    ip = cursor.ip;
    const from = op - offset;
    if (offset === 0 || from < at || op + match > end) throw new CodecError(ID, "match outside the block");
    for (let i = 0; i < match; i++) out[op + i] = out[from + i]!;
    op += match;
  }
  if (op !== end) throw new CodecError(ID, `block decoded to ${op - at} bytes, expected ${length}`);
}

/**
 * HDF5's LZ4 filter framing (H5Zlz4.c): the total size (8 bytes, big-endian) and block size (4),
 * then per block its compressed size (4) and the LZ4 block, or the raw block when that size equals
 * the block's own size.
 */
export function lz4h5Decode(input: Uint8Array): Uint8Array {
  if (input.length < 12) throw new CodecError(ID, `chunk of ${input.length} bytes has no header`);
  const view = new DataView(input.buffer, input.byteOffset, input.length);
  const total = Number(view.getBigUint64(0, false));
  const blockSize = view.getUint32(8, false);
  // LZ4 expands at most 255:1 (a raw block 1:1): a larger claim is a damaged header, not a bomb to allocate.
  if (total > 256 * input.length || blockSize === 0) throw new CodecError(ID, `implausible header (total ${total}, block ${blockSize}) for ${input.length} bytes`);
  const out = new Uint8Array(total);
  let ip = 12;
  for (let op = 0; op < total; ) {
    const length = Math.min(blockSize, total - op);
    if (ip + 4 > input.length) throw new CodecError(ID, "truncated block header");
    const stored = view.getUint32(ip, false);
    ip += 4;
    if (ip + stored > input.length) throw new CodecError(ID, "block past the end of the chunk");
    const block = input.subarray(ip, ip + stored);
    if (stored === length) out.set(block, op);
    else lz4Block(block, out, op, length);
    ip += stored;
    op += length;
  }
  return out;
}

/** HDF5's LZ4 framing with every block stored raw (one block): for the few chunks we re-encode. */
export function lz4h5EncodeRaw(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + input.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(input.length), false);
  view.setUint32(8, Math.max(1, input.length), false);
  view.setUint32(12, input.length, false);
  out.set(input, 16);
  return input.length === 0 ? out.subarray(0, 12) : out;
}
