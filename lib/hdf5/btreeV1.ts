import { Hdf5FormatError } from "../errors.js";
import type { Hdf5Context } from "./context.js";
import type { ByteCursor } from "./cursor.js";
import { all, type Parse } from "./parse.js";

/** One level-0 entry of a version 1 B-tree: the key to the child's left, and the child's address. */
export interface BTreeV1Entry {
  /** Raw bytes of key i (the child's left key). A view into the node's buffer; do not mutate. */
  key: Uint8Array;
  /** Address of child i: a symbol table node (type 0) or a raw data chunk (type 1). */
  childAddress: number;
}

export interface BTreeV1Options {
  /**
   * How many entries to expect per node, for sizing the first read of each node (2K in the spec).
   * A node holding more costs a second read; fewer just over-reads. Defaults: 32 for group nodes
   * (2 x group internal node K of 16), 64 for chunk nodes (2 x indexed storage K of 32).
   */
  expectedEntries?: number;
}

/** Signature, node type, node level, entries used, left and right sibling addresses (III.A.1). */
function nodePrefixSize(sizeOfOffsets: number): number {
  return 4 + 1 + 1 + 2 + 2 * sizeOfOffsets;
}

interface PendingNode {
  address: number;
  /** Level the parent says this node must have; undefined for the root. */
  expectedLevel: number | undefined;
}

interface ParsedNode {
  level: number;
  keys: Uint8Array[];
  children: number[];
}

/**
 * All level-0 entries of a version 1 B-tree ("TREE", format spec III.A.1) in key order.
 *
 * A node of `entries` entries holds keys 0..entries and children 0..entries-1, interleaved as
 * key0 child0 key1 child1 ... key(entries). Child i covers keys in [key i, key i+1). For raw data
 * chunk trees (type 1) key i describes chunk i (size, filter mask, offsets); for group trees
 * (type 0) it is a local heap offset.
 *
 * Traversal is breadth-first and reads every node of a level concurrently: on S3 each read is a
 * round trip, so a tree costs (depth + 1) round trips, not one per node. Damaged trees fail with
 * an Hdf5FormatError instead of looping: every node is read at most once (cycles), each child
 * must be exactly one level below its parent (so depth is bounded by the root's 8-bit level),
 * and each node's entry count must fit in the bytes the file holds.
 */
export function* bTreeV1Leaves(
  ctx: Hdf5Context,
  rootAddress: number,
  nodeType: 0 | 1,
  keySize: number,
  structure: string,
  options: BTreeV1Options = {},
): Parse<BTreeV1Entry[]> {
  const what = `${structure} (v1 B-tree)`;
  if (!Number.isSafeInteger(keySize) || keySize <= 0) {
    throw new Hdf5FormatError(ctx.url, what, `invalid key size ${keySize}`, rootAddress);
  }
  const expectedEntries = options.expectedEntries ?? (nodeType === 0 ? 32 : 64);
  const visited = new Set<number>();
  let level: PendingNode[] = [{ address: rootAddress, expectedLevel: undefined }];
  let result: BTreeV1Entry[] = [];

  while (level.length > 0) {
    for (const node of level) {
      if (visited.has(node.address)) {
        throw new Hdf5FormatError(ctx.url, what, "B-tree node is reachable twice (cycle or shared child)", node.address);
      }
      visited.add(node.address);
    }
    // A level's nodes side by side: one round trip for those not held. (Loops rather than array
    // builtins here: docs/benchmarks.md, "Deoptimizations".)
    const reads: Parse<ParsedNode>[] = [];
    for (const node of level) reads.push(readNode(ctx, node, nodeType, keySize, expectedEntries, what));
    const parsed = yield* all(reads);
    const next: PendingNode[] = [];
    const leaves: BTreeV1Entry[] = [];
    let levelOfThisRound: number | undefined;
    for (let i = 0; i < parsed.length; i++) {
      const node = parsed[i]!;
      // All nodes reached in one round are at the same level (each child is exactly one below
      // its parent), so a round is either all leaves or all internal nodes.
      levelOfThisRound ??= node.level;
      if (node.level !== levelOfThisRound) {
        throw new Hdf5FormatError(ctx.url, what, `node level ${node.level} differs from its siblings' ${levelOfThisRound}`, level[i]!.address);
      }
      if (node.level === 0) {
        for (let e = 0; e < node.children.length; e++) leaves.push({ key: node.keys[e]!, childAddress: node.children[e]! });
      } else {
        for (const child of node.children) next.push({ address: child, expectedLevel: node.level - 1 });
      }
    }
    if (levelOfThisRound === 0) result = leaves;
    level = next;
  }
  return result;
}

/** One node: a generous first read, a second when it holds more entries than expected. */
function* readNode(ctx: Hdf5Context, node: PendingNode, nodeType: 0 | 1, keySize: number, expectedEntries: number, what: string): Parse<ParsedNode> {
  const first = yield* ctx.cursorUpToParse(node.address, nodeSize(ctx, keySize, expectedEntries), what);
  const needed = checkNodeHeader(ctx, first, node, nodeType, keySize);
  const cursor = needed > first.bytes.length ? yield* ctx.cursorParse(node.address, needed, what) : first;
  return parseNodeEntries(ctx, cursor, keySize);
}

/** Bytes of a node with `entries` entries. */
function nodeSize(ctx: Hdf5Context, keySize: number, entries: number): number {
  const o = ctx.sizeOfOffsets;
  return nodePrefixSize(o) + entries * o + (entries + 1) * keySize;
}

/** Check a node's header (signature, type, level, entry count against the file): its whole size. */
function checkNodeHeader(ctx: Hdf5Context, cursor: ByteCursor, node: PendingNode, nodeType: 0 | 1, keySize: number): number {
  const prefix = nodePrefixSize(ctx.sizeOfOffsets);
  if (cursor.remaining < prefix) cursor.fail(`node header needs ${prefix} bytes, the file has ${cursor.remaining}`);
  const signature = cursor.ascii(4);
  if (signature !== "TREE") cursor.fail(`bad signature ${JSON.stringify(signature)}, expected "TREE"`);
  const type = cursor.u8();
  if (type !== nodeType) cursor.fail(`node type ${type}, expected ${nodeType}`);
  const level = cursor.u8();
  if (node.expectedLevel !== undefined && level !== node.expectedLevel) {
    cursor.fail(`node level ${level}, but its parent is at level ${node.expectedLevel + 1}`);
  }
  const entries = cursor.u16();
  const needed = nodeSize(ctx, keySize, entries);
  // Checked against the file size before any allocation: an absurd count is a typed error.
  const available = ctx.fileSize - ctx.baseAddress - node.address;
  if (needed > available) {
    cursor.fail(`node claims ${entries} entries (${needed} bytes) but only ${available} bytes remain in the file`);
  }
  return needed;
}

/** A checked node's level, keys and children (its header read again from the start). */
function parseNodeEntries(ctx: Hdf5Context, cursor: ByteCursor, keySize: number): ParsedNode {
  cursor.pos = 5;
  const level = cursor.u8();
  const entries = cursor.u16();
  cursor.pos = nodePrefixSize(ctx.sizeOfOffsets);
  const keys: Uint8Array[] = new Array<Uint8Array>(entries + 1);
  const children: number[] = new Array<number>(entries);
  for (let e = 0; e < entries; e++) {
    keys[e] = cursor.take(keySize);
    const child = ctx.addr(cursor);
    if (child === undefined) cursor.fail(`child ${e} has the undefined address`);
    children[e] = child;
  }
  keys[entries] = cursor.take(keySize);
  return { level, keys, children };
}
