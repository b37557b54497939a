import { PyFloat, type PyJsonValue } from "../json/pyJson.js";
import { decodeNumber, encodeNumber } from "./numeric.js";
import { parsePyJson } from "../json/pyJsonParse.js";

/**
 * A Zarr v2 dtype: a numpy type string ("<i2", "|S8"), or a structured type's fields as
 * [name, dtype] or [name, dtype, shape] lists (HDF5 compounds).
 */
export type ZarrDtype = string | PyJsonValue[];

/** The parts of a Zarr v2 `.zarray` the combine reads or compares. */
export interface ZarrArrayMeta {
  shape: number[];
  chunks: number[];
  dtype: ZarrDtype;
  fill_value: PyJsonValue;
  order: string;
  filters: PyJsonValue[] | null;
  compressor: PyJsonValue;
  dimension_separator?: string;
  zarr_format: number;
}

const nonFiniteSpellings: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

/**
 * `.zarray` as Python would read it (floats stay floats). A float array's fill_value written as
 * Zarr spells non-finite values ("NaN", "Infinity", "-Infinity") or as a bare literal (kerchunk's
 * MultiZarrToZarr) reads as the same float.
 */
export function parseZarray(text: string): ZarrArrayMeta {
  const parsed = parsePyJson(text) as unknown as ZarrArrayMeta;
  if (!Array.isArray(parsed.shape) || !Array.isArray(parsed.chunks) || !(typeof parsed.dtype === "string" || structuredDtype(parsed.dtype))) {
    throw new SyntaxError(".zarray without shape, chunks or dtype");
  }
  const fill = parsed.fill_value;
  if (typeof fill === "string" && fill in nonFiniteSpellings && numericDtype(parsed.dtype)?.kind === "float") {
    parsed.fill_value = new PyFloat(nonFiniteSpellings[fill]!);
  }
  return parsed;
}

/** `.zattrs` as Python would read it; an absent `.zattrs` is empty. */
export function parseZattrs(text: string | undefined): Record<string, PyJsonValue> {
  if (text === undefined) return {};
  const parsed = parsePyJson(text);
  return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) && !(parsed instanceof PyFloat)
    ? (parsed as Record<string, PyJsonValue>)
    : {};
}

/** The `.zarray` fields every input of a combined array must agree on (its shape aside). */
export const zarrayFields = ["dtype", "chunks", "fill_value", "filters", "compressor", "order", "zarr_format"] as const;

/**
 * Attributes that change what xarray decodes from the stored values: if they differ between files
 * the combined dataset silently decodes some files wrong (VirtualiZarr #1004 for scale_factor).
 */
export const decodingAttributes = ["scale_factor", "add_offset", "_FillValue", "missing_value", "_Unsigned", "units", "calendar"];

/** `_ARRAY_DIMENSIONS` (xarray's dimension names), or undefined when the array has none. */
export function arrayDimensions(attrs: Record<string, PyJsonValue>): string[] | undefined {
  const dims = attrs._ARRAY_DIMENSIONS;
  return Array.isArray(dims) && dims.every((d) => typeof d === "string") ? (dims as string[]) : undefined;
}

/** How one element of a numeric Zarr dtype is read. */
export interface NumericDtype {
  kind: "int" | "uint" | "float" | "bool";
  size: number;
  littleEndian: boolean;
}

/** A structured dtype: a non-empty list of [name, dtype] or [name, dtype, shape] fields. */
function structuredDtype(dtype: unknown): dtype is PyJsonValue[] {
  return (
    Array.isArray(dtype) &&
    dtype.length > 0 &&
    dtype.every((f) => Array.isArray(f) && (f.length === 2 || f.length === 3) && typeof f[0] === "string" && (typeof f[1] === "string" || structuredDtype(f[1])))
  );
}

/** Numeric dtypes ("<i4", ">f8", "|u1", "|b1"); undefined for structured types, strings, datetimes and the rest. */
export function numericDtype(dtype: ZarrDtype): NumericDtype | undefined {
  if (typeof dtype !== "string") return undefined;
  const match = /^([<>|])([iufb])(\d+)$/.exec(dtype);
  if (!match) return undefined;
  const kinds = { i: "int", u: "uint", f: "float", b: "bool" } as const;
  return { kind: kinds[match[2] as keyof typeof kinds], size: Number(match[3]), littleEndian: match[1] !== ">" };
}

/** The numcodecs list that decodes a chunk: filters, then the compressor (applied first). */
export function decodePipeline(meta: ZarrArrayMeta): PyJsonValue[] {
  return [...(meta.filters ?? []), ...(meta.compressor ? [meta.compressor] : [])];
}

/** Read `count` numbers of `dtype` from decoded chunk bytes. */
export function readNumbers(bytes: Uint8Array, dtype: NumericDtype, count: number): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const value = decodeNumber(bytes, i * dtype.size, dtype.kind, dtype.size, dtype.littleEndian);
    out[i] = typeof value === "bigint" ? Number(value) : Number(value);
  }
  return out;
}

/** Encode numbers as raw bytes of a numeric dtype (integers must already fit). */
export function writeNumbers(values: number[], dtype: NumericDtype): Uint8Array {
  const out = new Uint8Array(values.length * dtype.size);
  values.forEach((value, i) => encodeNumber(out, i * dtype.size, value, dtype.kind, dtype.size, dtype.littleEndian));
  return out;
}

/** Whether `value` is exactly representable in an integer dtype. */
export function fitsInteger(value: number, dtype: NumericDtype): boolean {
  if (!Number.isInteger(value)) return false;
  const bits = dtype.size * 8;
  if (dtype.kind === "uint") return value >= 0 && value <= 2 ** bits - 1;
  return value >= -(2 ** (bits - 1)) && value <= 2 ** (bits - 1) - 1;
}

/** Replace the `"shape":[...]` of a `.zarray` text, leaving every other byte as the input wrote it. */
export function withShape(zarrayText: string, shape: number[]): string {
  const replaced = zarrayText.replace(/"shape"\s*:\s*\[[^\]]*\]/, `"shape":[${shape.join(",")}]`);
  if (replaced === zarrayText && !zarrayText.includes(`"shape":[${shape.join(",")}]`)) {
    throw new SyntaxError(".zarray has no shape to replace");
  }
  return replaced;
}
