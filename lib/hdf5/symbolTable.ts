import { Hdf5FormatError } from "../errors.js";
import { bTreeV1Leaves } from "./btreeV1.js";
import { all, both, type Parse } from "./parse.js";
import type { Hdf5Context } from "./context.js";
import type { ByteCursor } from "./cursor.js";
import { localHeap, type LocalHeap } from "./localHeap.js";
import type { Hdf5Link } from "./model.js";

/** One symbol table entry (format spec III.C). */
export interface SymbolTableEntry {
  linkNameOffset: number;
  objectHeaderAddress: number | undefined;
  cacheType: number;
  /** Cache type 1: the child group's B-tree and local heap. */
  cachedBTreeAddress?: number;
  cachedHeapAddress?: number;
  /** Cache type 2: offset of a soft link's value in the local heap. */
  softLinkOffset?: number;
}

export function symbolTableEntrySize(ctx: Hdf5Context): number {
  return 2 * ctx.sizeOfOffsets + 4 + 4 + 16;
}

export function parseSymbolTableEntry(ctx: Hdf5Context, c: ByteCursor): SymbolTableEntry {
  const linkNameOffset = c.uint(ctx.sizeOfOffsets);
  const objectHeaderAddress = ctx.addr(c);
  const cacheType = c.u32();
  c.u32(); // reserved
  const scratch = c.sub(16, "symbol table entry scratch pad");
  const entry: SymbolTableEntry = { linkNameOffset, objectHeaderAddress, cacheType };
  if (cacheType === 1) {
    entry.cachedBTreeAddress = ctx.addr(scratch);
    entry.cachedHeapAddress = ctx.addr(scratch);
  } else if (cacheType === 2) {
    entry.softLinkOffset = scratch.u32();
  }
  return entry;
}

/**
 * A symbol table node, "SNOD" (format spec III.B): version 1, reserved, number of symbols, then
 * that many entries (the node has room for 2K, of which only the first `count` are valid).
 */
function* symbolTableNode(ctx: Hdf5Context, address: number, expectedEntries: number): Parse<SymbolTableEntry[]> {
  const entrySize = symbolTableEntrySize(ctx);
  let c = yield* ctx.cursorUpToParse(address, 8 + expectedEntries * entrySize, "symbol table node");
  if (c.ascii(4) !== "SNOD") c.fail("missing SNOD signature");
  const version = c.u8();
  if (version !== 1) c.fail(`unsupported symbol table node version ${version}`);
  c.u8();
  const count = c.u16();
  if (8 + count * entrySize > c.bytes.length) {
    c = yield* ctx.cursorParse(address, 8 + count * entrySize, "symbol table node");
    c.pos = 8;
  }
  const entries: SymbolTableEntry[] = [];
  for (let i = 0; i < count; i++) entries.push(parseSymbolTableEntry(ctx, c));
  return entries;
}

/**
 * The links of an old-style group: walk its v1 B-tree (type 0) to the symbol table nodes, read
 * those and the local heap concurrently, and turn entries into links (cache type 2 = soft link,
 * whose value is in the local heap).
 */
export function* symbolTableLinks(ctx: Hdf5Context, btreeAddress: number, heapAddress: number, groupLeafNodeK: number): Parse<Hdf5Link[]> {
  const [leaves, heap] = yield* both(bTreeV1Leaves(ctx, btreeAddress, 0, ctx.sizeOfLengths, "group"), localHeap(ctx, heapAddress));
  const seen = new Set<number>();
  for (const leaf of leaves) {
    if (seen.has(leaf.childAddress)) {
      throw new Hdf5FormatError(ctx.url, "group B-tree", "symbol table node is referenced twice", leaf.childAddress);
    }
    seen.add(leaf.childAddress);
  }
  const nodes = yield* all(leaves.map((leaf) => symbolTableNode(ctx, leaf.childAddress, 2 * groupLeafNodeK)));
  return nodes.flat().map((entry) => entryToLink(ctx, entry, heap));
}

function entryToLink(ctx: Hdf5Context, entry: SymbolTableEntry, heap: LocalHeap): Hdf5Link {
  const name = heap.stringAt(entry.linkNameOffset);
  if (entry.cacheType === 2 && entry.softLinkOffset !== undefined) {
    return { name, kind: "soft", target: heap.stringAt(entry.softLinkOffset) };
  }
  if (entry.objectHeaderAddress === undefined) {
    throw new Hdf5FormatError(ctx.url, "symbol table entry", `link ${name} has an undefined object header address`, heap.address);
  }
  return { name, kind: "hard", address: entry.objectHeaderAddress };
}
