import { constants, deflateRawSync, deflateSync } from "node:zlib";
import type { PyJsonValue } from "../json/pyJson.js";
import { bloscEncodeRaw } from "./blosc.js";
import { CodecError } from "./codecError.js";
import { fletcher32 } from "./decode.js";
import { lz4h5EncodeRaw } from "./lz4h5.js";
import { lzfEncodeLiterals } from "./lzf.js";

/** HDF5/numcodecs byte shuffle: byte k of every element together; trailing bytes stay in place. */
export function shuffle(bytes: Uint8Array, elementSize: number): Uint8Array {
  if (elementSize <= 1) return bytes;
  const count = Math.floor(bytes.length / elementSize);
  const out = new Uint8Array(bytes.length);
  for (let byte = 0; byte < elementSize; byte++) {
    const plane = byte * count;
    for (let i = 0; i < count; i++) out[plane + i] = bytes[i * elementSize + byte]!;
  }
  out.set(bytes.subarray(count * elementSize), count * elementSize);
  return out;
}

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; ) {
    // 5552 bytes at most between reductions keeps the sums below 2^32.
    const end = Math.min(bytes.length, i + 5552);
    for (; i < end; i++) {
      a += bytes[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Padding lengths two empty deflate blocks make: 5 bytes (stored) and 6 (fixed Huffman, then stored). */
const STORED_EMPTY = [0x00, 0x00, 0x00, 0xff, 0xff];
const FIXED_THEN_STORED_EMPTY = [0x02, 0x00, 0x00, 0x00, 0xff, 0xff];

/**
 * A zlib stream of `data` whose length is a multiple of `multiple`: the deflate body (sync-flushed,
 * so it ends byte-aligned without a final block), then empty non-final blocks (5 or 6 bytes each:
 * 5a + 6b reaches every length from 20 on), a final empty stored block and the Adler-32. Every
 * zlib decoder reads it as `data`. For a shuffle HDF5 applied after deflate: numcodecs' shuffle
 * reads whole elements only.
 */
export function zlibPadded(data: Uint8Array, level: number, multiple: number): Uint8Array {
  const body = deflateRawSync(data, { level, finishFlush: constants.Z_SYNC_FLUSH });
  const fixed = 2 + body.length + 5 + 4;
  let pad = (multiple - (fixed % multiple)) % multiple;
  while (pad < 20 && ![0, 5, 6, 10, 11, 12, 15, 16, 17, 18].includes(pad)) pad += multiple;
  const blocks: number[] = [];
  let six = 0;
  while ((pad - 6 * six) % 5 !== 0) six++;
  for (let i = 0; i < six; i++) blocks.push(...FIXED_THEN_STORED_EMPTY);
  for (let i = 0; i < (pad - 6 * six) / 5; i++) blocks.push(...STORED_EMPTY);
  const out = new Uint8Array(fixed + pad);
  out.set([0x78, 0x9c]);
  out.set(body, 2);
  out.set(blocks, 2 + body.length);
  out.set([0x01, 0x00, 0x00, 0xff, 0xff], 2 + body.length + pad);
  new DataView(out.buffer).setUint32(out.length - 4, adler32(data), false);
  return out;
}

function appendFletcher32(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 4);
  out.set(bytes);
  new DataView(out.buffer).setUint32(bytes.length, fletcher32(bytes), true);
  return out;
}

/** The Zarr v2 filter ids `encodeChunk` can write. */
export const ENCODABLE_CODECS = new Set(["zlib", "gzip", "shuffle", "fletcher32", "imagecodecs_lzf", "imagecodecs_lz4h5", "blosc"]);

/**
 * Encode one chunk with a Zarr v2 filter list (numcodecs configs, applied in order), so that
 * `decodeChunk` and numcodecs read it back: for chunks whose stored bytes do not match the codecs
 * their array declares (partial edge chunks HDF5 stored unfiltered, chunks whose optional filter
 * failed, strings whose stored bytes are not their values), re-encoded and inlined.
 */
export function encodeChunk(bytes: Uint8Array, filters: PyJsonValue[] | null): Uint8Array {
  let data = bytes;
  const list = filters ?? [];
  list.forEach((config, i) => {
    const codec = config as { id?: string; elementsize?: number; level?: number };
    const next = list[i + 1] as { id?: string; elementsize?: number } | undefined;
    switch (codec.id) {
      case "zlib": {
        const level = Math.min(9, Math.max(0, codec.level ?? 6));
        // A shuffle after deflate (HDF5 allows that order) must be handed whole elements.
        const multiple = next?.id === "shuffle" ? (next.elementsize ?? 1) : 1;
        data = multiple > 1 ? zlibPadded(data, level, multiple) : new Uint8Array(deflateSync(data, { level }));
        break;
      }
      case "shuffle":
        data = shuffle(data, codec.elementsize ?? 1);
        break;
      case "fletcher32":
        data = appendFletcher32(data);
        break;
      case "imagecodecs_lzf":
        data = lzfEncodeLiterals(data);
        break;
      case "imagecodecs_lz4h5":
        data = lz4h5EncodeRaw(data);
        break;
      case "blosc":
        data = bloscEncodeRaw(data, 1);
        break;
      default:
        throw new CodecError(String(codec.id), "codec not supported by this encoder");
    }
  });
  return data;
}
