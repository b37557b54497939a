import { UnsupportedFeatureError } from "../../errors.js";
import type { ByteCursor } from "../cursor.js";
import type { ByteOrder, CharacterSet, FloatLayout, Hdf5Datatype, StringPadding } from "../model.js";
import { product } from "../../shape.js";

/** One decoder for the module (a new one per call allocates more than the text). */
const utf8 = new TextDecoder();

/** Datatype classes (format spec IV.A.2.d, "Class and Version"). */
export const DatatypeClass = {
  FIXED: 0,
  FLOAT: 1,
  TIME: 2,
  STRING: 3,
  BITFIELD: 4,
  OPAQUE: 5,
  COMPOUND: 6,
  REFERENCE: 7,
  ENUM: 8,
  VLEN: 9,
  ARRAY: 10,
  COMPLEX: 11,
} as const;

/** Nesting deeper than this (compound in array in vlen in ...) is a damaged message. */
const MAX_NESTING = 32;

function padding(c: ByteCursor, code: number): StringPadding {
  if (code === 0) return "nullterm";
  if (code === 1) return "nullpad";
  if (code === 2) return "spacepad";
  return c.fail(`unknown string padding type ${code}`);
}

function charset(c: ByteCursor, code: number): CharacterSet {
  if (code === 0) return "ascii";
  if (code === 1) return "utf8";
  return c.fail(`unknown character set ${code}`);
}

const order = (bits: number): ByteOrder => ((bits & 0x01) !== 0 ? ">" : "<");

/** Bytes needed to encode values up to `size` (H5VM_limit_enc_size: floor(log2(size)/8) + 1). */
function limitEncodedSize(size: number): number {
  if (size <= 0) return 1;
  return Math.floor(Math.floor(Math.log2(size)) / 8) + 1;
}

/** A NUL-terminated name, then padding to a multiple of 8 bytes counted from the name's start. */
function paddedName(c: ByteCursor): string {
  const start = c.pos;
  const name = c.cstring();
  const used = c.pos - start;
  const padded = Math.ceil(used / 8) * 8;
  c.skip(padded - used);
  return name;
}

/**
 * Parse a datatype message 0x0003 (format spec IV.A.2.d) starting at the cursor, advancing past
 * it. Recursive for compound members, enum/array/vlen base types.
 */
export function parseDatatype(c: ByteCursor, depth = 0): Hdf5Datatype {
  if (depth > MAX_NESTING) c.fail(`datatype nesting deeper than ${MAX_NESTING}`);
  const classAndVersion = c.u8();
  const cls = classAndVersion & 0x0f;
  const version = classAndVersion >> 4;
  if (version < 1 || version > 5) c.fail(`unsupported datatype version ${version}`);
  const bits0 = c.u8();
  const bits1 = c.u8();
  const bits2 = c.u8();
  const size = c.u32();
  // Every HDF5 datatype has at least one byte; a zero size would let a damaged dataspace make
  // element loops run without consuming data.
  if (size === 0) c.fail("datatype size is 0");

  switch (cls) {
    case DatatypeClass.FIXED: {
      const bitOffset = c.u16();
      const precision = c.u16();
      return { class: "fixed", size, order: order(bits0), signed: (bits0 & 0x08) !== 0, bitOffset, precision };
    }
    case DatatypeClass.FLOAT:
      return parseFloat(c, size, bits0, bits1);
    case DatatypeClass.TIME: {
      c.skip(2); // bit precision
      return { class: "time", size, order: order(bits0) };
    }
    case DatatypeClass.STRING:
      return { class: "string", size, padding: padding(c, bits0 & 0x0f), charset: charset(c, bits0 >> 4) };
    case DatatypeClass.BITFIELD: {
      c.skip(4); // bit offset, bit precision
      return { class: "bitfield", size, order: order(bits0) };
    }
    case DatatypeClass.OPAQUE: {
      // The tag length (bits 0-7) already includes the NUL padding to a multiple of 8.
      const tagBytes = c.take(bits0);
      const end = tagBytes.indexOf(0);
      const tag = utf8.decode(end < 0 ? tagBytes : tagBytes.subarray(0, end));
      return { class: "opaque", size, tag };
    }
    case DatatypeClass.COMPOUND:
      return parseCompound(c, version, size, bits0 | (bits1 << 8), depth);
    case DatatypeClass.REFERENCE: {
      const type = bits0 & 0x0f;
      // Version 4 revised references (HDF5 1.12+) carry no properties we need; kinds 2..4 are
      // the new opaque H5R_ref_t encodings.
      return { class: "reference", size, kind: type === 0 ? "object" : type === 1 ? "region" : "other" };
    }
    case DatatypeClass.ENUM:
      return parseEnum(c, version, size, bits0 | (bits1 << 8), depth);
    case DatatypeClass.VLEN: {
      const type = bits0 & 0x0f;
      const base = parseDatatype(c, depth + 1);
      if (type === 1) {
        return { class: "vlen-string", size, padding: padding(c, (bits0 >> 4) & 0x0f), charset: charset(c, bits1 & 0x0f) };
      }
      if (type !== 0) c.fail(`unknown variable-length type ${type}`);
      return { class: "vlen-sequence", size, base };
    }
    case DatatypeClass.ARRAY: {
      const rank = c.u8();
      if (version < 3) c.skip(3);
      const dims: number[] = [];
      for (let i = 0; i < rank; i++) dims.push(c.u32());
      if (version < 3) c.skip(4 * rank); // permutation indices
      const base = parseDatatype(c, depth + 1);
      return { class: "array", size, dims, base };
    }
    case DatatypeClass.COMPLEX: {
      // HDF5 2.0: the one property is the base type of both parts, a floating-point datatype.
      const base = parseDatatype(c, depth + 1);
      if (base.class !== "float" || base.size * 2 !== size) {
        c.fail(`complex datatype of ${size} bytes over a ${base.class} of ${base.size} bytes`);
      }
      return { class: "complex", size, base };
    }
    default:
      void bits2;
      return c.fail(`unknown datatype class ${cls}`);
  }
}

/**
 * Floating-point properties (format spec IV.A.2.d): class bits 0 and 6 the byte order (0b01000001
 * is VAX order, which we do not read), bits 4-5 the mantissa normalization, bits 8-15 the sign's
 * location; then bit offset, precision, exponent location and size, mantissa location and size,
 * exponent bias. Every field is checked against the element's size: a layout that does not fit is
 * damage, not a float.
 */
function parseFloat(c: ByteCursor, size: number, bits0: number, bits1: number): Extract<Hdf5Datatype, { class: "float" }> {
  if ((bits0 & 0x40) !== 0) throw new UnsupportedFeatureError(c.url, c.structure, "VAX-order floating point datatype");
  const normalization = (bits0 >> 4) & 0x03;
  if (normalization === 3) c.fail("reserved mantissa normalization 3");
  const layout: FloatLayout = {
    bitOffset: c.u16(),
    precision: c.u16(),
    exponentLocation: c.u8(),
    exponentSize: c.u8(),
    mantissaLocation: c.u8(),
    mantissaSize: c.u8(),
    exponentBias: c.u32(),
    signLocation: bits1,
    normalization: normalization as 0 | 1 | 2,
  };
  const bits = size * 8;
  const fits = (at: number, width: number): boolean => at + width <= bits;
  if (
    layout.precision === 0 ||
    !fits(layout.bitOffset, layout.precision) ||
    !fits(layout.exponentLocation, layout.exponentSize) ||
    !fits(layout.mantissaLocation, layout.mantissaSize) ||
    layout.signLocation >= bits ||
    layout.exponentSize === 0 ||
    layout.exponentSize > 32
  ) {
    c.fail(`floating-point layout does not fit in ${size} bytes: ${JSON.stringify(layout)}`);
  }
  return { class: "float", size, order: order(bits0), layout };
}

/** The IEEE 754 binary formats numpy and Zarr know, by element size. */
const IEEE_LAYOUTS: Record<number, Omit<FloatLayout, "normalization" | "bitOffset">> = {
  2: { precision: 16, signLocation: 15, exponentLocation: 10, exponentSize: 5, mantissaLocation: 0, mantissaSize: 10, exponentBias: 15 },
  4: { precision: 32, signLocation: 31, exponentLocation: 23, exponentSize: 8, mantissaLocation: 0, mantissaSize: 23, exponentBias: 127 },
  8: { precision: 64, signLocation: 63, exponentLocation: 52, exponentSize: 11, mantissaLocation: 0, mantissaSize: 52, exponentBias: 1023 },
};

/**
 * True when a float datatype is IEEE binary16/32/64 (what numpy's f2/f4/f8 read). bfloat16, x87
 * 80-bit extended precision, FP8 and custom layouts are not, whatever their size.
 */
export function isIeeeFloat(type: Extract<Hdf5Datatype, { class: "float" }>): boolean {
  const ieee = IEEE_LAYOUTS[type.size];
  const l = type.layout;
  return (
    ieee !== undefined &&
    l.bitOffset === 0 &&
    l.normalization === 2 &&
    l.precision === ieee.precision &&
    l.signLocation === ieee.signLocation &&
    l.exponentLocation === ieee.exponentLocation &&
    l.exponentSize === ieee.exponentSize &&
    l.mantissaLocation === ieee.mantissaLocation &&
    l.mantissaSize === ieee.mantissaSize &&
    l.exponentBias === ieee.exponentBias
  );
}

/** True when an integer uses every bit of its bytes (HDF5 allows fewer, at an offset, with padding). */
export function isFullPrecisionInteger(type: Extract<Hdf5Datatype, { class: "fixed" }>): boolean {
  return type.bitOffset === 0 && type.precision === type.size * 8;
}

/** Why a number type's bytes are not what numpy's same-sized type would read, or undefined if they are. */
export function nonNativeNumberReason(type: Hdf5Datatype): string | undefined {
  if (type.class === "float" && !isIeeeFloat(type)) {
    const l = type.layout;
    return (
      `floating-point layout that is not IEEE 754 (${type.size} bytes: sign bit ${l.signLocation}, ` +
      `${l.exponentSize}-bit exponent at ${l.exponentLocation} with bias ${l.exponentBias}, ` +
      `${l.mantissaSize}-bit mantissa at ${l.mantissaLocation}, precision ${l.precision})`
    );
  }
  if (type.class === "fixed" && !isFullPrecisionInteger(type)) {
    return `${type.precision}-bit integer at bit offset ${type.bitOffset} in ${type.size} bytes`;
  }
  if (type.class === "enum") return nonNativeNumberReason(type.base);
  return undefined;
}

/**
 * Compound properties (format spec IV.A.2.d, "Compound Properties Description"). Version 1 names
 * are padded to 8 bytes and members may carry up to 4 array dimensions; version 2 drops the
 * dimensions; version 3 stops padding names and encodes offsets in as few bytes as the size needs.
 */
function parseCompound(
  c: ByteCursor,
  version: number,
  size: number,
  memberCount: number,
  depth: number,
): Extract<Hdf5Datatype, { class: "compound" }> {
  const members: { name: string; offset: number; type: Hdf5Datatype }[] = [];
  for (let i = 0; i < memberCount; i++) {
    if (c.remaining <= 0) c.fail(`compound declares ${memberCount} members but holds ${i}`);
    const name = version < 3 ? paddedName(c) : c.cstring();
    const offset = version < 3 ? c.u32() : c.uint(limitEncodedSize(size));
    if (version === 1) {
      const rank = c.u8();
      c.skip(3); // reserved
      c.skip(4); // dimension permutation
      c.skip(4); // reserved
      const dims: number[] = [];
      for (let d = 0; d < 4; d++) {
        const dim = c.u32();
        if (d < rank) dims.push(dim);
      }
      const base = parseDatatype(c, depth + 1);
      const type: Hdf5Datatype =
        rank > 0 ? { class: "array", size: base.size * product(dims), dims, base } : base;
      members.push({ name, offset, type });
    } else {
      members.push({ name, offset, type: parseDatatype(c, depth + 1) });
    }
  }
  return { class: "compound", size, members };
}

/** Enumeration properties: base type, member names (padded in v1/v2), then member values. */
function parseEnum(
  c: ByteCursor,
  version: number,
  size: number,
  memberCount: number,
  depth: number,
): Extract<Hdf5Datatype, { class: "enum" }> {
  const base = parseDatatype(c, depth + 1);
  if (base.class !== "fixed") c.fail(`enum base type must be an integer, got ${base.class}`);
  const names: string[] = [];
  for (let i = 0; i < memberCount; i++) {
    if (c.remaining <= 0) c.fail(`enum declares ${memberCount} members but holds ${i}`);
    names.push(version < 3 ? paddedName(c) : c.cstring());
  }
  const members = names.map((name) => ({ name, value: decodeInteger(c.take(base.size), base.order, base.signed) }));
  return { class: "enum", size, base, members };
}

/** An integer of 1..8 bytes in the given order; a bigint when beyond 2^53. */
export function decodeInteger(bytes: Uint8Array, byteOrder: ByteOrder, signed: boolean): number | bigint {
  const n = bytes.length;
  if (n === 0) return 0;
  let value = 0n;
  for (let i = 0; i < n; i++) {
    const b = bytes[byteOrder === "<" ? n - 1 - i : i]!;
    value = (value << 8n) | BigInt(b);
  }
  if (signed && n > 0) {
    const bits = BigInt(n * 8);
    if (value >= 1n << (bits - 1n)) value -= 1n << bits;
  }
  if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(value);
  return value;
}
