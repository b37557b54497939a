import { CombineError } from "../errors.js";
import type { PyJsonValue } from "../json/pyJson.js";
import { readDecodedChunks } from "../model/arrayValues.js";
import type { ReferenceReader } from "../model/chunkBytes.js";
import type { ArrayReferences, ReferenceSet } from "../model/referenceSet.js";
import type { ResolvedCombineOptions } from "./options.js";
import { pyJsonKey } from "../json/pyJsonParse.js";
import { arrayMetadata } from "../model/arrayMetadata.js";
import { arrayDimensions, decodingAttributes, zarrayFields, type ZarrArrayMeta } from "../model/zarrMeta.js";

/**
 * What the combine does with an array:
 *  - "coordinate": the concat dimension's own array, replaced by the combined coordinate;
 *  - "identical": listed in identicalDims, copied from the first input, checked in every input;
 *  - "concatenated": has a concat dimension: its chunks are renumbered from every input;
 *  - "carried": has no concat dimension (a scalar crs, say): copied from the first input as it
 *    is (kerchunk would add the concat dimension to it).
 */
export type ArrayRole = "coordinate" | "identical" | "concatenated" | "carried";

export interface ArrayLayout {
  path: string;
  role: ArrayRole;
  zarray: string;
  zattrs: string | undefined;
  meta: ZarrArrayMeta;
  attrs: Record<string, PyJsonValue>;
  dims: string[] | undefined;
  /** The concat dimensions this array has, and at which axis. */
  concatAxes: { dim: string; axis: number }[];
  /** The reference input's decoded chunks of an identical array (identicalCheck "values"). */
  referenceValues?: Map<string, Uint8Array>;
  /** The reference input's chunk references of an identical array, as JSON per leaf. */
  referenceRefs?: Map<string, string>;
}

/** The arrays of the reference input (the first listed), against which every input is checked. */
export interface ReferenceLayout {
  label: string;
  arrays: Map<string, ArrayLayout>;
}

export async function buildLayout(reference: ReferenceSet, options: ResolvedCombineOptions, reader: ReferenceReader): Promise<ReferenceLayout> {
  const arrays = new Map<string, ArrayLayout>();
  const concatDimsFound = new Set<string>();
  for (const entry of reference.arrays.values()) {
    const array = arrayLayoutOf(entry, reference.label, options);
    if (array.role === "concatenated") for (const { dim } of array.concatAxes) concatDimsFound.add(dim);
    arrays.set(entry.path, array);
  }
  for (const dim of options.concatDims) {
    if (!concatDimsFound.has(dim)) {
      throw new CombineError(
        "no-concat-dimension",
        reference.label,
        undefined,
        `no variable has dimension '${dim}' in _ARRAY_DIMENSIONS, so there is nothing to concatenate along it`,
        "concatDims",
      );
    }
  }
  for (const name of options.identicalDims) {
    const layout = arrays.get(name);
    if (!layout) throw new CombineError("missing-variable", reference.label, name, "listed in identicalDims but not in the input", "identicalDims");
    if (options.identicalCheck === "values") {
      const entry = reference.arrays.get(name)!;
      layout.referenceValues = await readDecodedChunks(entry, layout.meta, reader, reference.label);
      layout.referenceRefs = new Map(entry.chunkKeys.map((key, i) => [key, JSON.stringify(entry.chunkRefs[i])]));
    }
  }
  return { label: reference.label, arrays };
}

function parseArrayMeta(label: string, entry: ArrayReferences): ZarrArrayMeta {
  try {
    return arrayMetadata(entry).zarray;
  } catch (error) {
    throw new CombineError("invalid-metadata", label, entry.path, `.zarray does not parse: ${(error as Error).message}`);
  }
}

const fieldWords: Record<string, string> = {
  dtype: "dtype",
  chunks: "chunking",
  fill_value: "fill value",
  filters: "codecs (filters)",
  compressor: "codecs (compressor)",
  order: "memory order",
  zarr_format: "Zarr format",
};

function show(value: PyJsonValue | undefined): string {
  return pyJsonKey(value).replace(/\bf(-?[\d.e+-]+)/g, "$1");
}

/** One array of a reference set, as the layout keeps it (its role decided by the options). */
export function arrayLayoutOf(entry: ArrayReferences, label: string, options: Pick<ResolvedCombineOptions, "concatDims" | "identicalDims">): ArrayLayout {
  const meta = parseArrayMeta(label, entry);
  const { attributes: attrs, dimensionNames: dims } = arrayMetadata(entry);
  const concatAxes = options.concatDims.flatMap((dim) => {
    const axis = dims?.indexOf(dim) ?? -1;
    return axis >= 0 && axis < meta.shape.length ? [{ dim, axis }] : [];
  });
  let role: ArrayRole;
  if (options.concatDims.includes(entry.path)) role = "coordinate";
  else if (options.identicalDims.includes(entry.path)) role = "identical";
  else if (concatAxes.length > 0) role = "concatenated";
  else role = "carried";
  return { path: entry.path, role, zarray: entry.zarray, zattrs: entry.zattrs, meta, attrs, dims, concatAxes };
}

/**
 * Whether `entry` (an input's array) can be one array with the layout's `array`: the same dtype,
 * chunks, fill value, codecs, order, shape apart from the concat axes, dimensions and decoding
 * attributes (every attribute for an identical array). The one rule of what an aggregate can hold:
 * `checkInput` throws the difference, `compatibleRuns` starts a new aggregate at it. Identical
 * texts (the usual case: files written by the same program) are accepted without parsing.
 */
export function arrayDifference(array: ArrayLayout, entry: ArrayReferences, label: string, against: string): CombineError | undefined {
  if (entry.zarray !== array.zarray) {
    const meta = parseArrayMeta(label, entry);
    for (const field of zarrayFields) {
      if (pyJsonKey(meta[field] as PyJsonValue) !== pyJsonKey(array.meta[field] as PyJsonValue)) {
        return new CombineError(
          `mismatched-${field === "filters" || field === "compressor" ? "codecs" : field === "chunks" ? "chunking" : field === "fill_value" ? "fill-value" : field}`,
          label,
          array.path,
          `${fieldWords[field]} ${show(meta[field] as PyJsonValue)} differs from ${show(array.meta[field] as PyJsonValue)} in ${against}`,
        );
      }
    }
    const concatAxis = new Map(array.concatAxes.map(({ dim, axis }) => [axis, dim]));
    const sameShape = meta.shape.length === array.meta.shape.length && meta.shape.every((n, axis) => concatAxis.has(axis) || n === array.meta.shape[axis]);
    if (!sameShape) {
      return new CombineError(
        "mismatched-shape",
        label,
        array.path,
        `shape [${meta.shape.join(", ")}] differs from [${array.meta.shape.join(", ")}] in ${against}` +
          (array.concatAxes.length > 0 ? ` (only ${array.concatAxes.map((c) => c.dim).join(", ")} may differ)` : ""),
      );
    }
  }
  return entry.zattrs === array.zattrs ? undefined : attributeDifference(array, label, against, arrayMetadata(entry).attributes);
}

/**
 * Check one input against the reference layout; `steps` is the input's number of coordinate values
 * per concat dimension. With `union` (the layout holds every input's arrays), a concatenated array
 * this input lacks is no error: it has no chunks there, so it reads as its fill value.
 */
export function checkInput(layout: ReferenceLayout, input: ReferenceSet, steps: Record<string, number>, union = false): void {
  const against = layout.label;
  for (const array of layout.arrays.values()) {
    if (array.role === "carried" || array.role === "coordinate") continue;
    const entry = input.arrays.get(array.path);
    if (!entry) {
      if (union && array.role === "concatenated") continue;
      throw new CombineError("missing-variable", input.label, array.path, `not in this input but in ${against}`, array.role === "identical" ? "identicalDims" : undefined);
    }
    const difference = arrayDifference(array, entry, input.label, against);
    if (difference) throw difference;
    const shape = entry.zarray === array.zarray ? array.meta.shape : parseArrayMeta(input.label, entry).shape;
    for (const { dim, axis } of array.concatAxes) checkSteps(input.label, array, dim, shape[axis]!, steps[dim]!);
  }
  // Arrays along a concat dimension that the reference lacks would silently vanish.
  for (const entry of input.arrays.values()) {
    if (layout.arrays.has(entry.path)) continue;
    const dims = arrayMetadata(entry).dimensionNames ?? [];
    if (Object.keys(steps).some((dim) => dims.includes(dim))) {
      throw new CombineError("missing-variable", input.label, entry.path, `not in ${against}: every input must have the same variables`);
    }
  }
}

function checkSteps(label: string, array: ArrayLayout, dim: string, length: number, steps: number): void {
  if (length !== steps) {
    throw new CombineError(
      "mismatched-shape",
      label,
      array.path,
      `has ${length} steps along ${dim} but the ${dim} coordinate has ${steps} values`,
      `cooMap.${dim}`,
    );
  }
}

function attributeDifference(array: ArrayLayout, label: string, against: string, attrs: Record<string, PyJsonValue>): CombineError | undefined {
  const dims = arrayDimensions(attrs);
  if (pyJsonKey(dims) !== pyJsonKey(array.dims)) {
    return new CombineError("mismatched-dimensions", label, array.path, `dimensions ${show(dims)} differ from ${show(array.dims)} in ${against}`);
  }
  // Identical arrays must agree in every attribute; concatenated ones in those that change decoding.
  const names = array.role === "identical" ? [...new Set([...Object.keys(attrs), ...Object.keys(array.attrs)])] : decodingAttributes;
  for (const name of names) {
    // _FillValue repeats the .zarray fill_value (compared with the other fields) for Zarr v3
    // readers; references written before we added it lack it, and may be combined with newer ones.
    if (name === "_FillValue" && (attrs[name] === undefined || array.attrs[name] === undefined)) continue;
    if (pyJsonKey(attrs[name]) !== pyJsonKey(array.attrs[name])) {
      const problem = name === "scale_factor" || name === "add_offset" ? "mismatched-packing" : "mismatched-attribute";
      return new CombineError(
        problem,
        label,
        array.path,
        `attribute ${name} = ${show(attrs[name])} differs from ${show(array.attrs[name])} in ${against}` +
          (array.role === "identical" ? "" : ": xarray would decode this file's values with the other file's attribute"),
        array.role === "identical" ? "identicalDims" : undefined,
      );
    }
  }
  return undefined;
}

/** Compare an input's decoded identical arrays with the reference's. */
export async function checkIdenticalValues(layout: ReferenceLayout, input: ReferenceSet, reader: ReferenceReader): Promise<void> {
  for (const array of layout.arrays.values()) {
    if (array.role !== "identical" || !array.referenceValues) continue;
    const entry = input.arrays.get(array.path)!;
    const referenceEntry = array.referenceValues;
    // References to the very same bytes (a combined set's copy, or shared inline data) need no read.
    const sameRefs =
      entry.chunkKeys.length === array.referenceRefs!.size &&
      entry.chunkKeys.every((key, i) => array.referenceRefs!.get(key) === JSON.stringify(entry.chunkRefs[i]));
    if (sameRefs) continue;
    const values = await readDecodedChunks(entry, array.meta, reader, input.label);
    const leaves = new Set([...values.keys(), ...referenceEntry.keys()]);
    for (const leaf of leaves) {
      const a = values.get(leaf);
      const b = referenceEntry.get(leaf);
      if (!a || !b || Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) !== 0) {
        throw new CombineError(
          "mismatched-identical",
          input.label,
          array.path,
          `values of chunk ${leaf} differ from ${layout.label}, but ${array.path} is listed in identicalDims`,
          "identicalDims",
        );
      }
    }
  }
}
