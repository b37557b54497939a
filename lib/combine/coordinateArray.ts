import { CombineError } from "../errors.js";
import { inlineReference } from "../model/chunkBytes.js";
import { pyJson, type PyJsonValue } from "../json/pyJson.js";
import type { CoordinateValue } from "./coordinates.js";
import { arrayMetadata } from "../model/arrayMetadata.js";
import type { ArrayReferences } from "../model/referenceSet.js";
import { fitsInteger, numericDtype, writeNumbers } from "../model/zarrMeta.js";

/** The keys of one combined coordinate array: metadata and its single inline chunk. */
export interface CoordinateArrayKeys {
  zarray: string;
  zattrs: string;
  /** Inline content of chunk "0". */
  chunk: string;
}

/**
 * Write the combined coordinate as one uncompressed inline chunk (a year of hourly int32 times is
 * 35 kB). The dtype, fill value and attributes are the first input's source array's, so the
 * coordinate decodes exactly as each file's did; without a source array (attr:, INDEX, literal
 * selectors) numbers become int64 or float64 and strings fixed-width unicode, as numpy would.
 */
export function coordinateArray(
  dim: string,
  values: CoordinateValue[],
  source: ArrayReferences | undefined,
  firstLabel: string,
): CoordinateArrayKeys {
  const sourceMeta = source ? arrayMetadata(source).zarray : undefined;
  const attrs: Record<string, PyJsonValue> = { _ARRAY_DIMENSIONS: [dim] };
  if (source) for (const [name, value] of Object.entries(arrayMetadata(source).attributes)) if (name !== "_ARRAY_DIMENSIONS") attrs[name] = value;
  // Keep _ARRAY_DIMENSIONS where the source had it (first, as every writer puts it).
  let dtype: string;
  let bytes: Uint8Array;
  let fill: PyJsonValue = null;
  if (values.every((v): v is number => typeof v === "number")) {
    const sourceDtype = sourceMeta ? numericDtype(sourceMeta.dtype) : undefined;
    if (sourceMeta && sourceDtype) {
      dtype = sourceMeta.dtype as string; // numeric, so a type string
      fill = sourceMeta.fill_value;
      if (sourceDtype.kind === "int" || sourceDtype.kind === "uint") {
        const bad = values.find((v) => !fitsInteger(v, sourceDtype));
        if (bad !== undefined) {
          throw new CombineError(
            "unrepresentable-coordinate",
            firstLabel,
            dim,
            `combined value ${bad} does not fit the coordinate's dtype ${dtype} (after re-encoding time units to the first input's)`,
            "timeUnits",
          );
        }
      }
    } else {
      dtype = values.every((v) => Number.isSafeInteger(v)) ? "<i8" : "<f8";
    }
    bytes = writeNumbers(values, numericDtype(dtype)!);
  } else {
    const texts = values.map(String);
    const width = Math.max(1, ...texts.map((t) => [...t].length));
    dtype = `<U${width}`;
    bytes = new Uint8Array(values.length * width * 4);
    const view = new DataView(bytes.buffer);
    texts.forEach((text, i) => {
      [...text].forEach((char, k) => view.setUint32((i * width + k) * 4, char.codePointAt(0)!, true));
    });
  }
  const zarray = pyJson({
    shape: [values.length],
    chunks: [values.length],
    dtype,
    fill_value: fill,
    order: "C",
    filters: null,
    dimension_separator: ".",
    compressor: null,
    zarr_format: 2,
  });
  return { zarray, zattrs: pyJson(attrs), chunk: inlineReference(bytes) };
}
