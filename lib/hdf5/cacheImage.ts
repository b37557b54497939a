import { Hdf5FormatError } from "../errors.js";
import { verifyChecksum } from "./checksum.js";
import type { Hdf5Context } from "./context.js";
import type { ByteCursor } from "./cursor.js";
import type { CacheImageEntry } from "./metadataOverlay.js";

/**
 * Metadata cache image message 0x0018 (superblock extension; H5Pset_mdc_image_config): version 0,
 * the image block's address and length.
 */
export function parseCacheImageMessage(ctx: Hdf5Context, c: ByteCursor): { address: number; length: number } {
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported metadata cache image message version ${version}`);
  const address = ctx.addr(c);
  if (address === undefined) c.fail("metadata cache image address is undefined");
  const length = ctx.len(c);
  return { address, length };
}

/** Entries more than this are damage (HDF5 writes one per cached metadata structure). */
const MAX_ENTRIES = 1_000_000;

/**
 * The metadata cache image block ("MDCI", HDF5 1.10+, H5Cimage.c): version 0, flags, the image
 * length, the entry count; per entry type, flags, ring, age (1 byte each), flush dependency child,
 * dirty child and parent counts (2 bytes each), LRU rank (4), the entry's file address and length,
 * the parents' addresses, then the entry's bytes; a checksum at the end.
 *
 * HDF5 writes metadata that was in its cache when the file was closed into this block instead of at
 * the metadata's own addresses, which stay unwritten (zeros) until a later read-write open. So the
 * image is not a hint: its entries are the file's metadata, and reads are served from them first.
 */
export async function readCacheImage(ctx: Hdf5Context, address: number, length: number): Promise<CacheImageEntry[]> {
  const c: ByteCursor = ctx.cursorNow(address, length, "metadata cache image") ?? (await ctx.cursor(address, length, "metadata cache image"));
  if (length < 4 + 2 + ctx.sizeOfLengths + 4 + 4) c.fail(`image of ${length} bytes is too small`);
  if (c.ascii(4) !== "MDCI") c.fail("missing MDCI signature");
  verifyChecksum(c.bytes.subarray(0, length - 4), new DataView(c.bytes.buffer, c.bytes.byteOffset + length - 4, 4).getUint32(0, true), ctx.url, "metadata cache image", address);
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported metadata cache image version ${version}`);
  const flags = c.u8();
  if (flags & 0x01) c.fail("cache resize status in the image is not defined by any HDF5 version");
  const dataLength = ctx.len(c);
  if (dataLength !== length) c.fail(`image data length ${dataLength} differs from the block length ${length}`);
  const count = c.u32();
  if (count === 0 || count > MAX_ENTRIES) c.fail(`implausible entry count ${count}`);
  const entries: CacheImageEntry[] = [];
  for (let i = 0; i < count; i++) {
    c.skip(4); // type, flags, ring, age
    c.u16(); // flush dependency child count
    c.u16(); // dirty child count
    const parents = c.u16();
    c.u32(); // LRU rank
    const entryAddress = ctx.addr(c);
    if (entryAddress === undefined) c.fail(`entry ${i} has an undefined address`);
    const size = ctx.len(c);
    if (size === 0) c.fail(`entry ${i} is empty`);
    c.skip(parents * ctx.sizeOfOffsets);
    if (size > c.remaining - 4) c.fail(`entry ${i} of ${size} bytes runs past the image`);
    entries.push({ address: entryAddress, bytes: c.take(size) });
  }
  entries.sort((a, b) => a.address - b.address);
  for (let i = 1; i < entries.length; i++) {
    const before = entries[i - 1]!;
    if (before.address + before.bytes.length > entries[i]!.address) {
      throw new Hdf5FormatError(ctx.url, "metadata cache image", `entries at ${before.address} and ${entries[i]!.address} overlap`, address);
    }
  }
  return entries;
}
