import { CodecError, decodeChunk } from "../codecs/decode.js";
import { CombineError } from "../errors.js";
import { PyFloat, type PyJsonValue } from "../refs/pyJson.js";
import type { ReferenceReader } from "./fetch.js";
import type { ArrayEntry, InputIndex } from "./inputIndex.js";
import type { CoordinateSelector } from "./options.js";
import { decodePipeline, numericDtype, parseZarray, parseZattrs, readNumbers, type ZarrArrayMeta } from "./zarrMeta.js";

export type CoordinateValue = number | string;

/** Where an input's coordinate values for one dimension came from. */
export interface InputCoordinate {
  values: CoordinateValue[];
  /** The array the values were read from (data:/cf:), whose dtype and attributes the output keeps. */
  sourceArray?: string;
  /** `units` and `calendar` of that array, for time re-encoding. */
  units?: PyJsonValue;
  calendar?: PyJsonValue;
}

/** Decode and return every chunk of an array as bytes, keyed by chunk leaf ("0", "0.1"). */
export async function readDecodedChunks(
  entry: ArrayEntry,
  meta: ZarrArrayMeta,
  reader: ReferenceReader,
  label: string,
): Promise<Map<string, Uint8Array>> {
  const pipeline = decodePipeline(meta);
  const decoded = await Promise.all(
    entry.chunkKeys.map(async (key, i) => {
      const leaf = key.slice(entry.path.length + 1);
      const stored = await reader.read(entry.chunkRefs[i]!);
      try {
        return [leaf, decodeChunk(stored, pipeline)] as const;
      } catch (error) {
        if (error instanceof CodecError) {
          throw new CombineError("undecodable-chunk", label, entry.path, `chunk ${leaf} does not decode: ${error.message}`);
        }
        throw error;
      }
    }),
  );
  return new Map(decoded);
}

/**
 * The values of a 0-d or 1-d numeric array. A chunk may hold more elements than the array (netCDF-C
 * gives a one-value unlimited `time` a chunk of 1024, kerchunk #394): only the first `shape`
 * elements count, the rest of the chunk is padding.
 */
export async function readArrayNumbers(entry: ArrayEntry, reader: ReferenceReader, label: string, setting: string): Promise<number[]> {
  const meta = parseZarray(entry.zarray);
  const dtype = numericDtype(meta.dtype);
  if (!dtype) throw new CombineError("unsupported-coordinate", label, entry.path, `dtype ${meta.dtype} is not numeric: cannot be a concat coordinate`, setting);
  if (meta.shape.length > 1) {
    throw new CombineError("unsupported-coordinate", label, entry.path, `has ${meta.shape.length} dimensions; a concat coordinate has one`, setting);
  }
  const length = meta.shape.length === 0 ? 1 : meta.shape[0]!;
  const chunk = meta.shape.length === 0 ? 1 : meta.chunks[0]!;
  const decoded = await readDecodedChunks(entry, meta, reader, label);
  const values: number[] = [];
  for (let i = 0; i * chunk < length; i++) {
    const count = Math.min(chunk, length - i * chunk);
    const bytes = decoded.get(String(i));
    if (!bytes) {
      const fill = meta.fill_value instanceof PyFloat ? meta.fill_value.value : meta.fill_value;
      if (typeof fill !== "number") throw new CombineError("missing-coordinate", label, entry.path, `chunk ${i} has no reference and no fill value`, setting);
      for (let k = 0; k < count; k++) values.push(fill);
      continue;
    }
    if (bytes.length < count * dtype.size) {
      throw new CombineError("undecodable-chunk", label, entry.path, `chunk ${i} decodes to ${bytes.length} bytes, fewer than its ${count} values`);
    }
    for (const value of readNumbers(bytes, dtype, count)) values.push(value);
  }
  return values;
}

function attributeValue(value: PyJsonValue | undefined): CoordinateValue[] | undefined {
  const one = (v: PyJsonValue): CoordinateValue | undefined =>
    v instanceof PyFloat ? v.value : typeof v === "number" || typeof v === "string" ? v : typeof v === "bigint" ? Number(v) : undefined;
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    const all = value.map(one);
    return all.every((v) => v !== undefined) ? (all as CoordinateValue[]) : undefined;
  }
  const single = one(value);
  return single === undefined ? undefined : [single];
}

/** Read one input's coordinate values for `dim` as its selector says. */
export async function readCoordinate(
  input: InputIndex,
  inputPosition: number,
  dim: string,
  selector: CoordinateSelector,
  reader: ReferenceReader,
): Promise<InputCoordinate> {
  const setting = `cooMap.${dim}`;
  if (typeof selector === "number") return { values: [selector] };
  if (typeof selector !== "string") {
    const value = selector[inputPosition];
    if (value === undefined) throw new CombineError("missing-coordinate", input.label, dim, `the literal list has no value for input ${inputPosition}`, setting);
    return { values: [value] };
  }
  if (selector === "INDEX") return { values: [inputPosition] };
  if (selector.startsWith("data:") || selector.startsWith("cf:")) {
    const name = selector.slice(selector.indexOf(":") + 1);
    const entry = input.arrays.get(name);
    if (!entry) {
      throw new CombineError("missing-coordinate", input.label, name, `coordinate variable not found (selector '${selector}' for dimension ${dim})`, setting);
    }
    const attrs = parseZattrs(entry.zattrs);
    return { values: await readArrayNumbers(entry, reader, input.label, setting), sourceArray: name, units: attrs.units, calendar: attrs.calendar };
  }
  if (selector.startsWith("attr:")) {
    const name = selector.slice(5);
    const values = attributeValue(parseZattrs(input.groups.get("")?.zattrs)[name]);
    if (!values) throw new CombineError("missing-coordinate", input.label, undefined, `global attribute '${name}' (selector '${selector}') is missing or not a number or string`, setting);
    return { values };
  }
  const [, variable, name] = /^vattr:([^:]+):(.+)$/.exec(selector)!;
  const entry = input.arrays.get(variable!);
  const values = entry ? attributeValue(parseZattrs(entry.zattrs)[name!]) : undefined;
  if (!values) throw new CombineError("missing-coordinate", input.label, variable, `attribute '${name}' (selector '${selector}') is missing or not a number or string`, setting);
  return { values };
}
