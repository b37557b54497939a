import type { ByteCursor } from "../cursor.js";
import type { Hdf5FillValue } from "../model.js";

const ALLOCATION_TIMES = { 1: "early", 2: "late", 3: "incremental" } as const;
const WRITE_TIMES = { 0: "on-alloc", 1: "never", 2: "if-set" } as const;

function allocationTime(c: ByteCursor, code: number): Hdf5FillValue["allocationTime"] {
  const t = ALLOCATION_TIMES[code as keyof typeof ALLOCATION_TIMES];
  if (t === undefined) c.fail(`unknown space allocation time ${code}`);
  return t;
}

function writeTime(c: ByteCursor, code: number): Hdf5FillValue["writeTime"] {
  const t = WRITE_TIMES[code as keyof typeof WRITE_TIMES];
  if (t === undefined) c.fail(`unknown fill value write time ${code}`);
  return t;
}

/**
 * Fill value message 0x0005 (format spec IV.A.2.f).
 * Versions 1 and 2: allocation time, write time, "defined" byte, then size and value (v2 omits
 * them when undefined). As HDF5 decodes it (H5O_fill_new_decode), "not defined" means the
 * undefined state, "defined" with size 0 the library default, size > 0 a user value.
 * Version 3: one flags byte (bits 0-1 allocation time, 2-3 write time, 4 undefined, 5 has value).
 */
export function parseFillValue(c: ByteCursor): Hdf5FillValue {
  const version = c.u8();
  if (version === 1 || version === 2) {
    const alloc = allocationTime(c, c.u8());
    const write = writeTime(c, c.u8());
    const defined = c.u8() !== 0;
    if (version === 2 && !defined) return { state: "undefined", allocationTime: alloc, writeTime: write };
    const size = c.u32();
    const value = c.take(size);
    if (!defined) return { state: "undefined", allocationTime: alloc, writeTime: write };
    if (size === 0) return { state: "default", allocationTime: alloc, writeTime: write };
    return { state: "user", value: value.slice(), allocationTime: alloc, writeTime: write };
  }
  if (version === 3) {
    const flags = c.u8();
    const alloc = allocationTime(c, flags & 0x03);
    const write = writeTime(c, (flags >> 2) & 0x03);
    if (flags & 0x10) return { state: "undefined", allocationTime: alloc, writeTime: write };
    if (flags & 0x20) {
      const size = c.u32();
      const value = c.take(size);
      if (size === 0) return { state: "default", allocationTime: alloc, writeTime: write };
      return { state: "user", value: value.slice(), allocationTime: alloc, writeTime: write };
    }
    return { state: "default", allocationTime: alloc, writeTime: write };
  }
  return c.fail(`unsupported fill value message version ${version}`);
}

/** Old fill value message 0x0004 (format spec IV.A.2.e): a size and the value bytes. */
export function parseOldFillValue(c: ByteCursor): Uint8Array {
  const size = c.u32();
  return c.take(size).slice();
}
