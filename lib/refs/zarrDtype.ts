import { isFullPrecisionInteger, isIeeeFloat, nonNativeNumberReason } from "../hdf5/messages/datatype.js";
import type { Hdf5Datatype } from "../hdf5/model.js";

/** A Zarr v2 dtype: a numpy type string, or a structured type as Zarr v2's JSON list of `[name, type]` fields. */
export type ZarrDtype = string | ZarrField[];
export type ZarrField = [string, string];

/** numpy datetime and timedelta units (what h5py writes in an opaque "NUMPY:<M8[unit]" tag). */
const TIME_UNITS = "Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as";

/**
 * The numpy dtype h5py reads an opaque type as: the type named by h5py's own "NUMPY:<dtype>" tag
 * (datetime64, timedelta64, fixed bytes) when its size agrees, else raw bytes `|V<size>`.
 */
function opaqueDtype(size: number, tag: string): string {
  const numpy = /^NUMPY:(.*)$/.exec(tag)?.[1];
  if (numpy !== undefined) {
    if (new RegExp(`^[<>]?[Mm]8\\[(${TIME_UNITS})\\]$`).test(numpy) && size === 8) return numpy.startsWith(">") || numpy.startsWith("<") ? numpy : `<${numpy}`;
    const bytes = /^\|?([SV])(\d+)$/.exec(numpy);
    if (bytes && Number(bytes[2]) === size) return `|${bytes[1]}${size}`;
  }
  return `|V${size}`;
}

/** h5py reads a compound of two same-typed floats named "r" and "i" as complex (h5py's complex_names). */
function complexCompound(datatype: Extract<Hdf5Datatype, { class: "compound" }>): string | undefined {
  const [re, im] = datatype.members;
  if (datatype.members.length !== 2 || re!.name !== "r" || im!.name !== "i") return undefined;
  const a = re!.type;
  const b = im!.type;
  if (a.class !== "float" || b.class !== "float" || !isIeeeFloat(a) || !isIeeeFloat(b)) return undefined;
  if (a.size !== b.size || a.order !== b.order || (a.size !== 4 && a.size !== 8)) return undefined;
  if (re!.offset !== 0 || im!.offset !== a.size || datatype.size !== 2 * a.size) return undefined;
  return `${a.order}c${2 * a.size}`;
}

/**
 * A compound as Zarr v2's list of fields, members in offset order. Zarr v2's list has no offsets:
 * members must follow each other without gaps and fill the element, each a plain numpy type, or
 * `reason` says why not.
 */
function compoundDtype(datatype: Extract<Hdf5Datatype, { class: "compound" }>): { dtype?: ZarrField[]; reason?: string } {
  const members = [...datatype.members].sort((a, b) => a.offset - b.offset);
  const fields: ZarrField[] = [];
  const names = new Set<string>();
  let at = 0;
  for (const member of members) {
    if (member.offset !== at) return { reason: `compound datatype with ${member.offset > at ? "padding" : "overlap"} before member ${JSON.stringify(member.name)} (Zarr v2 fields cannot have offsets)` };
    if (member.name === "" || names.has(member.name)) return { reason: `compound datatype with an empty or repeated member name ${JSON.stringify(member.name)}` };
    names.add(member.name);
    const type = member.type;
    const element = type.class === "array" ? type.base : type;
    if (element.class === "vlen-string" || element.class === "vlen-sequence" || element.class === "reference") {
      return { reason: `compound member ${JSON.stringify(member.name)}: datatype class ${element.class} (its values live in the global heap)` };
    }
    // Zarr v2's JSON can nest compounds and give fields a shape, but zarr-python 3 reads neither
    // (a subarray field comes back as raw bytes): such compounds are left out rather than misread.
    if (type.class === "array" || type.class === "compound") {
      return { reason: `compound member ${JSON.stringify(member.name)} is ${type.class === "array" ? "an array" : "a compound"} (zarr-python 3 cannot read such fields)` };
    }
    const inner = zarrDtype(type);
    if (typeof inner !== "string") return { reason: `compound member ${JSON.stringify(member.name)}: ${whyNoZarrDtype(type)}` };
    fields.push([member.name, inner]);
    at += type.size;
  }
  if (at !== datatype.size) return { reason: `compound datatype with ${datatype.size - at} bytes of padding after its last member (Zarr v2 fields cannot have offsets)` };
  return { dtype: fields };
}

/**
 * The numpy type h5py gives a dataset, which is what kerchunk writes as the Zarr v2 dtype (in
 * Zarr's JSON form). Returns undefined for types that have no numpy equivalent we translate: among
 * them every number whose bits are not numpy's (a float that is not IEEE binary16/32/64, an
 * integer with padding bits), never a type guessed from the byte size; `whyNoZarrDtype` says why.
 */
export function zarrDtype(datatype: Hdf5Datatype): ZarrDtype | undefined {
  switch (datatype.class) {
    case "fixed":
      if (!isFullPrecisionInteger(datatype) || ![1, 2, 4, 8].includes(datatype.size)) return undefined;
      return `${datatype.size === 1 ? "|" : datatype.order}${datatype.signed ? "i" : "u"}${datatype.size}`;
    case "bitfield":
      // h5py reads bitfields as unsigned integers of their size.
      if (![1, 2, 4, 8].includes(datatype.size)) return undefined;
      return `${datatype.size === 1 ? "|" : datatype.order}u${datatype.size}`;
    case "float":
      if (!isIeeeFloat(datatype)) return undefined;
      return `${datatype.order}f${datatype.size}`;
    case "complex": {
      const base = datatype.base;
      if (base.class !== "float" || !isIeeeFloat(base) || (base.size !== 4 && base.size !== 8)) return undefined;
      return `${base.order}c${datatype.size}`;
    }
    case "string":
      return `|S${datatype.size}`;
    case "opaque":
      return opaqueDtype(datatype.size, datatype.tag);
    case "compound":
      return complexCompound(datatype) ?? compoundDtype(datatype).dtype;
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

/** Why `zarrDtype` has no type for `datatype`. */
export function whyNoZarrDtype(datatype: Hdf5Datatype): string {
  if (datatype.class === "compound") return compoundDtype(datatype).reason ?? "compound datatype";
  const reason = nonNativeNumberReason(datatype);
  if (reason) return reason;
  if (datatype.class === "complex") return `complex datatype over ${datatype.base.size}-byte floats (numpy has no such complex type)`;
  return `datatype class ${datatype.class}`;
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
    case "bitfield":
      if (zarrDtype(datatype) === undefined) return undefined;
      return { kind: "uint", size: datatype.size, littleEndian: datatype.order === "<" };
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
