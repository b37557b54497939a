import { isFullPrecisionInteger, isIeeeFloat, nonNativeNumberReason } from "../hdf5/messages/datatype.js";
import type { Hdf5Datatype } from "../hdf5/model.js";
import type { PyJsonValue } from "../json/pyJson.js";

/** A Zarr v2 dtype: a numpy type string, or a structured type as Zarr v2's JSON list of `[name, type]` fields. */
export type ZarrDtype = string | ZarrField[];
export type ZarrField = [string, ZarrDtype];

type CompoundType = Extract<Hdf5Datatype, { class: "compound" }>;

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
function complexCompound(datatype: CompoundType): string | undefined {
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
 * A compound as Zarr v2's list of fields, in the member order h5py reads (HDF5's), packed: Zarr v2's
 * list has no offsets, so padding (C struct alignment) and members stored out of order are undone
 * by numcodecs' `astype` filter (`compoundLayoutFilter`), which zarr-python 2 and 3 both apply.
 * Members must be plain numpy types or compounds of them (zarr-python 3 reads nested fields; it
 * refuses array-shaped fields), or `reason` says why not.
 */
function compoundDtype(datatype: CompoundType): { dtype?: ZarrField[]; reason?: string } {
  const fields: ZarrField[] = [];
  const names = new Set<string>();
  const ends = [...datatype.members].sort((a, b) => a.offset - b.offset);
  for (let i = 0; i < ends.length; i++) {
    const member = ends[i]!;
    const next = ends[i + 1];
    if (member.offset + member.type.size > (next?.offset ?? datatype.size)) {
      return { reason: `compound datatype whose member ${JSON.stringify(member.name)} overlaps the next one or the element's end` };
    }
  }
  for (const member of datatype.members) {
    if (member.name === "" || names.has(member.name)) return { reason: `compound datatype with an empty or repeated member name ${JSON.stringify(member.name)}` };
    names.add(member.name);
    const type = member.type;
    const element = type.class === "array" ? type.base : type;
    if (element.class === "vlen-string" || element.class === "vlen-sequence" || element.class === "reference") {
      return { reason: `compound member ${JSON.stringify(member.name)}: datatype class ${element.class} (its values live in the global heap)` };
    }
    // Zarr v2's JSON can give a field a shape, but zarr-python 3 refuses such a dtype (it cannot
    // open the array): such compounds are left out rather than made unreadable.
    if (type.class === "array") return { reason: `compound member ${JSON.stringify(member.name)} is an array (zarr-python 3 cannot read array-shaped fields)` };
    const inner = type.class === "compound" && complexCompound(type) === undefined ? compoundDtype(type) : { dtype: zarrDtype(type) };
    if (inner.dtype === undefined) return { reason: `compound member ${JSON.stringify(member.name)}: ${"reason" in inner && inner.reason ? inner.reason : whyNoZarrDtype(type)}` };
    fields.push([member.name, typeof inner.dtype === "string" ? littleEndian(inner.dtype) : inner.dtype]);
  }
  return { dtype: fields };
}

/** The compound's members stored packed and in member order: what Zarr's field list describes as is. */
function isPackedInOrder(datatype: CompoundType): boolean {
  let at = 0;
  for (const member of datatype.members) {
    if (member.offset !== at) return false;
    if (member.type.class === "compound" && complexCompound(member.type) === undefined && !isPackedInOrder(member.type)) return false;
    at += member.type.size;
  }
  return at === datatype.size;
}

/** numpy's dict form of a dtype (names, formats, offsets, itemsize): JSON that `np.dtype` reads. */
type NumpyDictDtype = { names: string[]; formats: (string | NumpyDictDtype)[]; offsets?: number[]; itemsize?: number };

/** A compound as stored: its members' own types (byte order included) at their offsets. */
function storedDict(datatype: CompoundType): NumpyDictDtype {
  return {
    names: datatype.members.map((m) => m.name),
    formats: datatype.members.map((m) => (m.type.class === "compound" && complexCompound(m.type) === undefined ? storedDict(m.type) : (zarrDtype(m.type) as string))),
    offsets: datatype.members.map((m) => m.offset),
    itemsize: datatype.size,
  };
}

/** A Zarr field list in numpy's dict form (packed: no offsets). */
function packedDict(fields: ZarrField[]): NumpyDictDtype {
  return { names: fields.map(([name]) => name), formats: fields.map(([, type]) => (typeof type === "string" ? type : packedDict(type))) };
}

/** A type string in little-endian order ("|" and "<" types unchanged). */
const littleEndian = (type: string): string => (type.startsWith(">") ? `<${type.slice(1)}` : type);

function hasBigEndianMember(datatype: CompoundType): boolean {
  return datatype.members.some((m) =>
    m.type.class === "compound" && complexCompound(m.type) === undefined ? hasBigEndianMember(m.type) : (zarrDtype(m.type) as string).startsWith(">"),
  );
}

/**
 * The filter that reads a compound as its Zarr dtype where the stored bytes are laid out otherwise:
 * numcodecs' `astype` from the stored layout (numpy's dict form, with offsets) to the packed one,
 * numpy assigning fields by position. Needed for padding (C struct alignment), members stored out
 * of member order, and big-endian members: the Zarr fields are little-endian, because xarray cannot
 * open a structured array whose fields differ in byte order. None where the stored bytes are already
 * the Zarr dtype's.
 */
export function compoundLayoutFilter(datatype: Hdf5Datatype): PyJsonValue | undefined {
  if (datatype.class !== "compound" || complexCompound(datatype) !== undefined || !needsLayoutFilter(datatype)) return undefined;
  const dtype = compoundDtype(datatype).dtype;
  if (dtype === undefined) return undefined;
  return { id: "astype", encode_dtype: storedDict(datatype) as PyJsonValue, decode_dtype: packedDict(dtype) as PyJsonValue };
}

function needsLayoutFilter(datatype: CompoundType): boolean {
  return !isPackedInOrder(datatype) || hasBigEndianMember(datatype);
}

/**
 * A compound element in its Zarr dtype's bytes (members packed in member order, little-endian) from
 * its stored bytes, for fill values; other types' bytes are returned as they are.
 */
export function packElement(datatype: Hdf5Datatype, bytes: Uint8Array): Uint8Array {
  if (datatype.class !== "compound" || complexCompound(datatype) !== undefined || !needsLayoutFilter(datatype)) return bytes;
  return packMembers(datatype, bytes);
}

function packMembers(datatype: CompoundType, bytes: Uint8Array): Uint8Array {
  const parts = datatype.members.map((m) => {
    const stored = bytes.subarray(m.offset, m.offset + m.type.size);
    if (m.type.class === "compound" && complexCompound(m.type) === undefined) return packMembers(m.type, stored);
    const type = zarrDtype(m.type) as string;
    if (!type.startsWith(">")) return stored;
    // Byte-swap each scalar (complex: each of its two parts) into little-endian order.
    const scalar = /^>c/.test(type) ? m.type.size / 2 : m.type.size;
    const swapped = new Uint8Array(stored.length);
    for (let at = 0; at < stored.length; at += scalar) for (let i = 0; i < scalar; i++) swapped[at + i] = stored[at + scalar - 1 - i]!;
    return swapped;
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
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
