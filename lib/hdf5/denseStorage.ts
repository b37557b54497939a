/**
 * Dense storage of a group's links or an object's attributes (format spec IV.A.2.c and IV.A.2.v):
 * the messages live in a fractal heap, indexed by name hash in a v2 B-tree (type 5 for links, 8
 * for attributes). Both are read at once; the records are decoded by the caller.
 */
import { Hdf5FormatError } from "../errors.js";
import { readBTreeV2Records } from "./btreeV2.js";
import type { Hdf5Context } from "./context.js";
import { FractalHeap } from "./fractalHeap.js";

export async function openDenseStorage(
  ctx: Hdf5Context,
  heapAddress: number,
  nameIndexAddress: number,
  what: { btreeType: 5 | 8; name: string },
): Promise<{ heap: FractalHeap; records: Uint8Array[] }> {
  const heapPromise = FractalHeap.open(ctx, heapAddress).then((heap) => {
    heap.prefetchRoot(); // beside the name index's nodes, not after them
    return heap;
  });
  const [heap, { header, records }] = await Promise.all([heapPromise, readBTreeV2Records(ctx, nameIndexAddress, what.name)]);
  if (header.type !== what.btreeType) {
    throw new Hdf5FormatError(ctx.url, what.name, `v2 B-tree type ${header.type}, expected ${what.btreeType}`, nameIndexAddress);
  }
  return { heap, records };
}
