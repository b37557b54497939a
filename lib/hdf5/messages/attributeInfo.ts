import type { Hdf5Context } from "../context.js";
import type { ByteCursor } from "../cursor.js";

/** Attribute info message 0x0015 (format spec IV.A.2.v): where dense attributes live. */
export interface AttributeInfoMessage {
  creationOrderTracked: boolean;
  creationOrderIndexed: boolean;
  maxCreationIndex?: number;
  /** Fractal heap holding dense attribute messages; undefined while attributes are compact. */
  fractalHeapAddress: number | undefined;
  /** v2 B-tree (type 8) indexing dense attributes by name hash. */
  nameIndexAddress: number | undefined;
  /** v2 B-tree (type 9) indexing dense attributes by creation order. */
  creationOrderIndexAddress?: number;
}

export function parseAttributeInfo(ctx: Hdf5Context, c: ByteCursor): AttributeInfoMessage {
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported attribute info message version ${version}`);
  const flags = c.u8();
  const creationOrderTracked = (flags & 0x01) !== 0;
  const creationOrderIndexed = (flags & 0x02) !== 0;
  const maxCreationIndex = creationOrderTracked ? c.u16() : undefined;
  const fractalHeapAddress = ctx.addr(c);
  const nameIndexAddress = ctx.addr(c);
  const creationOrderIndexAddress = creationOrderIndexed ? ctx.addr(c) : undefined;
  return { creationOrderTracked, creationOrderIndexed, maxCreationIndex, fractalHeapAddress, nameIndexAddress, creationOrderIndexAddress };
}
