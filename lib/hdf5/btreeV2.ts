import { Hdf5FormatError } from "../errors.js";
import type { ByteCursor } from "./cursor.js";
import type { Hdf5Context } from "./context.js";
import { verifyChecksum } from "./checksum.js";
import { all, runParse, type Parse } from "./parse.js";

/** The version 2 B-tree header ("BTHD", format spec III.A.2). */
export interface BTreeV2Header {
  /** Record type: 1..11 (5/6 group links by name/creation order, 8/9 attributes, 10/11 chunks). */
  type: number;
  /** Size in bytes of every node (internal and leaf). */
  nodeSize: number;
  /** Size in bytes of one record. */
  recordSize: number;
  /** Depth of the tree: 0 when the root is a leaf. */
  depth: number;
  splitPercent: number;
  mergePercent: number;
  /** Root node address; undefined for an empty tree. */
  rootAddress: number | undefined;
  /** Number of records in the root node. */
  rootRecordCount: number;
  /** Number of records in the whole tree. */
  totalRecords: number;
}

/** Signature + version + type + checksum: the fixed bytes of every node (H5B2_METADATA_PREFIX_SIZE). */
const NODE_OVERHEAD = 4 + 1 + 1 + 4;

/** Per-depth node geometry the spec derives from the header (H5B2__hdr_init). */
interface DepthInfo {
  /** Max records a node at this depth holds. */
  maxRecords: number;
  /** Max records in the whole subtree under a node at this depth. */
  cumulativeMaxRecords: number;
  /** Bytes of a "total number of records in child node" field pointing to a node at this depth. */
  cumulativeMaxRecordsSize: number;
}

/** Bytes needed to hold `n` as an unsigned integer: floor(log2(n)) / 8 + 1 (H5VM_limit_enc_size). */
function limitEncodedSize(n: number): number {
  return Math.floor(Math.floor(Math.log2(Math.max(n, 1))) / 8) + 1;
}

export function readBTreeV2Header(ctx: Hdf5Context, headerAddress: number, structure: string): Promise<BTreeV2Header> {
  return runParse(bTreeV2Header(ctx, headerAddress, structure));
}

function* bTreeV2Header(ctx: Hdf5Context, headerAddress: number, structure: string): Parse<BTreeV2Header> {
  const what = `${structure} (v2 B-tree header)`;
  const size = 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + ctx.sizeOfOffsets + 2 + ctx.sizeOfLengths + 4;
  const c = yield* ctx.cursorParse(headerAddress, size, what);
  const signature = c.ascii(4);
  if (signature !== "BTHD") c.fail(`bad signature ${JSON.stringify(signature)}, expected "BTHD"`);
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported version ${version}`);
  const type = c.u8();
  const nodeSize = c.u32();
  const recordSize = c.u16();
  const depth = c.u16();
  const splitPercent = c.u8();
  const mergePercent = c.u8();
  const rootAddress = ctx.addr(c);
  const rootRecordCount = c.u16();
  const totalRecords = ctx.len(c);
  const checksumAt = c.pos;
  verifyChecksum(c.bytes.subarray(0, checksumAt), c.u32(), ctx.url, what, headerAddress);
  return { type, nodeSize, recordSize, depth, splitPercent, mergePercent, rootAddress, rootRecordCount, totalRecords };
}

/**
 * Derive node geometry for depths 0..header.depth, validating the header against the file size.
 * The "number of records" and "total number of records" fields of internal-node child pointers
 * are variable-width (III.A.2 "Version 2 B-tree Internal Node"): the former is sized for the most
 * records a leaf can hold (the largest count any node can hold), the latter for the most records
 * the child's whole subtree can hold. Both follow H5B2__hdr_init exactly.
 */
function depthInfo(ctx: Hdf5Context, header: BTreeV2Header, headerAddress: number, what: string): { info: DepthInfo[]; maxRecordsSize: number } {
  const fail = (detail: string): never => {
    throw new Hdf5FormatError(ctx.url, what, detail, headerAddress);
  };
  if (header.recordSize === 0) fail("record size 0");
  if (header.nodeSize <= NODE_OVERHEAD + header.recordSize) fail(`node size ${header.nodeSize} holds no record of ${header.recordSize} bytes`);
  if (header.nodeSize > ctx.fileSize) fail(`node size ${header.nodeSize} exceeds the file size ${ctx.fileSize}`);
  if (header.totalRecords * header.recordSize > ctx.fileSize) {
    fail(`${header.totalRecords} records of ${header.recordSize} bytes cannot fit in a ${ctx.fileSize}-byte file`);
  }
  // Every internal node has at least one record and two children, so a tree of depth d holds at
  // least 2^d - 1 records: this bounds the depth by the record count (and so by the file size).
  if (header.depth > 0 && (header.depth >= 53 || 2 ** header.depth - 1 > header.totalRecords)) {
    fail(`depth ${header.depth} is impossible for ${header.totalRecords} records`);
  }

  const leafMax = Math.floor((header.nodeSize - NODE_OVERHEAD) / header.recordSize);
  const maxRecordsSize = limitEncodedSize(leafMax);
  const info: DepthInfo[] = [{ maxRecords: leafMax, cumulativeMaxRecords: leafMax, cumulativeMaxRecordsSize: 0 }];
  for (let d = 1; d <= header.depth; d++) {
    const below = info[d - 1]!;
    const pointerSize = ctx.sizeOfOffsets + maxRecordsSize + (d > 1 ? below.cumulativeMaxRecordsSize : 0);
    const maxRecords = Math.floor((header.nodeSize - (NODE_OVERHEAD + pointerSize)) / (header.recordSize + pointerSize));
    if (maxRecords < 1) fail(`node size ${header.nodeSize} holds no record at depth ${d}`);
    const cumulativeMaxRecords = (maxRecords + 1) * below.cumulativeMaxRecords + maxRecords;
    if (!Number.isSafeInteger(cumulativeMaxRecords)) fail(`depth ${header.depth} overflows the record counts`);
    info.push({ maxRecords, cumulativeMaxRecords, cumulativeMaxRecordsSize: limitEncodedSize(cumulativeMaxRecords) });
  }
  return { info, maxRecordsSize };
}

/** A child not yet read: where it is, its depth, and how many records its parent says it has. */
interface PendingChild {
  kind: "child";
  address: number;
  depth: number;
  records: number;
  /** Records in its subtree per the parent (equal to `records` for leaves). */
  totalRecords: number;
}

type Slot = Uint8Array | PendingChild;

/**
 * All records of a version 2 B-tree in key order (III.A.2), as raw `recordSize`-byte views.
 *
 * An internal node with n records has n+1 children, in order child0 rec0 child1 rec1 ... child n,
 * so records come out of an in-order walk. To keep one round trip per level we walk breadth-first
 * over a sequence of "slots" (a record, or a child still to read): each round reads every pending
 * child concurrently and splices its contents in place, which keeps the key order. Node and record
 * counts are validated against the geometry and the file size; every node is read at most once.
 */
export function readBTreeV2Records(ctx: Hdf5Context, headerAddress: number, structure: string): Promise<{ header: BTreeV2Header; records: Uint8Array[] }> {
  return runParse(bTreeV2Records(ctx, headerAddress, structure));
}

/** `readBTreeV2Records` as a parse (`parse.ts`). */
export function* bTreeV2Records(ctx: Hdf5Context, headerAddress: number, structure: string): Parse<{ header: BTreeV2Header; records: Uint8Array[] }> {
  const header = yield* bTreeV2Header(ctx, headerAddress, structure);
  const what = `${structure} (v2 B-tree)`;
  const { info, maxRecordsSize } = depthInfo(ctx, header, headerAddress, what);
  if (header.rootAddress === undefined) {
    if (header.totalRecords !== 0) {
      throw new Hdf5FormatError(ctx.url, what, `no root node but ${header.totalRecords} records`, headerAddress);
    }
    return { header, records: [] };
  }

  const visited = new Set<number>([headerAddress]);
  let slots: Slot[] = [
    { kind: "child", address: header.rootAddress, depth: header.depth, records: header.rootRecordCount, totalRecords: header.totalRecords },
  ];
  for (let round = 0; round <= header.depth; round++) {
    const pending = slots.filter((s): s is PendingChild => !(s instanceof Uint8Array));
    if (pending.length === 0) break;
    for (const child of pending) {
      if (visited.has(child.address)) {
        throw new Hdf5FormatError(ctx.url, what, "node is reachable twice (cycle or shared child)", child.address);
      }
      visited.add(child.address);
    }
    const expanded = yield* all(pending.map((child) => readNode(ctx, header, info, maxRecordsSize, child, what)));
    const next: Slot[] = [];
    let p = 0;
    for (const slot of slots) {
      if (slot instanceof Uint8Array) next.push(slot);
      else for (const s of expanded[p++]!) next.push(s);
    }
    slots = next;
  }
  // After depth+1 rounds every child has been replaced (leaves have no children), so only
  // records remain; the count must agree with the header.
  const records = slots as Uint8Array[];
  if (records.length !== header.totalRecords) {
    throw new Hdf5FormatError(ctx.url, what, `found ${records.length} records, the header says ${header.totalRecords}`, headerAddress);
  }
  return { header, records };
}

function* readNode(
  ctx: Hdf5Context,
  header: BTreeV2Header,
  info: DepthInfo[],
  maxRecordsSize: number,
  node: PendingChild,
  what: string,
): Parse<Slot[]> {
  const leaf = node.depth === 0;
  const nodeInfo = info[node.depth]!;
  const structure = `${what} ${leaf ? "leaf" : "internal"} node`;
  if (node.records > nodeInfo.maxRecords) {
    throw new Hdf5FormatError(ctx.url, structure, `${node.records} records exceed the ${nodeInfo.maxRecords} a node at depth ${node.depth} holds`, node.address);
  }
  // Pointers in a node at depth > 1 also carry the child's subtree total; at depth 1 the
  // children are leaves, whose total is their own record count.
  const pointerSize = leaf ? 0 : ctx.sizeOfOffsets + maxRecordsSize + (node.depth > 1 ? info[node.depth - 1]!.cumulativeMaxRecordsSize : 0);
  const used = 6 + node.records * header.recordSize + (leaf ? 0 : (node.records + 1) * pointerSize) + 4;
  const c: ByteCursor = yield* ctx.cursorParse(node.address, used, structure);
  const signature = c.ascii(4);
  const expected = leaf ? "BTLF" : "BTIN";
  if (signature !== expected) c.fail(`bad signature ${JSON.stringify(signature)}, expected "${expected}"`);
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported version ${version}`);
  const type = c.u8();
  if (type !== header.type) c.fail(`record type ${type}, the header says ${header.type}`);
  // The checksum covers the used part of the node only; it sits right after the last pointer.
  const stored = new DataView(c.bytes.buffer, c.bytes.byteOffset, used).getUint32(used - 4, true);
  verifyChecksum(c.bytes.subarray(0, used - 4), stored, ctx.url, structure, node.address);

  const records: Uint8Array[] = new Array<Uint8Array>(node.records);
  for (let i = 0; i < node.records; i++) records[i] = c.take(header.recordSize);
  if (leaf) return records;

  const childDepth = node.depth - 1;
  const out: Slot[] = [];
  let subtreeTotal = node.records;
  for (let i = 0; i <= node.records; i++) {
    const address = ctx.addr(c);
    if (address === undefined) c.fail(`child ${i} has the undefined address`);
    const childRecords = c.uint(maxRecordsSize);
    const childTotal = childDepth > 0 ? c.uint(info[childDepth]!.cumulativeMaxRecordsSize) : childRecords;
    if (childTotal < childRecords) c.fail(`child ${i} has ${childRecords} records but a subtree total of ${childTotal}`);
    subtreeTotal += childTotal;
    out.push({ kind: "child", address, depth: childDepth, records: childRecords, totalRecords: childTotal });
    if (i < node.records) out.push(records[i]!);
  }
  if (subtreeTotal !== node.totalRecords) {
    c.fail(`subtree holds ${subtreeTotal} records, its parent says ${node.totalRecords}`);
  }
  return out;
}
