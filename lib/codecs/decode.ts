import { inflateSync } from "node:zlib";
import type { PyJsonValue } from "../json/pyJson.js";
import { bloscDecodeRaw } from "./blosc.js";
import { CodecError } from "./codecError.js";
import { lz4h5Decode } from "./lz4h5.js";
import { lzfDecode } from "./lzf.js";

export { CodecError };

/** Undo HDF5/numcodecs byte shuffle; trailing bytes that do not fill an element stay in place. */
export function unshuffle(bytes: Uint8Array, elementSize: number): Uint8Array {
  if (elementSize <= 1) return bytes;
  const count = Math.floor(bytes.length / elementSize);
  const out = new Uint8Array(bytes.length);
  for (let byte = 0; byte < elementSize; byte++) {
    const plane = byte * count;
    for (let i = 0; i < count; i++) out[i * elementSize + byte] = bytes[plane + i]!;
  }
  out.set(bytes.subarray(count * elementSize), count * elementSize);
  return out;
}

/**
 * HDF5's Fletcher-32 (H5_checksum_fletcher32): 16-bit big-endian words, an odd final byte padded,
 * sums folded mod 65535; stored after the data as a little-endian 32-bit value, which is what
 * numcodecs' "fletcher32" codec checks and strips.
 */
export function fletcher32(bytes: Uint8Array): number {
  let sum1 = 0;
  let sum2 = 0;
  const words = bytes.length >> 1;
  let i = 0;
  while (i < words) {
    // Fold at most 360 words between reductions so the sums never overflow 32 bits.
    const block = Math.min(360, words - i);
    for (let j = 0; j < block; j++, i++) {
      sum1 += (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
      sum2 += sum1;
    }
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  if (bytes.length & 1) {
    sum1 += bytes[bytes.length - 1]! << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  return ((sum2 << 16) | sum1) >>> 0;
}

function stripFletcher32(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 4) throw new CodecError("fletcher32", `chunk of ${bytes.length} bytes has no checksum`);
  const data = bytes.subarray(0, bytes.length - 4);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
  const computed = fletcher32(data);
  if (stored !== computed) {
    throw new CodecError("fletcher32", `checksum mismatch (stored ${stored.toString(16)}, computed ${computed.toString(16)})`);
  }
  return data;
}

/** Decode one stored chunk with a Zarr v2 filter list (numcodecs configs, applied in reverse). */
export function decodeChunk(bytes: Uint8Array, filters: PyJsonValue[] | null): Uint8Array {
  let data = bytes;
  for (const config of [...(filters ?? [])].reverse()) {
    const codec = config as { id?: string; elementsize?: number };
    switch (codec.id) {
      case "zlib":
      case "gzip":
        try {
          data = new Uint8Array(inflateSync(data));
        } catch (error) {
          throw new CodecError(codec.id, (error as Error).message);
        }
        break;
      case "shuffle":
        data = unshuffle(data, codec.elementsize ?? 1);
        break;
      case "fletcher32":
        data = stripFletcher32(data);
        break;
      case "imagecodecs_lzf":
        data = lzfDecode(data);
        break;
      case "imagecodecs_lz4h5":
        data = lz4h5Decode(data);
        break;
      case "blosc":
        data = bloscDecodeRaw(data);
        break;
      default:
        throw new CodecError(String(codec.id), "codec not supported by this decoder");
    }
  }
  return data;
}
