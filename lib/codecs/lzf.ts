import { CodecError } from "./codecError.js";

/**
 * LZF (liblzf's format, as h5py's LZF filter writes it: no header). A control byte below 32 is a
 * run of `ctrl + 1` literal bytes; otherwise its top 3 bits are a match length - 2 (7: one more
 * length byte follows) and the low 5 bits with the next byte an offset - 1 back into the output.
 */
export function lzfDecode(input: Uint8Array, expectedLength?: number): Uint8Array {
  let out = new Uint8Array(expectedLength ?? Math.max(64, input.length * 4));
  let op = 0;
  let ip = 0;
  const ensure = (n: number): void => {
    if (op + n <= out.length) return;
    if (expectedLength !== undefined) throw new CodecError("imagecodecs_lzf", `decodes to more than the chunk's ${expectedLength} bytes`);
    // A back-reference (2-3 bytes) yields at most 264 bytes: more output than that is damage.
    if (op + n > 132 * input.length + 64) throw new CodecError("imagecodecs_lzf", `decodes to more than LZF can hold in ${input.length} bytes`);
    const grown = new Uint8Array(Math.max(out.length * 2, op + n));
    grown.set(out.subarray(0, op));
    out = grown;
  };
  while (ip < input.length) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      const n = ctrl + 1;
      if (ip + n > input.length) throw new CodecError("imagecodecs_lzf", "literal run past the end of the input");
      ensure(n);
      out.set(input.subarray(ip, ip + n), op);
      ip += n;
      op += n;
      continue;
    }
    let length = ctrl >> 5;
    if (length === 7) {
      if (ip >= input.length) throw new CodecError("imagecodecs_lzf", "truncated match length");
      length += input[ip++]!;
    }
    if (ip >= input.length) throw new CodecError("imagecodecs_lzf", "truncated match offset");
    const from = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
    if (from < 0) throw new CodecError("imagecodecs_lzf", "match before the start of the output");
    length += 2;
    ensure(length);
    for (let i = 0; i < length; i++) out[op + i] = out[from + i]!;
    op += length;
  }
  if (expectedLength !== undefined && op !== expectedLength) throw new CodecError("imagecodecs_lzf", `decoded ${op} bytes, expected ${expectedLength}`);
  return out.subarray(0, op);
}

/**
 * LZF of literal runs only: valid LZF that every decoder reads, 1 byte longer per 32. Used for the
 * few chunks we re-encode (never smaller than 1/8 of its output, which imagecodecs needs).
 */
export function lzfEncodeLiterals(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length + Math.ceil(input.length / 32));
  let op = 0;
  for (let ip = 0; ip < input.length; ip += 32) {
    const n = Math.min(32, input.length - ip);
    out[op++] = n - 1;
    out.set(input.subarray(ip, ip + n), op);
    op += n;
  }
  return out.subarray(0, op);
}
