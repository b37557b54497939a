import type { Hdf5Context } from "../context.js";
import type { ByteCursor } from "../cursor.js";

/** Object header continuation message 0x0010 (format spec IV.A.2.q): where the next chunk is. */
export interface ContinuationMessage {
  address: number;
  length: number;
}

export function parseContinuationMessage(ctx: Hdf5Context, c: ByteCursor): ContinuationMessage {
  const address = ctx.addr(c);
  if (address === undefined) c.fail("continuation address is undefined");
  const length = ctx.len(c);
  return { address, length };
}
