import { UnsupportedFeatureError } from "../../errors.js";
import type { Hdf5Context } from "../context.js";
import type { ByteCursor } from "../cursor.js";

/** Where a shared message really lives. */
export type SharedMessageLocation =
  /** In another object's header (a committed datatype is the common case). */
  | { kind: "object-header"; address: number }
  /** In the file's shared object header message (SOHM) heap, by fractal heap id. */
  | { kind: "sohm"; heapId: Uint8Array };

/**
 * Shared message encoding (format spec IV.A.2, "Shared Messages"), found in place of a message's
 * body when its "shared" flag is set, and in attribute messages for shared datatypes.
 * Version 1: version, type, 6 reserved bytes, then an old symbol table entry whose second field is
 * the object header address. Version 2: version, type, address. Version 3: version, type
 * (1 = SOHM heap, 2 = another object header), then an 8-byte heap id or an address.
 */
export function parseSharedMessage(ctx: Hdf5Context, c: ByteCursor): SharedMessageLocation {
  const version = c.u8();
  const type = c.u8();
  if (version === 1) {
    c.skip(6);
    c.skip(ctx.sizeOfOffsets); // link name offset of the embedded symbol table entry
    const address = ctx.addr(c);
    if (address === undefined) c.fail("shared message address is undefined");
    return { kind: "object-header", address };
  }
  if (version === 2 || (version === 3 && type === 2)) {
    const address = ctx.addr(c);
    if (address === undefined) c.fail("shared message address is undefined");
    return { kind: "object-header", address };
  }
  if (version === 3 && type === 1) return { kind: "sohm", heapId: c.take(8).slice() };
  if (version === 3) c.fail(`unknown shared message type ${type}`);
  return c.fail(`unsupported shared message version ${version}`);
}

