import { Netcdf3FormatError } from "../errors.js";
import { product, wholeArrayChunk } from "../shape.js";
import type { NcDimension, NcVariable, Netcdf3Header } from "./header.js";

/** One chunk of a variable: its grid coordinates and the contiguous bytes that hold it. */
export interface Piece {
  coords: number[];
  offset: number;
  length: number;
}

export interface VariableLayout {
  variable: NcVariable;
  dimensions: NcDimension[];
  /** The record dimension's length is the number of records. */
  shape: number[];
  record: boolean;
  /** Zarr chunk shape (at least 1 per axis, as Zarr needs, even for zero records). */
  chunks: number[];
  pieces: Piece[];
}

export interface FileLayout {
  /** Records in the file (numrecs, or counted from the file size for a file written streaming). */
  numrecs: number;
  /** Bytes from one record to the next. */
  recordSize: number;
  variables: VariableLayout[];
}

/**
 * Uncompressed data beyond this many bytes in one block is split into chunks of at most this size
 * (see `splitContiguous`). Large enough that a Himawari-size field (9000 x 18000 float32, 648 MB)
 * becomes 40 chunks of 225 rows a reader fetches whole, small enough that reading a small region does not
 * read hundreds of MB.
 */
export const DEFAULT_MAX_CHUNK_BYTES = 16 * 1024 * 1024;

const round4 = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * Where every variable's data is (the classic format's data part): a fixed-size variable is one
 * contiguous block at `begin`; the record variables are interleaved, record i of a variable at
 * `begin + i × recsize`, recsize the sum of their (4-byte padded) sizes, except that a file with
 * exactly one record variable does not pad it (netCDF-C NC_computeshapes, and the specification's
 * "special case"). A block above `maxChunkBytes` is split (splitContiguous). Every byte range must
 * lie inside the file: a truncated file is an error naming the variable, never a short reference.
 */
export function layOut(header: Netcdf3Header, url: string, fileSize: number, maxChunkBytes = DEFAULT_MAX_CHUNK_BYTES): FileLayout {
  const fail = (variable: string, detail: string): never => {
    throw new Netcdf3FormatError(url, `variable ${variable}`, detail);
  };
  const isRecord = (v: NcVariable): boolean => v.dimensionIds.length > 0 && header.dimensions[v.dimensionIds[0]!]!.unlimited;
  /** Bytes of one record of a record variable, or of a whole fixed-size variable (unpadded). */
  const blockBytes = (v: NcVariable): number => {
    const dims = v.dimensionIds.slice(isRecord(v) ? 1 : 0).map((id) => header.dimensions[id]!.length);
    const bytes = product(dims) * v.type.size;
    if (!Number.isSafeInteger(bytes)) fail(v.name, `size ${dims.join(" x ")} x ${v.type.size} bytes is beyond 2^53`);
    return bytes;
  };
  const recordVariables = header.variables.filter(isRecord);
  let recordSize = recordVariables.reduce((n, v) => n + round4(blockBytes(v)), 0);
  if (recordVariables.length === 1) recordSize = blockBytes(recordVariables[0]!);
  const beginRecords = Math.min(...recordVariables.map((v) => v.begin));
  const numrecs =
    header.numrecs ?? (recordVariables.length === 0 || recordSize === 0 ? 0 : Math.floor(Math.max(0, fileSize - beginRecords) / recordSize));

  const variables = header.variables.map((variable): VariableLayout => {
    const dimensions = variable.dimensionIds.map((id) => header.dimensions[id]!);
    const record = isRecord(variable);
    const shape = dimensions.map((d) => (d.unlimited ? numrecs : d.length));
    const inner = record ? shape.slice(1) : shape;
    const bytes = blockBytes(variable);
    const end = (pieces: Piece[]): number => pieces.reduce((n, p) => Math.max(n, p.offset + p.length), 0);
    const place = (exact: boolean): { chunks: number[]; pieces: Piece[] } => {
      const split = splitContiguous(inner, variable.type.size, maxChunkBytes, exact);
      if (!record) return { chunks: split.chunks, pieces: split.pieces.map((p) => ({ ...p, offset: variable.begin + p.offset })) };
      const pieces: Piece[] = [];
      for (let i = 0; i < numrecs; i++) {
        const at = variable.begin + i * recordSize;
        for (const p of split.pieces) pieces.push({ coords: [i, ...p.coords], offset: at + p.offset, length: p.length });
      }
      return { chunks: [1, ...split.chunks], pieces };
    };
    let placed = place(false);
    // The last chunk of a split may reach past the variable's bytes, never past the file's end.
    if (end(placed.pieces) > fileSize) placed = place(true);
    const dataEnd = record ? (numrecs === 0 ? 0 : variable.begin + (numrecs - 1) * recordSize + bytes) : variable.begin + bytes;
    if (dataEnd > fileSize || end(placed.pieces) > fileSize) {
      fail(variable.name, `data ends at byte ${dataEnd}, past the end of the file (${fileSize} bytes): the file is truncated`);
    }
    return { variable, dimensions, shape, record, ...placed };
  });
  return { numrecs, recordSize, variables };
}

/**
 * The chunks of one contiguous row-major block of `shape` (a fixed-size variable, or one record of
 * a record variable), offsets relative to the block. At most `maxBytes`, the block is one chunk.
 * Above, it is split along the first axis whose trailing slab (one index on it, every index on the
 * axes after it) fits: chunks of 1 on the axes before it, `r` on it, whole on the axes after it, so
 * each chunk is one contiguous byte range. `r` is the most slabs that fit, or a divisor of the
 * axis length not below r/2 (every chunk whole). Otherwise the last chunk along the axis is partial
 * and its byte range is a whole chunk's, reaching past the block into what follows (Zarr reads an
 * uncompressed chunk as a whole one and ignores the elements outside the array); where that would
 * pass the end of the file, `exact` asks for the largest divisor instead.
 */
export function splitContiguous(shape: number[], elementSize: number, maxBytes: number, exact: boolean): { chunks: number[]; pieces: Piece[] } {
  const whole = wholeArrayChunk(shape);
  const total = product(shape) * elementSize;
  if (total <= maxBytes || shape.length === 0) return { chunks: whole, pieces: [{ coords: shape.map(() => 0), offset: 0, length: total }] };
  let axis = 0;
  while (product(shape.slice(axis + 1)) * elementSize > maxBytes) axis++;
  const slab = product(shape.slice(axis + 1)) * elementSize;
  const most = Math.max(1, Math.min(shape[axis]!, Math.floor(maxBytes / slab)));
  const divisor = largestDivisorAtMost(shape[axis]!, most);
  const rows = exact || divisor * 2 >= most ? divisor : most;
  const chunks = [...shape.slice(0, axis).map(() => 1), rows, ...shape.slice(axis + 1)];
  const outer = shape.slice(0, axis);
  const along = Math.ceil(shape[axis]! / rows);
  const pieces: Piece[] = [];
  const index = outer.map(() => 0);
  for (let n = 0; n < product(outer); n++) {
    // Row-major element offset of (index..., 0 on `axis`, 0...).
    let start = 0;
    for (let i = 0; i < outer.length; i++) start = start * shape[i]! + index[i]!;
    start *= shape[axis]!;
    for (let j = 0; j < along; j++) {
      pieces.push({ coords: [...index, j, ...shape.slice(axis + 1).map(() => 0)], offset: (start + j * rows) * slab, length: rows * slab });
    }
    for (let i = outer.length - 1; i >= 0; i--) {
      if (++index[i]! < outer[i]!) break;
      index[i] = 0;
    }
  }
  return { chunks, pieces };
}

function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d > 1; d--) if (n % d === 0) return d;
  return 1;
}
