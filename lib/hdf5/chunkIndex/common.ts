import { Hdf5FormatError } from "../../errors.js";
import { readAddress, readU32, readUint } from "../bytes.js";
import type { Hdf5Context } from "../context.js";
import type { ChunkRef, Hdf5Dataset, Hdf5Layout } from "../model.js";

/** What every chunk index reader needs to know about the dataset besides the index itself. */
export interface ChunkIndexInput {
  /** Dataset path, for error messages. */
  path: string;
  /** Current dimension sizes. */
  shape: number[];
  /** Maximum dimension sizes; null for unlimited. */
  maxShape: (number | null)[];
  /** Chunk dimension sizes (same rank as shape). */
  chunkShape: number[];
  /** Bytes per element (the datatype size). */
  elementSize: number;
  /** True when the dataset has a non-empty filter pipeline. */
  filtered: boolean;
  layout: Extract<Hdf5Layout, { kind: "chunked" }>;
}

/** What the chunk index readers need of a chunked dataset. */
export function chunkIndexInput(dataset: Hdf5Dataset, layout: Extract<Hdf5Layout, { kind: "chunked" }>): ChunkIndexInput {
  return {
    path: dataset.path,
    shape: dataset.dataspace.shape,
    maxShape: dataset.dataspace.maxShape,
    chunkShape: layout.chunkShape,
    elementSize: dataset.datatype.size,
    filtered: dataset.filters.length > 0,
    layout,
  };
}

/** Structure name used in errors: which index structure, of which dataset. */
export function structureName(input: ChunkIndexInput, structure: string): string {
  return `${structure} of ${input.path}`;
}

export function formatError(ctx: Hdf5Context, input: ChunkIndexInput, structure: string, detail: string, address?: number): Hdf5FormatError {
  return new Hdf5FormatError(ctx.url, structureName(input, structure), detail, address);
}

/** Bytes of one unfiltered chunk: the product of the chunk dimensions times the element size. */
export function chunkByteSize(ctx: Hdf5Context, input: ChunkIndexInput): number {
  let size = input.elementSize;
  for (const c of input.chunkShape) size *= c;
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw formatError(ctx, input, "chunk dimensions", `chunk of ${input.chunkShape.join("x")} x ${input.elementSize} bytes is invalid`);
  }
  return size;
}

/**
 * The chunk grid over the maximum dimensions, which fixed arrays and implicit indexes linearise
 * over (HDF5's layout "max_chunks"). Fails when a dimension is unlimited: those indexes exist only
 * for datasets with fixed maximum dimensions.
 */
export function maxChunkGrid(ctx: Hdf5Context, input: ChunkIndexInput, structure: string): number[] {
  return input.maxShape.map((m, i) => {
    if (m === null) throw formatError(ctx, input, structure, `dimension ${i} is unlimited, which this index cannot describe`);
    return Math.ceil(m / input.chunkShape[i]!);
  });
}

/** Validate the input's shapes once, so index readers can index arrays without further checks. */
export function checkInput(ctx: Hdf5Context, input: ChunkIndexInput): void {
  const rank = input.shape.length;
  if (input.maxShape.length !== rank || input.chunkShape.length !== rank || rank === 0) {
    throw formatError(ctx, input, "data layout", `rank mismatch: shape ${rank}, max shape ${input.maxShape.length}, chunk ${input.chunkShape.length}`);
  }
  for (const c of input.chunkShape) {
    if (!Number.isSafeInteger(c) || c <= 0) throw formatError(ctx, input, "data layout", `invalid chunk dimension ${c}`);
  }
  if (!Number.isSafeInteger(input.elementSize) || input.elementSize <= 0) {
    throw formatError(ctx, input, "data layout", `invalid element size ${input.elementSize}`);
  }
}

/**
 * Convert a row-major linear index into coordinates. `down` are the grid's row-major strides
 * (`rowMajorStrides`, HDF5's "down chunks").
 */
export function unlinearise(index: number, down: number[]): number[] {
  const coords = new Array<number>(down.length);
  let rest = index;
  for (let i = 0; i < down.length; i++) {
    const d = down[i]!;
    const c = Math.floor(rest / d);
    coords[i] = c;
    rest -= c * d;
  }
  return coords;
}

function compareCoords(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Sort chunks into row-major coordinate order; a single linear check when they already are. */
export function sortRowMajor(refs: ChunkRef[]): ChunkRef[] {
  for (let i = 1; i < refs.length; i++) {
    if (compareCoords(refs[i - 1]!.coords, refs[i]!.coords) > 0) {
      return refs.sort((a, b) => compareCoords(a.coords, b.coords));
    }
  }
  return refs;
}

/** MSB-first bit test, as HDF5's H5VM_bit_get (page "init" bitmaps of fixed/extensible arrays). */
export function bitIsSet(bitmap: Uint8Array, bit: number): boolean {
  return ((bitmap[bit >>> 3] ?? 0) & (0x80 >>> (bit & 7))) !== 0;
}

/**
 * Decoder for the chunk elements fixed and extensible arrays store (H5Dfarray.c / H5Dearray.c):
 * unfiltered elements are just the chunk address; filtered ones are the address, the chunk's
 * stored size in (elementSize - sizeOfOffsets - 4) bytes, then the 32-bit filter mask.
 */
export interface ElementDecoder {
  elementSize: number;
  /** Decode element `i` of `bytes` (starting at `offset`) into a ChunkRef, or undefined if unallocated. */
  decode(bytes: Uint8Array, offset: number, coords: number[]): ChunkRef | undefined;
}

export function chunkElementDecoder(
  ctx: Hdf5Context,
  input: ChunkIndexInput,
  structure: string,
  filtered: boolean,
  elementSize: number,
  address: number,
): ElementDecoder {
  const o = ctx.sizeOfOffsets;
  if (!filtered) {
    if (elementSize !== o) throw formatError(ctx, input, structure, `unfiltered element size ${elementSize}, expected ${o}`, address);
    const size = chunkByteSize(ctx, input);
    return {
      elementSize,
      decode(bytes, offset, coords) {
        const chunkAddress = readAddress(bytes, offset, o);
        return chunkAddress === undefined ? undefined : { coords, address: chunkAddress, size, filterMask: 0 };
      },
    };
  }
  const sizeWidth = elementSize - o - 4;
  if (sizeWidth < 1 || sizeWidth > 8) {
    throw formatError(ctx, input, structure, `filtered element size ${elementSize} leaves ${sizeWidth} bytes for the chunk size`, address);
  }
  return {
    elementSize,
    decode(bytes, offset, coords) {
      const chunkAddress = readAddress(bytes, offset, o);
      if (chunkAddress === undefined) return undefined;
      const size = readUint(bytes, offset + o, sizeWidth);
      const filterMask = readU32(bytes, offset + o + sizeWidth);
      return { coords, address: chunkAddress, size, filterMask };
    },
  };
}

/** Fail unless [address, address + size) lies in the file: checked before trusting a chunk. */
export function checkChunkInFile(ctx: Hdf5Context, input: ChunkIndexInput, structure: string, ref: ChunkRef): void {
  if (ref.address + ref.size > ctx.fileSize - ctx.baseAddress || !Number.isSafeInteger(ref.size)) {
    throw formatError(ctx, input, structure, `chunk ${ref.coords.join(",")} (${ref.size} bytes at ${ref.address}) runs past the end of the file`, ref.address);
  }
}
