import type { Hdf5Datatype } from "../hdf5/model.js";
import { encodeNumber } from "../model/numeric.js";
import { PyFloat, type PyJsonValue } from "../json/pyJson.js";
import { numericKind } from "./zarrDtype.js";

/** One encoder for the module (a new one per call allocates more than the text). */
const utf8Encoder = new TextEncoder();

/** numcodecs VLenUTF8 encoding: item count, then each item as (length, UTF-8 bytes), little-endian. */
export function encodeVlenUtf8(values: string[]): Uint8Array {
  const encoded = values.map((v) => utf8Encoder.encode(v));
  const out = new Uint8Array(4 + encoded.reduce((n, e) => n + 4 + e.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, values.length, true);
  let at = 4;
  for (const item of encoded) {
    view.setUint32(at, item.length, true);
    out.set(item, at + 4);
    at += 4 + item.length;
  }
  return out;
}

/**
 * One element of a numeric type holding `fill` (a `.zarray` fill_value), as raw bytes: the chunk of
 * a 0-d array that was never written, which VirtualiZarr needs (it refuses a 0-d array without a
 * chunk). Undefined for non-numeric types or fill values.
 */
export function fillChunk(datatype: Hdf5Datatype, fill: PyJsonValue): Uint8Array | undefined {
  const numeric = numericKind(datatype);
  const value = fill instanceof PyFloat ? fill.value : fill;
  if (!numeric || (typeof value !== "number" && typeof value !== "bigint" && typeof value !== "boolean")) return undefined;
  if (numeric.kind === "float" && numeric.size !== 4 && numeric.size !== 8) return undefined;
  const bytes = new Uint8Array(numeric.size);
  encodeNumber(bytes, 0, value, numeric.kind, numeric.size, numeric.littleEndian);
  return bytes;
}
