import { isFullPrecisionInteger, isIeeeFloat } from "../hdf5/messages/datatype.js";
import type { Hdf5Datatype } from "../hdf5/model.js";

/**
 * The numpy type string h5py gives a dataset, which is what kerchunk writes as the Zarr v2 dtype.
 * Returns undefined for types that have no plain numpy equivalent we translate: among them every
 * number whose bits are not numpy's (a float that is not IEEE binary16/32/64, an integer with
 * padding bits), never a type guessed from the byte size.
 */
export function zarrDtype(datatype: Hdf5Datatype): string | undefined {
  switch (datatype.class) {
    case "fixed":
      if (!isFullPrecisionInteger(datatype) || ![1, 2, 4, 8].includes(datatype.size)) return undefined;
      return `${datatype.size === 1 ? "|" : datatype.order}${datatype.signed ? "i" : "u"}${datatype.size}`;
    case "float":
      if (!isIeeeFloat(datatype)) return undefined;
      return `${datatype.order}f${datatype.size}`;
    case "string":
      return `|S${datatype.size}`;
    case "enum":
      // h5py maps the two-member FALSE/TRUE enum (how it stores numpy bools) to bool.
      if (isBoolEnum(datatype)) return "|b1";
      return zarrDtype(datatype.base);
    case "vlen-string":
      return "|O";
    default:
      return undefined;
  }
}

export function isBoolEnum(datatype: Hdf5Datatype): boolean {
  return (
    datatype.class === "enum" &&
    datatype.size === 1 &&
    datatype.members.length === 2 &&
    datatype.members.some((m) => m.name === "FALSE" && Number(m.value) === 0) &&
    datatype.members.some((m) => m.name === "TRUE" && Number(m.value) === 1)
  );
}

/** The byte order and kind of a numeric datatype (enums resolved to their base). */
export function numericKind(
  datatype: Hdf5Datatype,
): { kind: "int" | "uint" | "float" | "bool"; size: number; littleEndian: boolean } | undefined {
  switch (datatype.class) {
    case "fixed":
      if (zarrDtype(datatype) === undefined) return undefined;
      return { kind: datatype.signed ? "int" : "uint", size: datatype.size, littleEndian: datatype.order === "<" };
    case "float":
      if (!isIeeeFloat(datatype)) return undefined;
      return { kind: "float", size: datatype.size, littleEndian: datatype.order === "<" };
    case "enum":
      if (isBoolEnum(datatype)) return { kind: "bool", size: 1, littleEndian: true };
      return numericKind(datatype.base);
    default:
      return undefined;
  }
}
