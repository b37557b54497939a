import type { Hdf5Context } from "../context.js";
import type { ChunkRef } from "../model.js";
import { bTreeV2Records } from "../btreeV2.js";
import type { Parse } from "../parse.js";
import { readAddress, readU32, readUint } from "../bytes.js";
import { checkChunkInFile, chunkByteSize, formatError, type ChunkIndexInput } from "./common.js";

const STRUCTURE = "chunk index (v2 B-tree)";

/**
 * Layout v4 index type 5: a version 2 B-tree (III.A.2) whose records are chunks, for datasets
 * with more than one unlimited dimension. Record type 10 (unfiltered): address, then one 64-bit
 * scaled offset (grid coordinate) per dimension. Type 11 (filtered): address, chunk size in a
 * width the library computed from the chunk size (recordSize - offsets - 4 - 8 x rank here),
 * filter mask (u32), then the scaled offsets. Records are in key order = row-major coordinates.
 */
export function* bTreeV2ChunkIndex(ctx: Hdf5Context, input: ChunkIndexInput, address: number | undefined): Parse<ChunkRef[]> {
  if (address === undefined) return [];
  const { header, records } = yield* bTreeV2Records(ctx, address, `chunk index of ${input.path}`);
  const rank = input.shape.length;
  const o = ctx.sizeOfOffsets;
  let sizeWidth = 0;
  if (header.type === 10) {
    if (header.recordSize !== o + 8 * rank) {
      throw formatError(ctx, input, STRUCTURE, `type 10 record size ${header.recordSize}, expected ${o + 8 * rank}`, address);
    }
  } else if (header.type === 11) {
    sizeWidth = header.recordSize - o - 4 - 8 * rank;
    if (sizeWidth < 1 || sizeWidth > 8) {
      throw formatError(ctx, input, STRUCTURE, `type 11 record size ${header.recordSize} leaves ${sizeWidth} bytes for the chunk size`, address);
    }
  } else {
    throw formatError(ctx, input, STRUCTURE, `record type ${header.type} is not a chunk record (10 or 11)`, address);
  }
  const fullSize = header.type === 10 ? chunkByteSize(ctx, input) : 0;
  const scaledAt = header.type === 10 ? o : o + sizeWidth + 4;
  const refs: ChunkRef[] = [];
  for (const record of records) {
    const chunkAddress = readAddress(record, 0, o);
    if (chunkAddress === undefined) continue;
    const coords = new Array<number>(rank);
    for (let d = 0; d < rank; d++) {
      const c = readUint(record, scaledAt + 8 * d, 8);
      if (!Number.isSafeInteger(c)) throw formatError(ctx, input, STRUCTURE, `scaled offset beyond 2^53`, address);
      coords[d] = c;
    }
    const ref: ChunkRef =
      header.type === 10
        ? { coords, address: chunkAddress, size: fullSize, filterMask: 0 }
        : { coords, address: chunkAddress, size: readUint(record, o, sizeWidth), filterMask: readU32(record, o + sizeWidth) };
    checkChunkInFile(ctx, input, STRUCTURE, ref);
    refs.push(ref);
  }
  return refs;
}
