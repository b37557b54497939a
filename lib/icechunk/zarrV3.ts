/**
 * Our kerchunk references' Zarr v2 metadata (`.zarray`, `.zattrs`) as Zarr v3 `zarr.json`, the form
 * an Icechunk store holds and zarr-python 3 reads. The v2 metadata stays the single source of what
 * a variable is (dtype, fill value, codecs, attributes: `lib/refs` decides them once); this module
 * only spells it in v3:
 *  - dtype → `data_type` (byte order moves into the `bytes` codec);
 *  - `_ARRAY_DIMENSIONS` → `dimension_names`, the other attributes as they are (`_FillValue` is
 *    already in the form xarray reads from v3 attributes: base64 of the float64 for floats);
 *  - filters and compressor → numcodecs' v3 codecs (`numcodecs.shuffle`, `numcodecs.zlib`, ...)
 *    after `bytes`, in the v2 encode order, for the ids a test reads back through zarr-python 3;
 *    any other codec (imagecodecs' ids, `astype`, ...) and any dtype v3 has no name for refuse the
 *    variable with a typed error naming it and the codec: never a store that reads wrong;
 *  - a null fill_value (every chunk stored, no `_FillValue`) → what a netCDF reader reads where a
 *    variable has no data (v3 has no "undefined" fill; a store's chunks can be missing where the
 *    file had them all: the steps before a variable appears): NaN for floats; netCDF's default
 *    fill for integers (NC_FILL_*), which is what netCDF-C returns for never-written data and what
 *    xarray shows reading such a netCDF variable. It is not declared as `_FillValue`: that would
 *    mask (and turn into floats) the written values of every integer variable without one, flags
 *    and the time coordinate included, which xarray reading the files never does.
 */
import { UnsupportedFeatureError } from "../errors.js";
import { parsePyJson, pyJsonKey } from "../json/pyJsonParse.js";
import { arrayMetadata, type ArrayMetadata } from "../model/arrayMetadata.js";
import type { ArrayReferences } from "../model/referenceSet.js";
import { numericDtype, type NumericDtype, type ZarrArrayMeta } from "../model/zarrMeta.js";
import { PyFloat, pyJson, type PyJsonValue } from "../json/pyJson.js";

export type V3DataType = string | { name: string; configuration: { length_bytes: number } };

export interface V3ArrayMetadata {
  zarr_format: 3;
  node_type: "array";
  shape: number[];
  data_type: V3DataType;
  chunk_grid: { name: "regular"; configuration: { chunk_shape: number[] } };
  chunk_key_encoding: { name: "default"; configuration: { separator: "/" } };
  fill_value: PyJsonValue;
  codecs: PyJsonValue[];
  attributes: Record<string, PyJsonValue>;
  dimension_names?: string[];
}

export interface V3GroupMetadata {
  zarr_format: 3;
  node_type: "group";
  attributes: Record<string, PyJsonValue>;
}

/**
 * numcodecs ids whose v3 codec (`numcodecs.<id>`, registered by zarr-python 3) reads the bytes our
 * references point at exactly as the v2 codec does: bytes-to-bytes codecs, kept after `bytes` in
 * the v2 encode order. Each is read back through zarr 3 against h5py in
 * test/icechunkZarrV3.test.ts; an id joins this list only with such a check.
 */
const v3BytesCodecs = new Set(["zlib", "shuffle", "fletcher32", "zstd", "blosc", "bz2"]);

/** Why a v2 codec our references may carry has no place in a v3 store (the rest: `unchecked`). */
function refusal(id: string): string {
  if (id.startsWith("imagecodecs_")) {
    // zarr-python 3 registers no v3 codec under `numcodecs.imagecodecs_*`: the store would not open.
    return "no Zarr v3 codec reads it (imagecodecs registers it for Zarr v2 only; the kerchunk references read it)";
  }
  if (id === "astype") {
    // Our references put it between byte codecs (before imagecodecs' bitshuffle) or over compound
    // layouts; Zarr v3 runs array codecs before `bytes`, so moved there it would decode wrong.
    return "an array-to-array codec in a byte pipeline (Zarr v3 runs array codecs before bytes)";
  }
  return "no Zarr v3 codec checked to read it as numcodecs does";
}

const numericNames: Record<NumericDtype["kind"], string> = { int: "int", uint: "uint", float: "float", bool: "bool" };

function dataType(label: string, path: string, meta: ZarrArrayMeta): { dataType: V3DataType; numeric?: NumericDtype; vlen: boolean } {
  // A structured dtype (a compound's field list, which our references write) has no Zarr v3 name
  // zarr-python 3 reads.
  if (typeof meta.dtype !== "string") throw new UnsupportedFeatureError(label, path, `compound dtype ${pyJson(meta.dtype)} in an Icechunk store`);
  const numeric = numericDtype(meta.dtype);
  if (numeric) {
    const name = numeric.kind === "bool" ? "bool" : `${numericNames[numeric.kind]}${numeric.size * 8}`;
    return { dataType: name, numeric, vlen: false };
  }
  const fixed = /^\|S(\d+)$/.exec(meta.dtype);
  if (fixed) return { dataType: { name: "null_terminated_bytes", configuration: { length_bytes: Number(fixed[1]) } }, vlen: false };
  const unicode = /^[<>|]U(\d+)$/.exec(meta.dtype);
  if (unicode) return { dataType: { name: "fixed_length_utf32", configuration: { length_bytes: 4 * Number(unicode[1]) } }, vlen: false };
  const vlen = meta.dtype === "|O" && (meta.filters ?? []).some((f) => codecId(f) === "vlen-utf8");
  if (vlen) return { dataType: "string", vlen: true };
  throw new UnsupportedFeatureError(label, path, `dtype ${meta.dtype} in an Icechunk store`);
}

function codecId(codec: PyJsonValue): string | undefined {
  return codec && typeof codec === "object" && !Array.isArray(codec) && !(codec instanceof PyFloat) && typeof codec.id === "string" ? codec.id : undefined;
}

/** A numcodecs v2 config ({id, ...}) as its v3 codec ({name: "numcodecs.<id>", configuration}). */
function numcodecsV3(label: string, path: string, codec: PyJsonValue): PyJsonValue {
  const id = codecId(codec);
  if (id === undefined) throw new UnsupportedFeatureError(label, path, `codec ${pyJson(codec)} without an id`);
  if (!v3BytesCodecs.has(id)) throw new UnsupportedFeatureError(label, path, `codec ${id} in an Icechunk store: ${refusal(id)}`);
  const { id: _, ...configuration } = codec as Record<string, PyJsonValue>;
  return { name: `numcodecs.${id}`, configuration };
}

/** netCDF's default fill values (netcdf.h NC_FILL_*) by integer kind and size. */
const netcdfDefaultFill: Record<"int" | "uint", Record<number, number | bigint>> = {
  int: { 1: -127, 2: -32767, 4: -2147483647, 8: -9223372036854775806n },
  uint: { 1: 255, 2: 65535, 4: 4294967295, 8: 18446744073709551614n },
};

/** The v3 fill value of v2 metadata's (see the module comment for a null one). */
function v3FillValue(fill: PyJsonValue, type: Pick<ReturnType<typeof dataType>, "numeric">): PyJsonValue {
  if (fill !== null) return fill;
  const numeric = type.numeric;
  if (numeric?.kind === "bool") return false;
  if (numeric?.kind === "float") return new PyFloat(NaN);
  if (numeric) return netcdfDefaultFill[numeric.kind][numeric.size]!;
  return "";
}

/** `zarr.json` of an array from its v2 metadata; `label` names the input in errors. */
function v3ArrayMetadata(label: string, path: string, metadata: ArrayMetadata): V3ArrayMetadata {
  const meta = metadata.zarray;
  if (meta.order !== "C") throw new UnsupportedFeatureError(label, path, `memory order ${meta.order} in an Icechunk store`);
  const type = dataType(label, path, meta);
  const after: PyJsonValue[] = [];
  (meta.filters ?? []).forEach((filter, position) => {
    // vlen-utf8 is the serializer below; it must be the first thing that encodes.
    if (codecId(filter) === "vlen-utf8") {
      if (position !== 0) throw new UnsupportedFeatureError(label, path, "codec vlen-utf8 after another filter in an Icechunk store");
      return;
    }
    after.push(numcodecsV3(label, path, filter));
  });
  if (meta.compressor) after.push(numcodecsV3(label, path, meta.compressor));
  const multiByte = type.numeric ? type.numeric.size > 1 : type.dataType !== "string" && typeof type.dataType !== "string" && type.dataType.name === "fixed_length_utf32";
  const littleEndian = type.numeric ? type.numeric.littleEndian : !(meta.dtype as string).startsWith(">");
  const serializer: PyJsonValue = type.vlen
    ? { name: "vlen-utf8", configuration: {} }
    : multiByte
      ? { name: "bytes", configuration: { endian: littleEndian ? "little" : "big" } }
      : { name: "bytes" };
  const { _ARRAY_DIMENSIONS: _, ...attributes } = metadata.attributes;
  const dims = metadata.dimensionNames;
  return {
    zarr_format: 3,
    node_type: "array",
    shape: [...meta.shape],
    data_type: type.dataType,
    chunk_grid: { name: "regular", configuration: { chunk_shape: [...meta.chunks] } },
    chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
    fill_value: v3FillValue(meta.fill_value, type),
    codecs: [serializer, ...after],
    attributes,
    ...(dims && dims.length === meta.shape.length && dims.length > 0 ? { dimension_names: dims } : {}),
  };
}

/**
 * Stores written before a missing fill value followed netCDF spelled it as the type's zero, with
 * no `_FillValue`: compared as today's spelling, so such a store goes on in the same era after an
 * upgrade (its arrays keep their `zarr.json`: the steps before a variable appears there still read
 * 0). The one other array spelled so, fill value 0 with no `_FillValue` (never-written chunks of a
 * dataset whose HDF5 fill value is 0, with no attribute: not netCDF's way), compares as one era
 * with an array without a fill value too: its missing chunks read 0 as before.
 */
function withoutLegacyFill(meta: V3ArrayMetadata): V3ArrayMetadata {
  const numeric = numericOfV3(meta);
  const zero = meta.fill_value === 0 || (meta.fill_value instanceof PyFloat && meta.fill_value.value === 0);
  if (!zero || !numeric || numeric.kind === "bool" || meta.attributes._FillValue !== undefined) return meta;
  return { ...meta, fill_value: v3FillValue(null, { numeric }) };
}

/**
 * An array's `zarr.json` spelled as Zarr v2 reference texts (without chunks), so the combine's rule
 * of what one array can hold (`structureDifference`, lib/combine/drift.ts) compares a store's array
 * with a day's: both spelled here, they differ exactly where their `zarr.json` differ (the v3 data
 * type as the dtype, the whole codec pipeline as the filters).
 */
export function v2Spelling(path: string, stored: V3ArrayMetadata): ArrayReferences {
  const meta = withoutLegacyFill(stored);
  const zarray = { zarr_format: 2, shape: meta.shape, chunks: meta.chunk_grid.configuration.chunk_shape, dtype: typeof meta.data_type === "string" ? meta.data_type : pyJson(meta.data_type as unknown as PyJsonValue), fill_value: meta.fill_value, filters: meta.codecs, compressor: null, order: "C" };
  const zattrs = { ...meta.attributes, ...(meta.dimension_names ? { _ARRAY_DIMENSIONS: meta.dimension_names } : {}) };
  return { path, zarray: pyJson(zarray as PyJsonValue), zattrs: pyJson(zattrs), chunkKeys: [], chunkRefs: [] };
}

/** `zarr.json` of an array of the reference model; `label` names its input in errors. */
export function v3ArrayMetadataOf(label: string, array: ArrayReferences): V3ArrayMetadata {
  return v3ArrayMetadata(label, array.path, arrayMetadata(array));
}

export function v3GroupMetadata(attrs: Record<string, PyJsonValue>): V3GroupMetadata {
  return { zarr_format: 3, node_type: "group", attributes: attrs };
}

/** The JSON text stored as `zarr.json` (strict: non-finite floats as "NaN" etc.). */
export function metadataText(meta: V3ArrayMetadata | V3GroupMetadata): string {
  return pyJson(meta as unknown as PyJsonValue);
}

/** A stored `zarr.json` read back with floats kept floats (so comparisons see 1.0 and 1 apart). */
export function parseMetadata(text: string): V3ArrayMetadata | V3GroupMetadata {
  return parsePyJson(text) as unknown as V3ArrayMetadata | V3GroupMetadata;
}

/** A path inside an era's group ("" is the root group: the first era; see eras.ts). */
export const inGroup = (group: string, path: string): string => (group === "" ? path : path === "" ? group : `${group}/${path}`);

/** The key of a chunk in the default v3 encoding: "sst/c/0/1/2"; a 0-d array's only chunk is "crs/c". */
export function chunkKey(path: string, index: readonly number[]): string {
  return [path, "c", ...index.map(String)].filter((p) => p !== "").join("/");
}

/** The element type of a numeric v3 array, for reading and writing the coordinate's raw chunks. */
export function numericOfV3(meta: V3ArrayMetadata): NumericDtype | undefined {
  if (typeof meta.data_type !== "string") return undefined;
  const match = /^(int|uint|float)(8|16|32|64)$/.exec(meta.data_type);
  const bytes = meta.codecs.find((c): c is { name: string; configuration?: { endian?: string } } => typeof c === "object" && c !== null && !Array.isArray(c) && (c as { name?: unknown }).name === "bytes");
  const littleEndian = bytes?.configuration?.endian !== "big";
  if (meta.data_type === "bool") return { kind: "bool", size: 1, littleEndian: true };
  if (!match) return undefined;
  return { kind: match[1] as NumericDtype["kind"], size: Number(match[2]) / 8, littleEndian };
}

/** A canonical text of a metadata value for comparisons (NaN equals NaN, 1.0 differs from 1). */
export const metadataKey = (value: PyJsonValue | undefined): string => pyJsonKey(value);
