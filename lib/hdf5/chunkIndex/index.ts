import type { Hdf5Context } from "../context.js";
import type { ChunkRef } from "../model.js";
import { bTreeV1ChunkIndex } from "./btreeV1.js";
import { runParse, type Parse } from "../parse.js";
import { bTreeV2ChunkIndex } from "./btreeV2.js";
import { checkInput, sortRowMajor, type ChunkIndexInput } from "./common.js";
export { chunkIndexInput } from "./common.js";
import { extensibleArrayChunkIndex } from "./extensibleArray.js";
import { fixedArrayChunkIndex } from "./fixedArray.js";
import { readImplicitChunkIndex } from "./implicit.js";
import { readSingleChunkIndex } from "./single.js";

export type { ChunkIndexInput } from "./common.js";

/**
 * Every stored chunk of a chunked dataset, in row-major grid order, from whichever index the
 * layout message names (IV.A.2.i). Unallocated chunks are omitted. Reads only index metadata,
 * level by level with concurrent reads, so the cost in round trips is the index depth.
 */
export function readChunkIndex(ctx: Hdf5Context, input: ChunkIndexInput): Promise<ChunkRef[]> {
  return runParse(chunkIndex(ctx, input));
}

/** `readChunkIndex` as a parse (`parse.ts`): at once when the index is held. */
export function* chunkIndex(ctx: Hdf5Context, input: ChunkIndexInput): Parse<ChunkRef[]> {
  checkInput(ctx, input);
  const index = input.layout.index;
  let refs: ChunkRef[];
  switch (index.type) {
    case "btree-v1":
      refs = yield* bTreeV1ChunkIndex(ctx, input, index.address);
      break;
    case "single":
      refs = readSingleChunkIndex(ctx, input, index);
      break;
    case "implicit":
      refs = readImplicitChunkIndex(ctx, input, index.address);
      break;
    case "fixed-array":
      refs = yield* fixedArrayChunkIndex(ctx, input, index.address);
      break;
    case "extensible-array":
      refs = yield* extensibleArrayChunkIndex(ctx, input, index.address);
      break;
    case "btree-v2":
      refs = yield* bTreeV2ChunkIndex(ctx, input, index.address);
      break;
  }
  return sortRowMajor(refs);
}
