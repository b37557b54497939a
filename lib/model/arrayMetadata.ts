/**
 * An array's metadata parsed once, typed: what its `.zarray` and `.zattrs` texts say (shape,
 * chunks, dtype, fill value, codecs, attributes, dimension names). The texts stay in the reference
 * set as they were read, so a writer of kerchunk JSON copies them byte for byte; every consumer that
 * needs the values (the combine's layout, coordinate reads, the Zarr v3 form of the Icechunk
 * writer) asks here and gets the same parse, made once per array.
 */
import type { PyJsonValue } from "../json/pyJson.js";
import type { ArrayReferences } from "./referenceSet.js";
import { arrayDimensions, decodePipeline, numericDtype, parseZarray, parseZattrs, type NumericDtype, type ZarrArrayMeta, type ZarrDtype } from "./zarrMeta.js";

export interface ArrayMetadata {
  /** The `.zarray` as Python reads it (floats stay floats), for writers that spell it again. */
  zarray: ZarrArrayMeta;
  shape: readonly number[];
  chunks: readonly number[];
  dtype: ZarrDtype;
  /** How an element is read, for numeric dtypes. */
  numeric: NumericDtype | undefined;
  fillValue: PyJsonValue;
  /** The numcodecs configurations that decode a chunk: filters, then the compressor. */
  codecs: PyJsonValue[];
  /** `.zattrs` (empty when absent), `_ARRAY_DIMENSIONS` included. */
  attributes: Record<string, PyJsonValue>;
  /** `_ARRAY_DIMENSIONS`, when the array has them. */
  dimensionNames: string[] | undefined;
}

/** Each part parsed when first asked for: the combine checks most inputs' `.zarray` and few `.zattrs`. */
class ParsedArray implements ArrayMetadata {
  private parsedZarray: ZarrArrayMeta | undefined;
  private parsedAttributes: Record<string, PyJsonValue> | undefined;
  private parsedCodecs: PyJsonValue[] | undefined;

  constructor(private readonly array: ArrayReferences) {}

  get zarray(): ZarrArrayMeta {
    return (this.parsedZarray ??= parseZarray(this.array.zarray));
  }
  get shape(): readonly number[] {
    return this.zarray.shape;
  }
  get chunks(): readonly number[] {
    return this.zarray.chunks;
  }
  get dtype(): ZarrDtype {
    return this.zarray.dtype;
  }
  get numeric(): NumericDtype | undefined {
    return numericDtype(this.zarray.dtype);
  }
  get fillValue(): PyJsonValue {
    return this.zarray.fill_value;
  }
  get codecs(): PyJsonValue[] {
    return (this.parsedCodecs ??= decodePipeline(this.zarray));
  }
  get attributes(): Record<string, PyJsonValue> {
    return (this.parsedAttributes ??= parseZattrs(this.array.zattrs));
  }
  get dimensionNames(): string[] | undefined {
    return arrayDimensions(this.attributes);
  }
}

const parsed = new WeakMap<ArrayReferences, ArrayMetadata>();

/**
 * The array's parsed metadata, one per array (read-only: consumers share it). A `.zarray` that does
 * not parse throws a SyntaxError when first read; callers name the input.
 */
export function arrayMetadata(array: ArrayReferences): ArrayMetadata {
  let metadata = parsed.get(array);
  if (!metadata) {
    metadata = new ParsedArray(array);
    parsed.set(array, metadata);
  }
  return metadata;
}
