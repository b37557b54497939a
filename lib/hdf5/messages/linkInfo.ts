import type { Hdf5Context } from "../context.js";
import type { ByteCursor } from "../cursor.js";

/** Link info message 0x0002 (format spec IV.A.2.c): where a new-style group keeps dense links. */
export interface LinkInfoMessage {
  creationOrderTracked: boolean;
  creationOrderIndexed: boolean;
  maxCreationIndex?: number;
  /** Fractal heap of dense links; undefined while links are compact (link messages). */
  fractalHeapAddress: number | undefined;
  /** v2 B-tree (type 5) indexing dense links by name hash. */
  nameIndexAddress: number | undefined;
  /** v2 B-tree (type 6) indexing dense links by creation order. */
  creationOrderIndexAddress?: number;
}

export function parseLinkInfo(ctx: Hdf5Context, c: ByteCursor): LinkInfoMessage {
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported link info message version ${version}`);
  const flags = c.u8();
  const creationOrderTracked = (flags & 0x01) !== 0;
  const creationOrderIndexed = (flags & 0x02) !== 0;
  const maxCreationIndex = creationOrderTracked ? c.uint(8) : undefined;
  const fractalHeapAddress = ctx.addr(c);
  const nameIndexAddress = ctx.addr(c);
  const creationOrderIndexAddress = creationOrderIndexed ? ctx.addr(c) : undefined;
  return { creationOrderTracked, creationOrderIndexed, maxCreationIndex, fractalHeapAddress, nameIndexAddress, creationOrderIndexAddress };
}
