/**
 * Object headers found by their signature in bytes already read, before any link leads to them.
 *
 * netCDF-C writes a file's dimension scales (`time`, `lat`, `lon`) before any data, so their
 * headers sit in the head; when it defines and writes one variable after the other, everything
 * else (the root group's dense links, every variable's header, its chunk index) lies among the
 * data and is found only through the structure before it: six round trips for a Himawari-sized
 * granule. A dimension scale's `REFERENCE_LIST` attribute (the HDF5 Dimension Scales spec) names
 * the header of every dataset attached to it, so a reader that finds the scales in the head can
 * ask for those headers at once (docs/benchmarks.md, "Round trips").
 *
 * Only version 2 headers can be found this way: they start with "OHDR" and end their first chunk
 * with a checksum, which is verified here, so random bytes that spell the signature are not taken
 * for a header. What is found is a guess all the same (a header left in freed space, an attribute
 * that happens to hold one): it may cost reads, and the walk of the links still decides what the
 * file holds.
 */
import type { Hdf5Context } from "./context.js";
import type { AttributeElement, Hdf5Attribute } from "./model.js";
import { isHeldObjectHeaderV2 } from "./objectHeader.js";

/** Bytes looked at from the start of the file: netCDF-C's dimension scales lie in the first few hundred KiB. */
const HEADER_SCAN_LIMIT = 1024 * 1024;
/** Step of the scan: held bytes are taken in pieces of this size, so a hole costs one piece, not the scan. */
const PIECE = 4096;
const SIGNATURE = [0x4f, 0x48, 0x44, 0x52]; // "OHDR"

/**
 * Addresses of the version 2 object headers whose whole first chunk (checksum verified) lies in
 * bytes the source holds already, among the first `limit` bytes of the file. Reads nothing, and
 * looks through `peek`: what a layout hint learns is what the reader needed, not what it scanned.
 */
export function heldObjectHeaders(ctx: Hdf5Context, limit: number = HEADER_SCAN_LIMIT): number[] {
  const found: number[] = [];
  const end = Math.min(limit, ctx.fileSize - ctx.baseAddress);
  for (let start = 0; start < end; start += PIECE) {
    // A signature may straddle the next piece: look 3 bytes past this one when they are held.
    const piece = ctx.peek(start, Math.min(PIECE + 3, end - start)) ?? ctx.peek(start, Math.min(PIECE, end - start));
    if (piece === undefined) continue;
    for (let at = piece.indexOf(SIGNATURE[0]!); at >= 0 && at < PIECE; at = piece.indexOf(SIGNATURE[0]!, at + 1)) {
      if (piece[at + 1] === SIGNATURE[1] && piece[at + 2] === SIGNATURE[2] && piece[at + 3] === SIGNATURE[3] && isHeldObjectHeaderV2(ctx, start + at)) {
        found.push(start + at);
      }
    }
  }
  return found;
}

/**
 * The object header addresses a dimension scale's `REFERENCE_LIST` attribute names (records of a
 * dataset's object reference and the axis it is attached on); none when it has no such attribute.
 */
export function referencedByDimensionScale(attributes: readonly Hdf5Attribute[]): number[] {
  const addresses: number[] = [];
  const collect = (value: AttributeElement): void => {
    if (value === null || typeof value !== "object" || value instanceof Uint8Array) return;
    if (Array.isArray(value)) {
      for (const item of value) collect(item);
      return;
    }
    if ("objectAddress" in value && typeof value.objectAddress === "number") {
      addresses.push(value.objectAddress);
      return;
    }
    for (const field of Object.values(value)) collect(field);
  };
  for (const attribute of attributes) if (attribute.name === "REFERENCE_LIST") collect(attribute.values);
  return addresses;
}
