import type { Hdf5Attribute, Hdf5Dataset, Hdf5Datatype } from "../hdf5/model.js";
import { decodeNumber } from "../model/numeric.js";
import { PyFloat, type PyJsonValue } from "../json/pyJson.js";
import { cleanFixedString } from "./strings.js";
import { numericKind, packElement, zarrDtype } from "./zarrDtype.js";

/** A numeric value (from raw bytes or an attribute) as the Zarr v2 fill_value JSON. */
function numericFill(datatype: Hdf5Datatype, value: number | bigint | boolean): PyJsonValue {
  const numeric = numericKind(datatype);
  if (numeric?.kind === "bool") return Boolean(value);
  if (numeric?.kind === "float") return new PyFloat(Number(value));
  return value as number | bigint;
}

function fillAttribute(dataset: Hdf5Dataset): Hdf5Attribute | undefined {
  const attribute = dataset.attributes.find((a) => a.name === "_FillValue");
  return attribute && attribute.values.length > 0 ? attribute : undefined;
}

/**
 * The bytes of one element that HDF5 returns where nothing was written (a chunk never written,
 * contiguous storage never allocated), as h5py and netCDF-C read them (H5D__chunk_read, H5D__read):
 * the fill value message's value when one is set and the fill time is not "never"; otherwise zeros
 * (the library default fill, or, when HDF5 skips the missing chunk and leaves the caller's buffer
 * alone, the zeroed buffer h5py reads into). Which library wrote the file does not matter.
 */
export function missingElementBytes(dataset: Hdf5Dataset): Uint8Array {
  const { fillValue, datatype } = dataset;
  const size = datatype.size;
  const out = new Uint8Array(size);
  if (fillValue.state === "user" && fillValue.writeTime !== "never" && fillValue.value) {
    out.set(fillValue.value.subarray(0, size));
  }
  return out;
}

function missingFill(dataset: Hdf5Dataset): PyJsonValue {
  const { datatype } = dataset;
  const bytes = missingElementBytes(dataset);
  if (datatype.class === "string") return Buffer.from(cleanFixedString(bytes, datatype.padding)).toString("base64");
  const numeric = numericKind(datatype);
  if (numeric) return numericFill(datatype, decodeNumber(bytes, 0, numeric.kind, numeric.size, numeric.littleEndian));
  // Zarr v2's fill_value encodings: [real, imaginary] for complex, the integer for datetime64 and
  // timedelta64, base64 of the element's bytes for raw bytes and structured types.
  const dtype = zarrDtype(datatype);
  if (typeof dtype === "string" && /^[<>]c(8|16)$/.test(dtype)) {
    const half = datatype.size / 2;
    const part = (at: number): PyFloat => new PyFloat(Number(decodeNumber(bytes, at, "float", half, dtype.startsWith("<"))));
    return [part(0), part(half)];
  }
  if (typeof dtype === "string" && /^[<>][Mm]8/.test(dtype)) return decodeNumber(bytes, 0, "int", 8, dtype.startsWith("<")) as number | bigint;
  if (dtype !== undefined) return Buffer.from(packElement(datatype, bytes)).toString("base64");
  return null;
}

/**
 * The `.zarray` fill_value. xarray reads a Zarr fill_value as `_FillValue` and masks every element
 * equal to it, so it is set only where the file itself says so or where values depend on it:
 *  - chunks missing (never written, or storage never allocated): the value HDF5 returns for them
 *    (`missingElementBytes`), so that Zarr reads what h5py and netCDF-C read. kerchunk writes null
 *    for netCDF variables, and Zarr then invents values for the unwritten chunks;
 *  - every chunk stored: the `_FillValue` attribute when present (as kerchunk), fixed strings " "
 *    (as kerchunk), otherwise null. kerchunk writes HDF5's fill value for non-netCDF datasets (0 by
 *    default), and xarray then turns written zeros into NaN.
 */
export function zarrFillValue(dataset: Hdf5Dataset, hasMissingChunks: boolean): PyJsonValue {
  const { datatype } = dataset;
  if (hasMissingChunks) return missingFill(dataset);
  const attribute = fillAttribute(dataset);
  if (attribute) {
    const value = attribute.values[0]!;
    if (datatype.class === "string") {
      const text = typeof value === "string" ? value : "";
      return Buffer.from(text, "latin1").toString("base64");
    }
    if (typeof value === "number" || typeof value === "bigint") return numericFill(datatype, value);
    return null;
  }
  if (datatype.class === "string") {
    const bytes = dataset.fillValue.state === "user" ? dataset.fillValue.value : undefined;
    const text = bytes ? Buffer.from(bytes).toString("latin1").replace(/\0+$/, "") : "";
    return Buffer.from(text || " ", "latin1").toString("base64");
  }
  return null;
}
