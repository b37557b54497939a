import type { Hdf5Context } from "../context.js";
import type { ByteCursor } from "../cursor.js";
import type { ChunkIndexDescriptor, Hdf5Layout } from "../model.js";
import { MAX_RANK } from "./dataspace.js";

const COMPACT = 0;
const CONTIGUOUS = 1;
const CHUNKED = 2;
const VIRTUAL = 3;

export interface LayoutContext {
  /**
   * Bytes of the whole dataset (elements x element size). Layout versions 1 and 2 do not store the
   * contiguous size (HDF5 computes it from the dataspace, H5Olayout.c), so the caller supplies it.
   */
  contiguousSize: number;
}

/**
 * Data layout message 0x0008 (format spec IV.A.2.i), versions 1 to 5 (version 5, written by
 * HDF5 2.0, has the version 4 encoding).
 */
export function parseDataLayout(ctx: Hdf5Context, c: ByteCursor, lc: LayoutContext): Hdf5Layout {
  const version = c.u8();
  if (version === 1 || version === 2) return parseV1V2(ctx, c, version, lc);
  if (version < 3 || version > 5) c.fail(`unsupported data layout message version ${version}`);
  const layoutClass = c.u8();
  if (layoutClass === COMPACT) {
    const size = c.u16();
    return { kind: "compact", data: c.take(size).slice() };
  }
  if (layoutClass === CONTIGUOUS) {
    const address = ctx.addr(c);
    const size = ctx.len(c);
    return { kind: "contiguous", address, size };
  }
  if (layoutClass === CHUNKED) return version === 3 ? parseChunkedV3(ctx, c) : parseChunkedV4(ctx, c, version);
  // Virtual datasets (v4+) map regions of other datasets; the translator leaves them out.
  if (layoutClass === VIRTUAL && version >= 4) return { kind: "virtual" };
  return c.fail(`unknown layout class ${layoutClass}`);
}

/**
 * Versions 1 and 2: dimensionality, class, 5 reserved bytes, an address (contiguous and chunked
 * only), dimensionality 32-bit sizes (for chunked, the last one is the element size), and for
 * compact a 32-bit size and the data.
 */
function parseV1V2(ctx: Hdf5Context, c: ByteCursor, version: number, lc: LayoutContext): Hdf5Layout {
  const dimensionality = c.u8();
  const layoutClass = c.u8();
  c.skip(5);
  if (dimensionality > MAX_RANK + 1) c.fail(`dimensionality ${dimensionality} is too large`);
  let address: number | undefined;
  if (layoutClass === CONTIGUOUS || layoutClass === CHUNKED) address = ctx.addr(c);
  const dims: number[] = [];
  for (let i = 0; i < dimensionality; i++) dims.push(c.u32());
  if (layoutClass === COMPACT) {
    const size = c.u32();
    return { kind: "compact", data: c.take(size).slice() };
  }
  if (layoutClass === CONTIGUOUS) return { kind: "contiguous", address, size: lc.contiguousSize };
  if (layoutClass === CHUNKED) {
    if (dimensionality < 1) c.fail("chunked layout without dimensions");
    return {
      kind: "chunked",
      version,
      chunkShape: dims.slice(0, -1),
      dontFilterPartialBoundChunks: false,
      index: { type: "btree-v1", address },
    };
  }
  return c.fail(`unknown layout class ${layoutClass}`);
}

/**
 * Version 3 chunked: dimensionality, B-tree address, 32-bit chunk sizes. The spec lists a separate
 * "Dataset Element Size" field, but HDF5 (H5Olayout.c) writes it as the last chunk dimension.
 */
function parseChunkedV3(ctx: Hdf5Context, c: ByteCursor): Hdf5Layout {
  const dimensionality = c.u8();
  if (dimensionality < 1 || dimensionality > MAX_RANK + 1) c.fail(`invalid chunk dimensionality ${dimensionality}`);
  const address = ctx.addr(c);
  const dims: number[] = [];
  for (let i = 0; i < dimensionality; i++) dims.push(c.u32());
  return { kind: "chunked", version: 3, chunkShape: dims.slice(0, -1), dontFilterPartialBoundChunks: false, index: { type: "btree-v1", address } };
}

/**
 * Version 4/5 chunked: flags (bit 0 don't filter partial edge chunks, bit 1 single chunk is
 * filtered), dimensionality, "dimension size encoded length" (bytes per chunk size), the chunk
 * sizes (last = element size), the chunk indexing type, its parameters, then the index address.
 */
function parseChunkedV4(ctx: Hdf5Context, c: ByteCursor, version: number): Hdf5Layout {
  const flags = c.u8();
  const dimensionality = c.u8();
  if (dimensionality < 1 || dimensionality > MAX_RANK + 1) c.fail(`invalid chunk dimensionality ${dimensionality}`);
  const encodedLength = c.u8();
  if (encodedLength < 1 || encodedLength > 8) c.fail(`invalid dimension size encoded length ${encodedLength}`);
  const dims: number[] = [];
  for (let i = 0; i < dimensionality; i++) dims.push(c.uint(encodedLength));
  const indexType = c.u8();
  let index: ChunkIndexDescriptor;
  switch (indexType) {
    case 1: {
      const filtered = (flags & 0x02) !== 0;
      const filteredSize = filtered ? ctx.len(c) : undefined;
      const filterMask = filtered ? c.u32() : undefined;
      const address = ctx.addr(c);
      index = filtered ? { type: "single", address, filtered, filteredSize, filterMask } : { type: "single", address, filtered };
      break;
    }
    case 2:
      index = { type: "implicit", address: ctx.addr(c) };
      break;
    case 3: {
      const pageBits = c.u8();
      index = { type: "fixed-array", address: ctx.addr(c), pageBits };
      break;
    }
    case 4: {
      const maxBits = c.u8();
      const indexElements = c.u8();
      const minPointers = c.u8();
      const minElements = c.u8();
      const pageBits = c.u8();
      index = { type: "extensible-array", address: ctx.addr(c), maxBits, indexElements, minPointers, minElements, pageBits };
      break;
    }
    case 5: {
      const nodeSize = c.u32();
      const splitPercent = c.u8();
      const mergePercent = c.u8();
      index = { type: "btree-v2", address: ctx.addr(c), nodeSize, splitPercent, mergePercent };
      break;
    }
    default:
      return c.fail(`unknown chunk indexing type ${indexType}`);
  }
  return { kind: "chunked", version, chunkShape: dims.slice(0, -1), dontFilterPartialBoundChunks: (flags & 0x01) !== 0, index };
}
