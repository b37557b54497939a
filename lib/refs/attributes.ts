import type { AttributeElement, Hdf5Attribute, Hdf5Datatype } from "../hdf5/model.js";
import { PyFloat, type PyJsonValue } from "../json/pyJson.js";
import { isBoolEnum, numericKind } from "./zarrDtype.js";

/** One decoder for the module (a new one per call allocates more than the text). */
const utf8 = new TextDecoder();

/** Attributes that describe HDF5/netCDF-4 plumbing, not data; kerchunk (after h5netcdf) drops them. */
export const hiddenAttributes = new Set([
  "REFERENCE_LIST",
  "CLASS",
  "DIMENSION_LIST",
  "NAME",
  "_Netcdf4Dimid",
  "_Netcdf4Coordinates",
  "_nc3_strict",
  "_NCProperties",
]);

/** One element as h5py + numpy's tolist() would give it, as a JSON value. */
function elementJson(datatype: Hdf5Datatype, element: AttributeElement): PyJsonValue {
  if (element === null) return null;
  if (typeof element === "string") return element;
  if (typeof element === "bigint") return element;
  if (typeof element === "number") {
    if (datatype.class === "float") return new PyFloat(element);
    if (isBoolEnum(datatype)) return element !== 0;
    return element;
  }
  if (element instanceof Uint8Array) return utf8.decode(element);
  if (Array.isArray(element)) {
    const base = "base" in datatype ? datatype.base : datatype;
    return element.map((e) => elementJson(base, e));
  }
  if ("objectAddress" in element && typeof element.objectAddress === "number") return null;
  // Compound records: kerchunk stores str(numpy record); a JSON object is the faithful equivalent.
  const record: Record<string, PyJsonValue> = {};
  const members = datatype.class === "compound" ? datatype.members : [];
  for (const [name, value] of Object.entries(element as Record<string, AttributeElement>)) {
    const member = members.find((m) => m.name === name);
    record[name] = member ? elementJson(member.type, value) : null;
  }
  return record;
}

/**
 * A numeric `_FillValue` as xarray writes it into Zarr v3 attributes and reads it back from them
 * (`FillValueCoder`): for a float array the little-endian float64 bytes in base64 (so NaN survives
 * strict JSON), for an integer array the number, for a bool array a boolean. Encoded by the array's
 * type, as xarray decodes it by the array's dtype. Undefined where no such encoding exists.
 */
export function fillValueAttribute(arrayType: Hdf5Datatype, value: AttributeElement | undefined): PyJsonValue | undefined {
  const numeric = numericKind(arrayType);
  if (!numeric || (typeof value !== "number" && typeof value !== "bigint")) return undefined;
  if (numeric.kind === "float") {
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleLE(Number(value));
    return bytes.toString("base64");
  }
  if (numeric.kind === "bool") return Number(value) !== 0;
  if (typeof value === "bigint" || Number.isInteger(value)) return value;
  return undefined;
}

/** Row-major elements as nested lists of `shape` (numpy's tolist()); flat for one dimension. */
function nested(elements: PyJsonValue[], shape: readonly number[]): PyJsonValue[] {
  if (shape.length <= 1) return elements;
  const step = elements.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, i) => nested(elements.slice(i * step, (i + 1) * step), shape.slice(1)));
}

/**
 * An attribute's value as kerchunk's `_transfer_attrs` stores it: one-element arrays become
 * scalars, longer ones (nested) lists, empty fixed strings " ", null dataspaces "". Returns undefined for
 * attributes kerchunk leaves out. `arrayType` is the type of the dataset the attribute is on.
 */
export function attributeJson(attribute: Hdf5Attribute, arrayType?: Hdf5Datatype): PyJsonValue | undefined {
  if (hiddenAttributes.has(attribute.name)) return undefined;
  if (attribute.dataspace.kind === "null") return "";
  const { datatype, values } = attribute;
  // A numeric _FillValue is the array's fill_value (kerchunk keeps it only there, which Zarr v2
  // readers take as _FillValue). Zarr v3 readers do not, so once VirtualiZarr or Icechunk turn
  // the references into v3 only this attribute keeps xarray masking like the netCDF does.
  if (attribute.name === "_FillValue" && datatype.class !== "string" && datatype.class !== "vlen-string") {
    return arrayType ? fillValueAttribute(arrayType, values[0]) : undefined;
  }
  const converted = values.map((v) => elementJson(datatype, v));
  let result: PyJsonValue;
  if (attribute.dataspace.kind === "scalar" && datatype.class === "string") {
    // h5py returns bytes for a scalar fixed string; kerchunk decodes it and never stores "".
    result = (converted[0] as string) || " ";
  } else if (converted.length === 1) {
    result = converted[0]!;
  } else {
    result = nested(converted, attribute.dataspace.shape);
  }
  if (result === "DIMENSION_SCALE") return undefined;
  return result;
}

/** The `.zattrs` content for an object's attributes, in file order (`arrayType`: a dataset's type). */
export function transferAttributes(attributes: Hdf5Attribute[], arrayType?: Hdf5Datatype): Record<string, PyJsonValue> {
  const out: Record<string, PyJsonValue> = {};
  for (const attribute of attributes) {
    const value = attributeJson(attribute, arrayType);
    if (value !== undefined) out[attribute.name] = value;
  }
  return out;
}
