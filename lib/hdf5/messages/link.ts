import type { Hdf5Context } from "../context.js";
import type { ByteCursor } from "../cursor.js";
import type { Hdf5Link } from "../model.js";

/** One decoder for the module (a new one per call allocates more than the text). */
const utf8 = new TextDecoder();

export interface LinkMessage {
  link: Hdf5Link;
  creationOrder?: number;
}

/**
 * Link message 0x0006 (format spec IV.A.2.g): flags (bits 0-1 width of the name length, bit 2
 * creation order present, bit 3 link type present, bit 4 charset present), then the name and the
 * link information: an object header address (hard), a path (soft), or, for external links, a
 * flags byte followed by two NUL-terminated strings (file name, object path). User-defined links
 * (types 65-255) and types reserved for future HDF5 versions (2-63) carry a length and data only
 * their library understands: they are kept as links we never follow, so one of them costs that link.
 */
export function parseLinkMessage(ctx: Hdf5Context, c: ByteCursor): LinkMessage {
  const version = c.u8();
  if (version !== 1) c.fail(`unsupported link message version ${version}`);
  const flags = c.u8();
  const linkType = flags & 0x08 ? c.u8() : 0;
  const creationOrder = flags & 0x04 ? c.uint(8) : undefined;
  if (flags & 0x10) c.u8(); // character set of the name; UTF-8 decoding covers ASCII too
  const nameLength = c.uint(1 << (flags & 0x03));
  if (nameLength === 0) c.fail("link name is empty");
  const name = utf8.decode(c.take(nameLength));
  if (linkType === 0) {
    const address = ctx.addr(c);
    if (address === undefined) c.fail(`hard link ${name} has an undefined address`);
    return { link: { name, kind: "hard", address }, creationOrder };
  }
  if (linkType === 1) {
    const length = c.u16();
    return { link: { name, kind: "soft", target: utf8.decode(c.take(length)) }, creationOrder };
  }
  if (linkType === 64) {
    const length = c.u16();
    const info = c.sub(length, "external link");
    info.u8(); // version and flags
    const file = info.cstring();
    const path = info.cstring();
    return { link: { name, kind: "external", file, path }, creationOrder };
  }
  const length = c.u16();
  c.skip(length);
  return { link: { name, kind: "user-defined", linkType }, creationOrder };
}
