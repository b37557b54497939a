import type { Hdf5Attribute, Hdf5Dataset, Hdf5Datatype } from "../hdf5/model.js";
import { decodeNumber } from "./numeric.js";
import { PyFloat, type PyJsonValue } from "./pyJson.js";
import { numericKind } from "./zarrDtype.js";

/** netCDF-C's default fill values (netcdf.h NC_FILL_*), by numpy-style kind and size. */
function netcdfDefaultFill(datatype: Hdf5Datatype): PyJsonValue | undefined {
  const numeric = numericKind(datatype);
  if (!numeric || numeric.kind === "bool") return undefined;
  const { kind, size } = numeric;
  if (kind === "float") return new PyFloat(size === 4 ? Math.fround(9.969209968386869e36) : 9.969209968386869e36);
  const table: Record<string, number | bigint> = {
    int1: -127,
    int2: -32767,
    int4: -2147483647,
    int8: -9223372036854775806n,
    uint1: 255,
    uint2: 65535,
    uint4: 4294967295,
    uint8: 18446744073709551614n,
  };
  return table[`${kind}${size}`];
}

/** A numeric value (from raw bytes or an attribute) as the Zarr v2 fill_value JSON. */
function numericFill(datatype: Hdf5Datatype, value: number | bigint | boolean): PyJsonValue {
  const numeric = numericKind(datatype);
  if (numeric?.kind === "bool") return Boolean(value);
  if (numeric?.kind === "float") return new PyFloat(Number(value));
  return value as number | bigint;
}

function rawFill(datatype: Hdf5Datatype, bytes: Uint8Array | undefined): PyJsonValue {
  const numeric = numericKind(datatype);
  if (!numeric) return null;
  if (!bytes || bytes.length < numeric.size) return numericFill(datatype, 0);
  return numericFill(datatype, decodeNumber(bytes, 0, numeric.kind, numeric.size, numeric.littleEndian));
}

export const isNetcdfVariable = (dataset: Hdf5Dataset): boolean =>
  dataset.attributes.some((a) => a.name.includes("_Netcdf4"));

function isNetcdfDatetime(dataset: Hdf5Dataset): boolean {
  const units = dataset.attributes.find((a) => a.name === "units")?.values[0];
  return typeof units === "string" && units.includes("since");
}

function fillAttribute(dataset: Hdf5Dataset): Hdf5Attribute | undefined {
  const attribute = dataset.attributes.find((a) => a.name === "_FillValue");
  return attribute && attribute.values.length > 0 ? attribute : undefined;
}

/**
 * The `.zarray` fill_value. xarray reads a Zarr fill_value as `_FillValue` and masks every element
 * equal to it, so it must only be set where the file itself says so or where it is needed:
 *  - the `_FillValue` attribute when present (as kerchunk);
 *  - fixed strings: " " (as kerchunk);
 *  - every chunk stored: null. kerchunk writes HDF5's fill value for non-netCDF datasets (0 by
 *    default), and xarray then turns written zeros into NaN;
 *  - chunks missing: the value HDF5 returns for them (the dataset's fill value, which netCDF-C
 *    sets to netCDF's default fill, or that default when unset). kerchunk writes null for netCDF
 *    variables, and Zarr then invents values for the unwritten chunks.
 */
export function zarrFillValue(dataset: Hdf5Dataset, hasMissingChunks: boolean): PyJsonValue {
  const { datatype } = dataset;
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
  if (!hasMissingChunks) return null;
  if (datatype.class === "compound" || datatype.class === "opaque") return null;
  if (dataset.fillValue.state === "user") return rawFill(datatype, dataset.fillValue.value);
  if (isNetcdfVariable(dataset) || isNetcdfDatetime(dataset)) return netcdfDefaultFill(datatype) ?? null;
  return rawFill(datatype, undefined);
}
