import type { Hdf5Context } from "../context.js";
import type { ByteCursor } from "../cursor.js";

/** Symbol table message 0x0011 (format spec IV.A.2.r): an old-style group's B-tree and local heap. */
export interface SymbolTableMessage {
  btreeAddress: number;
  localHeapAddress: number;
}

export function parseSymbolTableMessage(ctx: Hdf5Context, c: ByteCursor): SymbolTableMessage {
  const btreeAddress = ctx.addr(c);
  const localHeapAddress = ctx.addr(c);
  if (btreeAddress === undefined || localHeapAddress === undefined) c.fail("symbol table message has an undefined address");
  return { btreeAddress, localHeapAddress };
}
