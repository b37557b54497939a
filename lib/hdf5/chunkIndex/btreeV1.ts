import type { Hdf5Context } from "../context.js";
import type { ChunkRef } from "../model.js";
import { bTreeV1Leaves } from "../btreeV1.js";
import type { Parse } from "../parse.js";
import { readU32, readUint } from "../bytes.js";
import { checkChunkInFile, formatError, type ChunkIndexInput } from "./common.js";

const STRUCTURE = "chunk index (v1 B-tree)";

/**
 * Layout v1-v3 chunk index: a version 1 B-tree of node type 1 (format spec III.A.1). Each leaf
 * child is a chunk; the key to its left describes it: chunk size (u32), filter mask (u32), then
 * one 64-bit element offset per dimension plus a trailing one for the element-size "dimension"
 * (always 0). Grid coordinates are the offsets divided by the chunk dimensions.
 */
export function* bTreeV1ChunkIndex(ctx: Hdf5Context, input: ChunkIndexInput, address: number | undefined): Parse<ChunkRef[]> {
  if (address === undefined) return [];
  const rank = input.shape.length;
  const keySize = 4 + 4 + 8 * (rank + 1);
  const entries = yield* bTreeV1Leaves(ctx, address, 1, keySize, `chunk index of ${input.path}`);
  const refs: ChunkRef[] = new Array<ChunkRef>(entries.length);
  for (let e = 0; e < entries.length; e++) {
    const { key, childAddress } = entries[e]!;
    const size = readU32(key, 0);
    const filterMask = readU32(key, 4);
    const coords = new Array<number>(rank);
    for (let d = 0; d < rank; d++) {
      const offset = readUint(key, 8 + 8 * d, 8);
      const chunk = input.chunkShape[d]!;
      if (!Number.isSafeInteger(offset) || offset % chunk !== 0) {
        throw formatError(ctx, input, STRUCTURE, `chunk offset ${offset} in dimension ${d} is not a multiple of the chunk size ${chunk}`, childAddress);
      }
      coords[d] = offset / chunk;
    }
    const ref: ChunkRef = { coords, address: childAddress, size, filterMask };
    checkChunkInFile(ctx, input, STRUCTURE, ref);
    refs[e] = ref;
  }
  return refs;
}
