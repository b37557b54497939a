import { Hdf5FormatError, UnsupportedFeatureError } from "../errors.js";
import type { Hdf5Context } from "./context.js";
import { ByteCursor } from "./cursor.js";
import { denseStorage } from "./denseStorage.js";
import type { GlobalHeapCache } from "./globalHeap.js";
import { compareNames } from "./links.js";
import { parseAttributeMessage, type RawAttribute } from "./messages/attribute.js";
import { parseAttributeInfo } from "./messages/attributeInfo.js";
import { decodeFloatValue } from "./floatValue.js";
import { decodeInteger, isFullPrecisionInteger, isIeeeFloat, parseDatatype } from "./messages/datatype.js";
import { elementCount, parseDataspace } from "./messages/dataspace.js";
import { parseSharedMessage, type SharedMessageLocation } from "./messages/shared.js";
import type { AttributeElement, Hdf5Attribute, Hdf5Dataspace, Hdf5Datatype, SkippedPart, StringPadding } from "./model.js";
import { bodyCursor, MessageFlag, MessageType, type ObjectHeader } from "./objectHeader.js";
import { product } from "../shape.js";
import { all, both, done, later, map, runParse, type Parse } from "./parse.js";

/** What attribute reading needs from the file: its context, global heap, shared message lookup. */
export interface AttributeServices {
  readonly context: Hdf5Context;
  readonly globalHeap: GlobalHeapCache;
  /** The body of a shared message (in another header or the SOHM heap) of the given type. */
  sharedBody(location: SharedMessageLocation, type: number, where: string): Parse<ByteCursor>;
}

/** An object's attributes, and those left out because they use something we do not decode. */
export interface ObjectAttributes {
  attributes: Hdf5Attribute[];
  skipped: SkippedPart[];
}

interface OrderedRaw {
  raw: RawAttribute;
  creationOrder: number | undefined;
}

/**
 * All attributes of an object: compact attribute messages in the header (format spec IV.A.2.m)
 * plus dense ones in the fractal heap named by the attribute info message (IV.A.2.v), indexed by
 * the name v2 B-tree (record type 8: 8-byte heap id, flags, creation order, name hash). A message
 * with the "shared" flag is a pointer to the attribute's body in the SOHM heap (or another
 * header). Ordered as h5py iterates them: by creation order when the header tracks it, else by
 * name. An attribute whose datatype or values we do not decode is left out and listed in `skipped`;
 * damage anywhere is still an Hdf5FormatError.
 */
export function readAttributes(services: AttributeServices, header: ObjectHeader): Promise<ObjectAttributes> {
  return runParse(attributes(services, header));
}

/** `readAttributes` as a parse (`parse.ts`): at once when nothing it needs is to be read. */
export function* attributes(services: AttributeServices, header: ObjectHeader): Parse<ObjectAttributes> {
  const ctx = services.context;
  const where = `object at ${header.address}`;
  // Compact attributes are parsed at once; only shared ones (a body elsewhere) wait for a read.
  const found: Parse<OrderedRaw>[] = [];
  for (const m of header.messages) {
    if (m.type !== MessageType.ATTRIBUTE) continue;
    if (m.flags & MessageFlag.SHARED) {
      const location = parseSharedMessage(ctx, bodyCursor(m));
      found.push(
        map(services.sharedBody(location, MessageType.ATTRIBUTE, `shared attribute of ${where}`), (body) => ({
          raw: parseAttributeMessage(ctx, body),
          creationOrder: m.creationOrder,
        })),
      );
    } else {
      found.push(done({ raw: parseAttributeMessage(ctx, bodyCursor(m)), creationOrder: m.creationOrder }));
    }
  }
  const ordered = yield* all(found);
  for (const m of header.messages) {
    if (m.type !== MessageType.ATTRIBUTE_INFO) continue;
    const info = parseAttributeInfo(ctx, bodyCursor(m));
    if (info.fractalHeapAddress === undefined) continue;
    if (info.nameIndexAddress === undefined) {
      throw new Hdf5FormatError(ctx.url, "attribute info message", "dense attributes without a name index", header.address);
    }
    ordered.push(...(yield* denseAttributes(services, info.fractalHeapAddress, info.nameIndexAddress)));
  }
  if (header.attributeCreationOrderTracked && ordered.every((f) => f.creationOrder !== undefined)) {
    ordered.sort((a, b) => a.creationOrder! - b.creationOrder!);
  } else {
    ordered.sort((a, b) => compareNames(a.raw.name, b.raw.name));
  }
  // Each attribute decoded at once when its parts are at hand (no shared datatype or dataspace,
  // its global heap collections read); the others wait for their reads, side by side.
  const resolved = yield* all(ordered.map(({ raw }) => orSkipped(raw, resolveAttribute(services, raw))));
  const decoded: Hdf5Attribute[] = [];
  const skipped: SkippedPart[] = [];
  for (const r of resolved) {
    if ("reason" in r) skipped.push(r);
    else decoded.push(r);
  }
  return { attributes: decoded, skipped };
}

function* denseAttributes(services: AttributeServices, heapAddress: number, nameIndexAddress: number): Parse<OrderedRaw[]> {
  const ctx = services.context;
  const { heap, records } = yield* denseStorage(ctx, heapAddress, nameIndexAddress, { btreeType: 8, name: "dense attribute name index" });
  const creationOrders: number[] = [];
  // Bodies at once when their heap block is held; the others wait, side by side.
  const found: Parse<Uint8Array | ByteCursor>[] = [];
  for (const record of records) {
    const c = new ByteCursor(record, nameIndexAddress, ctx.url, "dense attribute record");
    const id = c.take(8);
    const flags = c.u8();
    creationOrders.push(c.u32());
    // A shared attribute's id is its heap id in the SOHM table's heap, not in this object's heap.
    const now = flags & MessageFlag.SHARED ? undefined : heap.objectNow(id);
    if (now !== undefined) {
      found.push(done(now));
      continue;
    }
    found.push(
      flags & MessageFlag.SHARED
        ? services.sharedBody({ kind: "sohm", heapId: id.slice() }, MessageType.ATTRIBUTE, `dense attribute in heap ${heapAddress}`)
        : later(() => heap.object(id)),
    );
  }
  const bodies = yield* all(found);
  return bodies.map((body, i) => ({
    raw: parseAttributeMessage(ctx, body instanceof ByteCursor ? body : new ByteCursor(body, heapAddress, ctx.url, "dense attribute message")),
    creationOrder: creationOrders[i],
  }));
}

/** An attribute, or why it is left out when it uses something we do not decode. */
function* orSkipped(raw: RawAttribute, parse: Parse<Hdf5Attribute>): Parse<Hdf5Attribute | SkippedPart> {
  try {
    return yield* parse;
  } catch (error) {
    if (error instanceof UnsupportedFeatureError) return { attribute: raw.name, reason: error.feature };
    throw error;
  }
}

/**
 * An attribute's datatype and dataspace (following shared ones) and its values, decoded again
 * after each global heap collection they need is read.
 */
function* resolveAttribute(services: AttributeServices, raw: RawAttribute): Parse<Hdf5Attribute> {
  const where = `attribute ${raw.name}`;
  if ("unsupported" in raw.datatype) throw new UnsupportedFeatureError(services.context.url, where, raw.datatype.unsupported);
  const [datatype, dataspace] =
    "shared" in raw.datatype || "shared" in raw.dataspace
      ? yield* both(
          "shared" in raw.datatype ? map(services.sharedBody(raw.datatype.shared, MessageType.DATATYPE, where), parseDatatype) : done(raw.datatype),
          "shared" in raw.dataspace ? map(services.sharedBody(raw.dataspace.shared, MessageType.DATASPACE, where), (c) => parseDataspace(services.context, c)) : done(raw.dataspace),
        )
      : [raw.datatype, raw.dataspace];
  for (;;) {
    const values = decodeAttributeValues(services, raw, datatype, dataspace);
    if (!(values instanceof CollectionNeeded)) return { name: raw.name, datatype, dataspace, values };
    yield* later(() => services.globalHeap.collection(values.address));
  }
}

function decodeAttributeValues(services: AttributeServices, raw: RawAttribute, datatype: Hdf5Datatype, dataspace: Hdf5Dataspace): AttributeElement[] | CollectionNeeded {
  const count = elementCount(dataspace);
  const needed = count * datatype.size;
  if (!Number.isSafeInteger(needed) || needed > raw.data.length) {
    throw new Hdf5FormatError(
      services.context.url,
      "attribute message",
      `attribute ${raw.name} needs ${needed} bytes of data but has ${raw.data.length}`,
      raw.dataAddress,
    );
  }
  return decodeElementsNow(services.context, services.globalHeap, datatype, raw.data, count);
}

/**
 * A global heap collection that is not read yet: decoding stops at the first element that needs
 * one, and starts again once it is read (a file's vlen values share one or two collections).
 */
class CollectionNeeded {
  constructor(readonly address: number) {}
}

/**
 * Decode `count` consecutive elements of `type` from `bytes`: integers (bigint beyond 2^53),
 * floats in either byte order, fixed strings with their padding rule, variable-length strings and
 * sequences through the global heap, enums as their base values, compounds as records, arrays as
 * nested arrays, object references as {objectAddress}; or the collection to read first (then
 * decoded again once it is read).
 */
function decodeElementsNow(ctx: Hdf5Context, heap: GlobalHeapCache, type: Hdf5Datatype, bytes: Uint8Array, count: number): AttributeElement[] | CollectionNeeded {
  if (count * type.size > bytes.length) {
    throw new Hdf5FormatError(ctx.url, "data", `${count} elements of ${type.size} bytes do not fit in ${bytes.length} bytes`);
  }
  const out: AttributeElement[] = new Array(count);
  try {
    for (let i = 0; i < count; i++) {
      out[i] = decodeElement(ctx, heap, type, bytes.subarray(i * type.size, (i + 1) * type.size), 0);
    }
  } catch (error) {
    if (error instanceof CollectionNeeded) return error;
    throw error;
  }
  return out;
}

const MAX_DEPTH = 32;

/** One element; throws CollectionNeeded when its values live in a collection not read yet. */
function decodeElement(ctx: Hdf5Context, heap: GlobalHeapCache, type: Hdf5Datatype, bytes: Uint8Array, depth: number): AttributeElement {
  if (depth > MAX_DEPTH) throw new Hdf5FormatError(ctx.url, "data", "values nested too deeply");
  if (bytes.length < type.size) {
    throw new Hdf5FormatError(ctx.url, "data", `${type.class} element of ${type.size} bytes has only ${bytes.length}`);
  }
  switch (type.class) {
    case "fixed":
      if (!isFullPrecisionInteger(type)) return decodePartialInteger(bytes, type);
      return decodeFixed(bytes, type.size, type.order === "<", type.signed);
    case "bitfield":
      return decodeFixed(bytes, type.size, type.order === "<", false);
    case "enum": {
      const base = type.base;
      if (base.class !== "fixed" || base.size > bytes.length) {
        throw new Hdf5FormatError(ctx.url, "enum datatype", `base type ${base.class} of ${base.size} bytes does not fit the enum`);
      }
      return decodeFixed(bytes, base.size, base.order === "<", base.signed);
    }
    case "float": {
      const little = type.order === "<";
      if (isIeeeFloat(type)) {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (type.size === 4) return view.getFloat32(0, little);
        if (type.size === 8) return view.getFloat64(0, little);
        return halfToNumber(view.getUint16(0, little));
      }
      return decodeFloatValue(bytes.subarray(0, type.size), little, type.layout);
    }
    case "complex":
      // JSON (and so .zattrs) has no complex numbers; the caller leaves the attribute out.
      throw new UnsupportedFeatureError(ctx.url, "attribute", "complex number values (HDF5 2.0 complex datatype)");
    case "string":
      return decodeText(bytes, type.padding);
    case "time":
    case "opaque":
      return bytes.slice();
    case "reference": {
      if (type.kind !== "object") return bytes.slice();
      const c = new ByteCursor(bytes, 0, ctx.url, "object reference");
      const address = ctx.addr(c);
      return address === undefined || address === 0 ? null : { objectAddress: address };
    }
    case "compound": {
      const record: { [field: string]: AttributeElement } = {};
      for (const m of type.members) {
        if (m.offset + m.type.size > bytes.length) {
          throw new Hdf5FormatError(ctx.url, "compound datatype", `member ${m.name} lies outside the ${type.size}-byte element`);
        }
      }
      for (const m of type.members) {
        record[m.name] = decodeElement(ctx, heap, m.type, bytes.subarray(m.offset, m.offset + m.type.size), depth + 1);
      }
      return record;
    }
    case "array": {
      const total = product(type.dims);
      if (total * type.base.size > bytes.length) {
        throw new Hdf5FormatError(ctx.url, "array datatype", `${type.dims.join("x")} elements of ${type.base.size} bytes exceed ${bytes.length}`);
      }
      const flat: AttributeElement[] = new Array(total);
      for (let i = 0; i < total; i++) {
        flat[i] = decodeElement(ctx, heap, type.base, bytes.subarray(i * type.base.size, (i + 1) * type.base.size), depth + 1);
      }
      return nest(flat, type.dims);
    }
    case "vlen-string": {
      const data = vlenBytes(ctx, heap, bytes, 1);
      return data === undefined ? "" : decodeText(data, type.padding, true);
    }
    case "vlen-sequence": {
      const c = new ByteCursor(bytes, 0, ctx.url, "variable-length element");
      const length = c.u32();
      const data = vlenBytes(ctx, heap, bytes, type.base.size);
      if (data === undefined) return [];
      const items: AttributeElement[] = new Array(length);
      for (let i = 0; i < length; i++) {
        items[i] = decodeElement(ctx, heap, type.base, data.subarray(i * type.base.size, (i + 1) * type.base.size), depth + 1);
      }
      return items;
    }
  }
}

/**
 * The heap bytes of a vlen element (4-byte count, collection address, object index); throws
 * CollectionNeeded when its collection is not read yet.
 */
function vlenBytes(ctx: Hdf5Context, heap: GlobalHeapCache, bytes: Uint8Array, baseSize: number): Uint8Array | undefined {
  const c = new ByteCursor(bytes, 0, ctx.url, "variable-length element");
  const length = c.u32();
  const collection = ctx.addr(c);
  const index = c.u32();
  if (length === 0 || collection === undefined || collection === 0) return undefined;
  const read = heap.readCollection(collection);
  if (read === undefined) throw new CollectionNeeded(collection);
  const object = read.object(index);
  const needed = length * baseSize;
  if (needed > object.length) {
    throw new Hdf5FormatError(ctx.url, "global heap object", `vlen element needs ${needed} bytes, object ${index} has ${object.length}`, collection);
  }
  return object.subarray(0, needed);
}

function decodeFixed(bytes: Uint8Array, size: number, little: boolean, signed: boolean): number | bigint {
  switch (size) {
    case 1:
      return signed ? (bytes[0]! << 24) >> 24 : bytes[0]!;
    case 2: {
      const u = little ? bytes[0]! | (bytes[1]! << 8) : (bytes[0]! << 8) | bytes[1]!;
      return signed ? (u << 16) >> 16 : u;
    }
    case 4: {
      const i = little ? bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24) : (bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!;
      return signed ? i : i >>> 0;
    }
    default:
      return decodeInteger(bytes.subarray(0, size), little ? "<" : ">", signed);
  }
}

/**
 * An integer that uses `precision` bits at `bitOffset` of its bytes (H5Tset_precision): the value
 * bits, sign-extended when signed, as HDF5 converts it to a native integer.
 */
function decodePartialInteger(bytes: Uint8Array, type: Extract<Hdf5Datatype, { class: "fixed" }>): number | bigint {
  const raw = decodeInteger(bytes.subarray(0, type.size), type.order, false);
  let value = (BigInt(raw) >> BigInt(type.bitOffset)) & ((1n << BigInt(type.precision)) - 1n);
  if (type.signed && type.precision > 0 && value >= 1n << BigInt(type.precision - 1)) value -= 1n << BigInt(type.precision);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
}

const utf8 = new TextDecoder();

/**
 * Fixed-length strings (format spec IV.A.2.d, string padding): null-terminated strings end at
 * the first NUL, null-padded ones lose their trailing NULs, space-padded ones their trailing spaces.
 * Variable-length strings end at the first NUL whatever their padding (as a C string read does).
 */
function decodeText(bytes: Uint8Array, padding: StringPadding, variable = false): string {
  let end = bytes.length;
  if (padding === "nullterm" || variable) {
    const nul = bytes.indexOf(0);
    if (nul >= 0) end = nul;
  } else if (padding === "nullpad") {
    while (end > 0 && bytes[end - 1] === 0) end--;
  }
  if (padding === "spacepad") {
    while (end > 0 && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0)) end--;
  }
  return utf8.decode(bytes.subarray(0, end));
}

function nest(flat: AttributeElement[], dims: number[]): AttributeElement[] {
  if (dims.length <= 1) return flat;
  const [, ...rest] = dims;
  const stride = product(rest);
  const out: AttributeElement[] = [];
  for (let i = 0; i < flat.length; i += stride) out.push(nest(flat.slice(i, i + stride), rest));
  return out;
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x03ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
