import type { Hdf5Datatype, StringPadding } from "../hdf5/model.js";

/**
 * Fixed-length strings as h5py reads them (a numpy `S<n>` value, whose trailing NULs numpy drops):
 *  - null-terminated: the bytes before the first NUL; what follows the terminator is not data;
 *  - space-padded: the bytes without their trailing spaces;
 *  - null-padded: the bytes as stored.
 * Returns the element's bytes, NUL-padded to its size again, so that Zarr's `S<n>` reads the same.
 */
export function cleanFixedString(element: Uint8Array, padding: StringPadding): Uint8Array {
  let end = element.length;
  if (padding === "nullterm") {
    const nul = element.indexOf(0);
    if (nul >= 0) end = nul;
  } else if (padding === "spacepad") {
    while (end > 0 && element[end - 1] === 0x20) end--;
  } else {
    return element;
  }
  // Nothing but NULs after the value: already what numpy reads.
  if (element.subarray(end).every((b) => b === 0)) return element;
  const out = new Uint8Array(element.length);
  out.set(element.subarray(0, end));
  return out;
}

/**
 * True when a string type's stored bytes can differ from what h5py reads: null-terminated strings
 * of more than one byte (bytes after the terminator) and space-padded ones (trailing spaces). A
 * one-byte null-terminated string (netCDF's char) is always its own value.
 */
export function stringsNeedCleaning(size: number, padding: StringPadding): boolean {
  return (padding === "nullterm" && size > 1) || padding === "spacepad";
}

/** `data` (whole elements of `size` bytes) cleaned element by element; the same array when nothing changes. */
export function cleanFixedStrings(data: Uint8Array, size: number, padding: StringPadding): Uint8Array {
  let out: Uint8Array | undefined;
  for (let at = 0; at + size <= data.length; at += size) {
    const element = data.subarray(at, at + size);
    const clean = cleanFixedString(element, padding);
    if (clean !== element) {
      out ??= data.slice();
      out.set(clean, at);
    }
  }
  return out ?? data;
}

/** A fixed-length string inside an element (the element itself, or a compound member at any depth). */
export interface StringField {
  offset: number;
  size: number;
  padding: StringPadding;
}

/**
 * The fixed-length strings of a datatype whose stored bytes can differ from what h5py reads: the
 * type itself, or the string members of a compound (nested compounds included).
 */
export function stringFieldsToClean(datatype: Hdf5Datatype, offset = 0): StringField[] {
  if (datatype.class === "string") return stringsNeedCleaning(datatype.size, datatype.padding) ? [{ offset, size: datatype.size, padding: datatype.padding }] : [];
  if (datatype.class === "compound") return datatype.members.flatMap((m) => stringFieldsToClean(m.type, offset + m.offset));
  return [];
}

/** `data` (whole elements of `elementSize` bytes) with every string field cleaned; the same array when nothing changes. */
export function cleanStringFields(data: Uint8Array, elementSize: number, fields: StringField[]): Uint8Array {
  if (fields.length === 1 && fields[0]!.offset === 0 && fields[0]!.size === elementSize) return cleanFixedStrings(data, elementSize, fields[0]!.padding);
  let out: Uint8Array | undefined;
  for (let at = 0; at + elementSize <= data.length; at += elementSize) {
    for (const field of fields) {
      const value = data.subarray(at + field.offset, at + field.offset + field.size);
      const clean = cleanFixedString(value, field.padding);
      if (clean !== value) {
        out ??= data.slice();
        out.set(clean, at + field.offset);
      }
    }
  }
  return out ?? data;
}
