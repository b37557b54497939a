import type { Hdf5Context } from "../context.js";
import type { ByteCursor } from "../cursor.js";

/** One slot of the external data files message, before its name is looked up in the local heap. */
export interface RawExternalSlot {
  nameOffset: number;
  offset: number;
  /** Undefined for H5F_UNLIMITED (all bits set): the slot runs to the end of its file. */
  size: number | undefined;
}

/** Slots beyond this are damage (H5Pset_external adds them one call at a time). */
const MAX_SLOTS = 65535;

/**
 * External Data Files message 0x0007 (format spec IV.A.2.h): version 1, 3 reserved bytes, allocated
 * slots (16 bits), used slots (16 bits), the local heap holding the file names, then per used slot
 * the name's heap offset, the byte offset in the file, and the size reserved there (lengths).
 */
export function parseExternalFiles(ctx: Hdf5Context, c: ByteCursor): { heapAddress: number; slots: RawExternalSlot[] } {
  const version = c.u8();
  if (version !== 1) c.fail(`unsupported external data files message version ${version}`);
  c.skip(3);
  const allocated = c.u16();
  const used = c.u16();
  if (used > allocated || used > MAX_SLOTS) c.fail(`${used} used slots of ${allocated} allocated`);
  const heapAddress = ctx.addr(c);
  if (heapAddress === undefined) c.fail("external file name heap address is undefined");
  const slots: RawExternalSlot[] = [];
  for (let i = 0; i < used; i++) {
    const nameOffset = ctx.len(c);
    const offset = ctx.len(c);
    const size = c.address_(ctx.sizeOfLengths);
    slots.push({ nameOffset, offset, size });
  }
  return { heapAddress, slots };
}
