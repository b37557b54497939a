import { deflateSync } from "node:zlib";
import type { PyJsonValue } from "../refs/pyJson.js";
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
  for (const config of filters ?? []) {
    const codec = config as { id?: string; elementsize?: number; level?: number };
    switch (codec.id) {
      case "zlib":
        data = new Uint8Array(deflateSync(data, { level: Math.min(9, Math.max(0, codec.level ?? 6)) }));
        break;
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
  }
  return data;
}
