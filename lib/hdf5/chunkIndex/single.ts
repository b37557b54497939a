import type { Hdf5Context } from "../context.js";
import type { ChunkIndexDescriptor, ChunkRef } from "../model.js";
import { checkChunkInFile, chunkByteSize, formatError, type ChunkIndexInput } from "./common.js";

const STRUCTURE = "chunk index (single chunk)";

/**
 * Layout v4 index type 1 (IV.A.2.i): the dataset is one chunk at the layout message's address.
 * When filtered, its stored size and filter mask are in the layout message; otherwise it is the
 * full chunk byte size.
 */
export function readSingleChunkIndex(
  ctx: Hdf5Context,
  input: ChunkIndexInput,
  index: Extract<ChunkIndexDescriptor, { type: "single" }>,
): ChunkRef[] {
  if (index.address === undefined) return [];
  let size: number;
  let filterMask = 0;
  if (index.filtered) {
    if (index.filteredSize === undefined) throw formatError(ctx, input, STRUCTURE, "filtered single chunk without a size", index.address);
    size = index.filteredSize;
    filterMask = index.filterMask ?? 0;
  } else {
    size = chunkByteSize(ctx, input);
  }
  const ref: ChunkRef = { coords: input.shape.map(() => 0), address: index.address, size, filterMask };
  checkChunkInFile(ctx, input, STRUCTURE, ref);
  return [ref];
}
