import { CodecError } from "./codecError.js";

const HEADER = 16;
const MEMCPYED = 0x02;

/**
 * A Blosc (version 1 format) frame holding `input` uncompressed ("memcpyed": flags bit 1): what
 * c-blosc itself writes for data it cannot compress, and any Blosc decoder reads. For the few
 * chunks we re-encode (an optional blosc filter HDF5 skipped, an unfiltered edge chunk).
 */
export function bloscEncodeRaw(input: Uint8Array, typesize: number): Uint8Array {
  if (input.length + HEADER > 0x7fffffff) throw new CodecError("blosc", `chunk of ${input.length} bytes is too large for one Blosc frame`);
  const out = new Uint8Array(HEADER + input.length);
  const view = new DataView(out.buffer);
  out[0] = 2; // format version
  out[1] = 1; // compressor format version
  out[2] = MEMCPYED;
  out[3] = Math.min(255, Math.max(1, typesize));
  view.setUint32(4, input.length, true); // uncompressed bytes
  view.setUint32(8, Math.max(1, input.length), true); // block size
  view.setUint32(12, out.length, true); // frame bytes
  out.set(input, HEADER);
  return out;
}

/** Read a Blosc frame this module can: memcpyed ones (compressed frames need c-blosc). */
export function bloscDecodeRaw(input: Uint8Array): Uint8Array {
  if (input.length < HEADER) throw new CodecError("blosc", `frame of ${input.length} bytes has no header`);
  const view = new DataView(input.buffer, input.byteOffset, input.length);
  const nbytes = view.getUint32(4, true);
  if (!(input[2]! & MEMCPYED)) throw new CodecError("blosc", "compressed Blosc frames are not supported by this decoder");
  if (HEADER + nbytes > input.length) throw new CodecError("blosc", "frame shorter than its size");
  return input.slice(HEADER, HEADER + nbytes);
}
