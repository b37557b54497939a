import { Netcdf3FormatError } from "../errors.js";
import type { ByteSource } from "../source/byteSource.js";
import { HeaderCursor, NeedMoreBytes } from "./cursor.js";

/**
 * The netCDF-3 header (netCDF classic format specification, "The Format in Detail"), parsed into
 * plain data. The header is the start of the file, before every variable's data:
 *
 *   header   = magic numrecs dim_list gatt_list var_list
 *   magic    = 'C' 'D' 'F' VERSION            1: classic, 2: 64-bit offset, 5: 64-bit data (CDF-5)
 *   list     = ABSENT | tag nelems [item ...]  ABSENT = two zeros (tag and count)
 *   dim      = name dim_length                 0 = the unlimited (record) dimension
 *   attr     = name nc_type nelems values      values padded to 4 bytes
 *   var      = name nelems [dimid ...] vatt_list nc_type vsize begin
 *
 * Counts, lengths, dimension ids, vsize and numrecs are 4 bytes in CDF-1/2 and 8 in CDF-5; begin is
 * 4 bytes in CDF-1 and 8 in CDF-2/5; names and values are padded to 4 bytes. Everything big-endian.
 */

export type Netcdf3Version = 1 | 2 | 5;

/** The external types (nc_type codes 1..11; 7..11 only in CDF-5). */
export const NC_TYPES = {
  1: { name: "byte", size: 1 },
  2: { name: "char", size: 1 },
  3: { name: "short", size: 2 },
  4: { name: "int", size: 4 },
  5: { name: "float", size: 4 },
  6: { name: "double", size: 8 },
  7: { name: "ubyte", size: 1 },
  8: { name: "ushort", size: 2 },
  9: { name: "uint", size: 4 },
  10: { name: "int64", size: 8 },
  11: { name: "uint64", size: 8 },
} as const;

export type NcTypeCode = keyof typeof NC_TYPES;
export type NcTypeName = (typeof NC_TYPES)[NcTypeCode]["name"];

export interface NcType {
  code: NcTypeCode;
  name: NcTypeName;
  /** Bytes per element. */
  size: number;
}

export interface NcDimension {
  name: string;
  /** The record dimension's length is the number of records. */
  length: number;
  unlimited: boolean;
}

/** Numbers as read (64-bit integers beyond 2^53 as bigint), or the text of a char attribute. */
export type NcAttributeValues = { type: NcType; text: string; numbers?: undefined } | { type: NcType; numbers: (number | bigint)[]; text?: undefined };

export type NcAttribute = NcAttributeValues & { name: string };

export interface NcVariable {
  name: string;
  /** Indexes into the header's dimensions, outermost first. */
  dimensionIds: number[];
  attributes: NcAttribute[];
  type: NcType;
  /** vsize as stored (CDF-1/2 store 2^32-1 for variables too large for 4 bytes: recomputed in layout.ts). */
  vsize: number;
  /** File offset of the variable's data (of its first record, for a record variable). */
  begin: number;
}

export interface Netcdf3Header {
  version: Netcdf3Version;
  /** Records written; undefined when the file was written streaming (numrecs all ones: count them from the file size). */
  numrecs: number | undefined;
  dimensions: NcDimension[];
  attributes: NcAttribute[];
  variables: NcVariable[];
  /** Bytes the header takes. */
  size: number;
}

const NC_DIMENSION = 0x0a;
const NC_VARIABLE = 0x0b;
const NC_ATTRIBUTE = 0x0c;

/** What a file's first bytes say it is: a netCDF-3 version, or not netCDF-3. */
export function netcdf3Version(head: Uint8Array): Netcdf3Version | "other-cdf" | undefined {
  if (head.length < 3 || head[0] !== 0x43 || head[1] !== 0x44 || head[2] !== 0x46) return undefined;
  const version = head[3];
  return version === 1 || version === 2 || version === 5 ? version : "other-cdf";
}

/** The first read: most headers are a few KB; a block cache serves this from its head read. */
const FIRST_READ = 64 * 1024;
/** A header beyond this is taken for a corrupt count, not read. */
export const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/**
 * Read and parse the header: one read of the file's head (FIRST_READ bytes, all of a small file),
 * and longer reads only for the rare header that does not fit (each at least doubling).
 */
export async function readHeader(source: ByteSource): Promise<Netcdf3Header> {
  const url = source.url;
  const fileSize = await source.size();
  let length = Math.min(fileSize, FIRST_READ);
  for (;;) {
    const bytes = await source.read(0, length);
    try {
      return parseHeader(new HeaderCursor(bytes, url, fileSize));
    } catch (error) {
      if (!(error instanceof NeedMoreBytes)) throw error;
      if (error.atLeast > MAX_HEADER_BYTES) {
        throw new Netcdf3FormatError(url, "header", `header would be longer than ${MAX_HEADER_BYTES} bytes (a corrupt count or length?)`, 0);
      }
      length = Math.min(fileSize, Math.max(error.atLeast, 2 * length));
    }
  }
}

/** Parse a header from the bytes read so far (throws NeedMoreBytes when they are too few). */
export function parseHeader(c: HeaderCursor): Netcdf3Header {
  c.structure = "magic";
  if (c.fileSize < 4) c.fail(`file is too small (${c.fileSize} bytes) to be netCDF-3`, 0);
  const magic = c.take(4);
  const version = netcdf3Version(magic);
  if (version === undefined) c.fail("no netCDF-3 signature (CDF\\x01, CDF\\x02 or CDF\\x05)", 0);
  if (version === "other-cdf") c.fail(`unknown netCDF-3 version byte ${magic[3]} (1, 2 and 5 exist)`, 3);
  const wide = version === 5;
  /** Counts, lengths, dimension ids and vsize: 8 bytes in CDF-5, else 4. */
  const count = (): number => (wide ? c.u64() : c.u32());
  const offset = (): number => (version === 1 ? c.u32() : c.u64());

  c.structure = "numrecs";
  const numrecsAt = c.pos;
  c.need(wide ? 8 : 4);
  const streaming = c.bytes.subarray(numrecsAt, numrecsAt + (wide ? 8 : 4)).every((b) => b === 0xff);
  const numrecs = streaming ? (c.take(wide ? 8 : 4), undefined) : count();

  /** A list's tag and element count; `minItemBytes` bounds the count by what the file can hold. */
  const listHeader = (tag: number, items: string, minItemBytes: number): number => {
    c.structure = `list of ${items}`;
    const at = c.pos;
    const found = c.u32();
    const n = count();
    if (found === 0 && n === 0) return 0; // ABSENT
    if (found !== tag) c.fail(`expected tag ${tag} or ABSENT, found ${found}`, at);
    if (n * minItemBytes > c.fileSize - c.pos) c.fail(`${n} ${items} cannot fit in a file of ${c.fileSize} bytes`, at);
    return n;
  };
  const nameLength = wide ? 8 : 4;

  const name = (): string => {
    const at = c.pos;
    const n = count();
    if (n === 0) c.fail("empty name", at);
    if (n > c.fileSize) c.fail(`name of ${n} bytes is longer than the file`, at);
    const stored = c.take(n);
    c.pad(n);
    // netCDF-C keeps names as C strings: one that old writers padded with NULs ends at the first.
    const nul = stored.indexOf(0);
    const bytes = nul >= 0 ? stored.subarray(0, nul) : stored;
    if (bytes.length === 0) c.fail("empty name", at);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return c.fail("name is not UTF-8", at);
    }
  };

  const type = (): NcType => {
    const at = c.pos;
    const code = c.u32();
    const known = NC_TYPES[code as NcTypeCode];
    if (!known) c.fail(`unknown nc_type ${code}`, at);
    if (code > 6 && !wide) c.fail(`nc_type ${code} (${known.name}) exists only in CDF-5 files, not in CDF-${version}`, at);
    return { code: code as NcTypeCode, ...known };
  };

  const attributes = (owner: string): NcAttribute[] => {
    const n = listHeader(NC_ATTRIBUTE, `attributes of ${owner}`, nameLength + 4 + 4 + 4);
    const out: NcAttribute[] = [];
    for (let i = 0; i < n; i++) {
      c.structure = `attribute ${i} of ${owner}`;
      const attributeName = name();
      c.structure = `attribute ${attributeName} of ${owner}`;
      const attributeType = type();
      const at = c.pos;
      const nelems = count();
      const bytes = nelems * attributeType.size;
      if (bytes > c.fileSize - c.pos) c.fail(`${nelems} values cannot fit in the file`, at);
      const raw = c.take(bytes);
      c.pad(bytes);
      out.push({ name: attributeName, ...attributeValues(attributeType, raw) });
    }
    return out;
  };

  const dimensionCount = listHeader(NC_DIMENSION, "dimensions", nameLength + 4 + (wide ? 8 : 4));
  const dimensions: NcDimension[] = [];
  for (let i = 0; i < dimensionCount; i++) {
    c.structure = `dimension ${i}`;
    const dimensionName = name();
    const length = count();
    dimensions.push({ name: dimensionName, length, unlimited: length === 0 });
  }
  if (dimensions.filter((d) => d.unlimited).length > 1) {
    c.structure = "list of dimensions";
    c.fail(`${dimensions.filter((d) => d.unlimited).length} unlimited dimensions (netCDF-3 has at most one)`);
  }

  const globalAttributes = attributes("the file");

  const variableCount = listHeader(NC_VARIABLE, "variables", nameLength + 2 * (wide ? 8 : 4) + 4 + 4 + (version === 1 ? 4 : 8));
  const variables: NcVariable[] = [];
  for (let i = 0; i < variableCount; i++) {
    c.structure = `variable ${i}`;
    const variableName = name();
    c.structure = `variable ${variableName}`;
    const at = c.pos;
    const rank = count();
    if (rank > 1024) c.fail(`${rank} dimensions`, at);
    const dimensionIds: number[] = [];
    for (let d = 0; d < rank; d++) {
      const idAt = c.pos;
      const id = count();
      if (id >= dimensions.length) c.fail(`dimension id ${id} but the file has ${dimensions.length} dimensions`, idAt);
      if (dimensions[id]!.unlimited && d !== 0) c.fail(`the unlimited dimension ${dimensions[id]!.name} is axis ${d}, not the first`, idAt);
      dimensionIds.push(id);
    }
    const variableAttributes = attributes(`variable ${variableName}`);
    c.structure = `variable ${variableName}`;
    const variableType = type();
    const vsize = count();
    const begin = offset();
    variables.push({ name: variableName, dimensionIds, attributes: variableAttributes, type: variableType, vsize, begin });
  }
  const size = c.pos;
  c.structure = "header";
  for (const v of variables) if (v.begin < size) c.fail(`variable ${v.name}'s data begins at ${v.begin}, inside the header (${size} bytes)`, size);
  return { version, numrecs, dimensions, attributes: globalAttributes, variables, size };
}

/**
 * An attribute's values as netCDF4-python reads them: numbers by type (64-bit integers beyond 2^53
 * as bigint), char attributes as text (UTF-8, invalid bytes replaced, NULs removed).
 */
function attributeValues(type: NcType, raw: Uint8Array): NcAttributeValues {
  if (type.name === "char") return { type, text: new TextDecoder().decode(raw).replace(/\0/g, "") };
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const numbers: (number | bigint)[] = [];
  for (let at = 0; at < raw.length; at += type.size) numbers.push(readNumber(view, at, type));
  return { type, numbers };
}

/** One big-endian element of a numeric type. */
export function readNumber(view: DataView, at: number, type: NcType): number | bigint {
  switch (type.name) {
    case "byte":
      return view.getInt8(at);
    case "ubyte":
    case "char":
      return view.getUint8(at);
    case "short":
      return view.getInt16(at, false);
    case "ushort":
      return view.getUint16(at, false);
    case "int":
      return view.getInt32(at, false);
    case "uint":
      return view.getUint32(at, false);
    case "float":
      return view.getFloat32(at, false);
    case "double":
      return view.getFloat64(at, false);
    case "int64":
    case "uint64": {
      const big = type.name === "int64" ? view.getBigInt64(at, false) : view.getBigUint64(at, false);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
  }
}
