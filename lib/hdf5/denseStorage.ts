/**
 * Dense storage of a group's links or an object's attributes (format spec IV.A.2.c and IV.A.2.v):
 * the messages live in a fractal heap, indexed by name hash in a v2 B-tree (type 5 for links, 8
 * for attributes). Both are read at once; the records are decoded by the caller.
 */
import { Hdf5FormatError } from "../errors.js";
import { bTreeV2Records } from "./btreeV2.js";
import type { Hdf5Context } from "./context.js";
import { FractalHeap } from "./fractalHeap.js";
import { both, later, type Parse } from "./parse.js";

export function* denseStorage(
  ctx: Hdf5Context,
  heapAddress: number,
  nameIndexAddress: number,
  what: { btreeType: 5 | 8; name: string },
): Parse<{ heap: FractalHeap; records: Uint8Array[] }> {
  const [heap, { header, records }] = yield* both(openHeap(ctx, heapAddress), bTreeV2Records(ctx, nameIndexAddress, what.name));
  if (header.type !== what.btreeType) {
    throw new Hdf5FormatError(ctx.url, what.name, `v2 B-tree type ${header.type}, expected ${what.btreeType}`, nameIndexAddress);
  }
  return { heap, records };
}

/** The heap, its root block started beside the name index's nodes (not after them) when not held. */
function* openHeap(ctx: Hdf5Context, address: number): Parse<FractalHeap> {
  const heap = FractalHeap.openNow(ctx, address) ?? (yield* later(() => FractalHeap.open(ctx, address)));
  heap.prefetchRoot();
  return heap;
}
