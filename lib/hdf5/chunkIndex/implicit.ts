import type { Hdf5Context } from "../context.js";
import type { ChunkRef } from "../model.js";
import { checkChunkInFile, chunkByteSize, formatError, maxChunkGrid, type ChunkIndexInput } from "./common.js";
import { chunkGrid, product, rowMajorStrides } from "../../shape.js";

const STRUCTURE = "chunk index (implicit)";

/**
 * Layout v4 index type 2 (IV.A.2.i): no index structure at all. Storage for every chunk of the
 * grid over the *maximum* dimensions was allocated at creation (early allocation, no filters),
 * contiguously in row-major order from the layout address, so chunk (c0..cn) is at
 * address + linear(c, max grid) * chunk bytes (H5Dnone.c). Every chunk of the current grid is
 * allocated; those are the ones reported (as H5D__none_idx_iterate does).
 */
export function readImplicitChunkIndex(ctx: Hdf5Context, input: ChunkIndexInput, address: number | undefined): ChunkRef[] {
  if (address === undefined) return [];
  const size = chunkByteSize(ctx, input);
  const maxGrid = maxChunkGrid(ctx, input, STRUCTURE);
  const grid = chunkGrid(input.shape, input.chunkShape);
  const count = product(grid);
  const maxCount = product(maxGrid);
  if (grid.some((g, i) => g > maxGrid[i]!)) throw formatError(ctx, input, STRUCTURE, "current dimensions exceed the maximum dimensions", address);
  // Every chunk occupies distinct bytes, so the file must hold them all: bounds the loop below.
  if (!Number.isSafeInteger(maxCount * size) || address + maxCount * size > ctx.fileSize - ctx.baseAddress) {
    throw formatError(ctx, input, STRUCTURE, `${maxCount} chunks of ${size} bytes at ${address} run past the end of the file`, address);
  }
  const maxDown = rowMajorStrides(maxGrid);
  const rank = grid.length;
  const refs: ChunkRef[] = new Array<ChunkRef>(count);
  const coords = new Array<number>(rank).fill(0);
  for (let n = 0; n < count; n++) {
    let linear = 0;
    for (let d = 0; d < rank; d++) linear += coords[d]! * maxDown[d]!;
    refs[n] = { coords: coords.slice(), address: address + linear * size, size, filterMask: 0 };
    // Row-major increment over the current grid.
    for (let d = rank - 1; d >= 0; d--) {
      if (++coords[d]! < grid[d]!) break;
      coords[d] = 0;
    }
  }
  if (refs.length > 0) checkChunkInFile(ctx, input, STRUCTURE, refs[refs.length - 1]!);
  return refs;
}
