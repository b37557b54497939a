import { Hdf5FormatError, UnsupportedFeatureError } from "../errors.js";
import { readBTreeV2Records } from "./btreeV2.js";
import { parseNow, runParse, type Parse } from "./parse.js";
import { isPowerOfTwo } from "./bytes.js";
import { verifyChecksum } from "./checksum.js";
import type { Hdf5Context } from "./context.js";
import { ByteCursor } from "./cursor.js";

/** The parameters of a fractal heap header, "FRHP" (format spec III.G). */
export interface FractalHeapHeader {
  address: number;
  heapIdLength: number;
  filterInfoLength: number;
  flags: number;
  maxManagedObjectSize: number;
  hugeObjectBTreeAddress: number | undefined;
  tableWidth: number;
  startingBlockSize: number;
  maxDirectBlockSize: number;
  /** log2 of the maximum heap size (bits of a heap offset). */
  maxHeapSizeBits: number;
  startingRootRows: number;
  rootBlockAddress: number | undefined;
  /** 0: the root is a direct block; otherwise the root indirect block's row count. */
  currentRootRows: number;
  /** Present when the heap has I/O filters: the root direct block's filtered size. */
  filteredRootDirectBlockSize?: number;
}

/** The largest heap root block read before an object of it is asked for (prefetchRoot). */
const MAX_PREFETCHED_ROOT = 64 * 1024;

/** Bits needed for `n` (a power of two): log2. */
const log2 = (n: number): number => Math.round(Math.log2(n));

/**
 * A fractal heap: dense link and attribute storage. Objects are addressed by heap ids; managed
 * objects are located with the doubling-table arithmetic of format spec III.G instead of reading
 * the whole heap, so fetching one attribute reads the header, the indirect blocks on its path and
 * one direct block. Blocks are cached, so objects sharing a block cost one read.
 */
export class FractalHeap {
  private readonly blocks = new Map<number, Promise<Uint8Array>>();
  private readonly indirectBlocks = new Map<number, Promise<number[]>>();
  /** Blocks parsed already, by address (what `objectNow` answers from). */
  private readonly parsedDirect = new Map<number, Uint8Array>();
  private readonly parsedIndirect = new Map<number, number[]>();
  private hugeRecords: Promise<Map<number, { address: number; length: number }>> | undefined;
  /** Bytes of a heap offset (block offsets and managed ids). */
  readonly offsetSize: number;
  /** Bytes of a managed object's length in its id. */
  readonly lengthSize: number;
  /** Rows of a fully direct indirect block: rows whose blocks are direct. */
  readonly maxDirectRows: number;
  readonly checksummedDirectBlocks: boolean;

  private constructor(
    private readonly ctx: Hdf5Context,
    readonly header: FractalHeapHeader,
  ) {
    this.offsetSize = Math.ceil(header.maxHeapSizeBits / 8);
    // H5HF__hdr_finish_init_phase1: MIN(bytes for log2(max direct block size), H5VM_limit_enc_size(max managed object size))
    const maxDirectOffsetSize = Math.ceil(log2(header.maxDirectBlockSize) / 8);
    const limitEncodedSize = Math.floor(Math.floor(Math.log2(Math.max(1, header.maxManagedObjectSize))) / 8) + 1;
    this.lengthSize = Math.min(maxDirectOffsetSize, limitEncodedSize);
    this.maxDirectRows = log2(header.maxDirectBlockSize) - log2(header.startingBlockSize) + 2;
    this.checksummedDirectBlocks = (header.flags & 0x02) !== 0;
  }

  static async open(ctx: Hdf5Context, address: number): Promise<FractalHeap> {
    const c = ctx.cursorUpToNow(address, 512, "fractal heap header") ?? (await ctx.cursorUpTo(address, 512, "fractal heap header"));
    const header = parseHeader(ctx, c, address);
    return new FractalHeap(ctx, header);
  }

  /** The heap at once when its header is among the bytes already read, else undefined. */
  static openNow(ctx: Hdf5Context, address: number): FractalHeap | undefined {
    const c = ctx.cursorUpToNow(address, 512, "fractal heap header");
    return c === undefined ? undefined : new FractalHeap(ctx, parseHeader(ctx, c, address));
  }

  /** True when the root block's first bytes are already read (or the heap is empty). */
  rootHeld(): boolean {
    const root = this.header.rootBlockAddress;
    return root === undefined || this.ctx.peek(root, 1) !== undefined;
  }

  /**
   * Start reading the root block (a direct block, or an indirect block's child table) before any
   * heap id is known: dense storage reads its name index concurrently, so the heap block then
   * arrives in the round of the index's root instead of the round after it. Cached: the objects
   * read later use it; a failure surfaces (if ever) when an object is read.
   */
  prefetchRoot(): void {
    const { rootBlockAddress, currentRootRows, startingBlockSize, filterInfoLength, tableWidth } = this.header;
    if (rootBlockAddress === undefined || filterInfoLength > 0) return;
    // A guess must stay cheap: a header that claims a huge root (damage, or a heap nobody reads
    // a managed object of) is left to the reads that need it.
    const rootSize = currentRootRows === 0 ? startingBlockSize : currentRootRows * tableWidth * this.ctx.sizeOfOffsets;
    if (rootSize > MAX_PREFETCHED_ROOT) return;
    // Held already: `objectNow` parses it when an object is asked for.
    if (this.ctx.peek(rootBlockAddress, rootSize) !== undefined) return;
    const p = currentRootRows === 0 ? this.directBlock(rootBlockAddress, 0, startingBlockSize) : this.indirectBlock(rootBlockAddress, 0, currentRootRows);
    p.catch(() => undefined);
  }

  private fail(detail: string, address = this.header.address): never {
    throw new Hdf5FormatError(this.ctx.url, "fractal heap", detail, address);
  }

  /** Size of blocks in doubling-table row `row` (format spec III.G, "doubling table"). */
  private rowBlockSize(row: number): number {
    return row === 0 ? this.header.startingBlockSize : this.header.startingBlockSize * 2 ** (row - 1);
  }

  /** The object with this heap id (format spec III.G "Fractal Heap ID"). */
  async object(id: Uint8Array): Promise<Uint8Array> {
    if (id.length < 1) this.fail("empty heap id");
    const first = id[0]!;
    const version = (first & 0xc0) >> 6;
    const type = (first & 0x30) >> 4;
    if (version !== 0) this.fail(`unsupported heap id version ${version}`);
    const c = new ByteCursor(id, this.header.address, this.ctx.url, "fractal heap id");
    c.skip(1);
    if (type === 0) {
      const offset = c.uint(this.offsetSize);
      const length = c.uint(this.lengthSize);
      return this.managedObject(offset, length);
    }
    if (type === 1) return this.hugeObject(c);
    if (type === 2) return this.tinyObject(id);
    return this.fail(`unknown heap id type ${type}`);
  }

  /** Tiny objects live in the id itself; ids longer than 18 bytes use a 12-bit length (H5HFtiny.c). */
  private tinyObject(id: Uint8Array): Uint8Array {
    const extended = this.header.heapIdLength - 1 > 16 && this.header.heapIdLength - 1 !== 17;
    let length: number;
    let start: number;
    if (extended) {
      if (id.length < 2) this.fail("tiny heap id is truncated");
      length = (((id[0]! & 0x0f) << 8) | id[1]!) + 1;
      start = 2;
    } else {
      length = (id[0]! & 0x0f) + 1;
      start = 1;
    }
    if (start + length > id.length) this.fail(`tiny object of ${length} bytes does not fit its ${id.length}-byte id`);
    return id.subarray(start, start + length);
  }

  /**
   * Huge objects (H5HFhuge.c): when the id is long enough it holds the address and length directly;
   * otherwise it holds a key into the huge-object v2 B-tree (record type 1: address, length, id).
   * Filtered huge objects are not supported.
   */
  private async hugeObject(c: ByteCursor): Promise<Uint8Array> {
    const { heapIdLength, filterInfoLength } = this.header;
    const ctx = this.ctx;
    if (filterInfoLength > 0) throw new UnsupportedFeatureError(ctx.url, "fractal heap", "filtered huge objects");
    if (heapIdLength - 1 >= ctx.sizeOfOffsets + ctx.sizeOfLengths) {
      const address = ctx.addr(c);
      const length = ctx.len(c);
      if (address === undefined) this.fail("huge object address is undefined");
      return ctx.read(address, length, "fractal heap huge object");
    }
    const key = c.uint(Math.min(heapIdLength - 1, 8));
    this.hugeRecords ??= this.readHugeRecords();
    const record = (await this.hugeRecords).get(key);
    if (!record) this.fail(`no huge object with id ${key}`);
    return ctx.read(record.address, record.length, "fractal heap huge object");
  }

  private async readHugeRecords(): Promise<Map<number, { address: number; length: number }>> {
    const ctx = this.ctx;
    const address = this.header.hugeObjectBTreeAddress;
    if (address === undefined) this.fail("huge object id but no huge object B-tree");
    const { header, records } = await readBTreeV2Records(ctx, address, "fractal heap huge objects");
    if (header.type !== 1) this.fail(`huge object B-tree has type ${header.type}, expected 1`);
    const map = new Map<number, { address: number; length: number }>();
    for (const record of records) {
      const rc = new ByteCursor(record, address, ctx.url, "huge object record");
      const objectAddress = ctx.addr(rc);
      const length = ctx.len(rc);
      const id = ctx.len(rc);
      if (objectAddress !== undefined) map.set(id, { address: objectAddress, length });
    }
    return map;
  }

  /**
   * The object with this heap id at once, without a promise, when the blocks on its path are
   * held (parsed already, or their bytes read: the root block is usually read beside the name
   * index); undefined otherwise (then `object`). Under an activity's AsyncLocalStorage node runs
   * promise hooks on every promise, and a file's dense attributes are read one object each.
   */
  objectNow(id: Uint8Array): Uint8Array | undefined {
    if (id.length < 1 || (id[0]! & 0xc0) !== 0) return undefined;
    const type = (id[0]! & 0x30) >> 4;
    if (type === 2) return this.tinyObject(id);
    if (type !== 0) return undefined;
    const c = new ByteCursor(id, this.header.address, this.ctx.url, "fractal heap id");
    c.skip(1);
    const offset = c.uint(this.offsetSize);
    const length = c.uint(this.lengthSize);
    const block = this.directBlockOf(offset, (address, iblockOffset, rows) => this.parsedIndirect.get(address) ?? this.indirectBlockNow(address, iblockOffset, rows));
    if (block === undefined) return undefined;
    const bytes = this.parsedDirect.get(block.address) ?? this.directBlockNow(block.address, block.offset, block.size);
    return bytes === undefined ? undefined : this.objectIn(bytes, block, offset, length);
  }

  /**
   * A managed object: descend from the root through indirect blocks, each time picking the
   * row and column that cover `offset`, down to the direct block holding it. Offsets within a
   * direct block count from the block's start (its header included).
   */
  private async managedObject(offset: number, length: number): Promise<Uint8Array> {
    if (this.header.rootBlockAddress === undefined) this.fail("managed object in an empty heap");
    const pending: { address: number; offset: number; rows: number }[] = [];
    let block = this.directBlockOf(offset, (address, iblockOffset, rows) => {
      pending.push({ address, offset: iblockOffset, rows });
      return undefined;
    });
    while (block === undefined) {
      const wanted = pending.pop()!;
      const children = await this.indirectBlock(wanted.address, wanted.offset, wanted.rows);
      block = this.directBlockOf(offset, (address, iblockOffset, rows) => {
        if (address === wanted.address) return children;
        const known = this.parsedIndirect.get(address);
        if (known === undefined) pending.push({ address, offset: iblockOffset, rows });
        return known;
      });
    }
    return this.objectIn(await this.directBlock(block.address, block.offset, block.size), block, offset, length);
  }

  /** `offset`+`length` within the direct block that holds it, checked. */
  private objectIn(bytes: Uint8Array, block: { address: number; offset: number }, offset: number, length: number): Uint8Array {
    const start = offset - block.offset;
    if (start < 0 || start + length > bytes.length) {
      this.fail(`object ${offset}+${length} is outside its direct block (${bytes.length} bytes)`, block.address);
    }
    return bytes.subarray(start, start + length);
  }

  /**
   * The direct block holding heap offset `offset`: where it is, its heap offset and size, found
   * with the doubling-table arithmetic from the root; undefined when an indirect block on the way
   * is not at hand (`children` answers the child addresses of the indirect blocks it knows).
   */
  private directBlockOf(
    offset: number,
    children: (address: number, iblockOffset: number, rows: number) => readonly number[] | undefined,
  ): { address: number; offset: number; size: number } | undefined {
    const { header } = this;
    if (header.rootBlockAddress === undefined) return undefined;
    if (header.currentRootRows === 0) return { address: header.rootBlockAddress, offset: 0, size: header.startingBlockSize };
    let rows = header.currentRootRows;
    let iblockAddress = header.rootBlockAddress;
    let iblockOffset = 0;
    const visited = new Set<number>();
    for (;;) {
      if (visited.has(iblockAddress)) this.fail("indirect block cycle", iblockAddress);
      visited.add(iblockAddress);
      const known = children(iblockAddress, iblockOffset, rows);
      if (known === undefined) return undefined;
      const relative = offset - iblockOffset;
      let row = 0;
      let rowStart = 0;
      while (row < rows && relative >= rowStart + header.tableWidth * this.rowBlockSize(row)) {
        rowStart += header.tableWidth * this.rowBlockSize(row);
        row++;
      }
      if (row >= rows) this.fail(`heap offset ${offset} is beyond the indirect block at ${iblockAddress}`);
      const size = this.rowBlockSize(row);
      const column = Math.floor((relative - rowStart) / size);
      const childOffset = iblockOffset + rowStart + column * size;
      const childAddress = known[row * header.tableWidth + column];
      if (childAddress === undefined || childAddress < 0) {
        this.fail(`heap offset ${offset} falls in an unallocated block`, iblockAddress);
      }
      if (row < this.maxDirectRows) return { address: childAddress, offset: childOffset, size };
      // An indirect child in row r spans rowBlockSize(r) bytes of heap space:
      // its rows = log2(size) - log2(starting block size * width) + 1 (H5HFiblock.c).
      rows = log2(size) - log2(header.startingBlockSize * header.tableWidth) + 1;
      iblockAddress = childAddress;
      iblockOffset = childOffset;
    }
  }

  private directBlockHeaderSize(): number {
    return 4 + 1 + this.ctx.sizeOfOffsets + this.offsetSize + (this.checksummedDirectBlocks ? 4 : 0);
  }

  /** "FHDB" direct block: signature, version, heap address, block offset, optional checksum, data. */
  private directBlock(address: number, expectedOffset: number, size: number): Promise<Uint8Array> {
    let p = this.blocks.get(address);
    if (!p) {
      p = this.readDirectBlock(address, expectedOffset, size);
      this.blocks.set(address, p);
    }
    return p;
  }

  private readDirectBlock(address: number, expectedOffset: number, size: number): Promise<Uint8Array> {
    return runParse(this.directBlockParse(address, expectedOffset, size));
  }

  /** A direct block parsed at once when its bytes are held (not yet read: undefined). */
  private directBlockNow(address: number, expectedOffset: number, size: number): Uint8Array | undefined {
    return parseNow(this.directBlockParse(address, expectedOffset, size));
  }

  private *directBlockParse(address: number, expectedOffset: number, size: number): Parse<Uint8Array> {
    const ctx = this.ctx;
    if (this.header.filterInfoLength > 0) {
      throw new UnsupportedFeatureError(ctx.url, "fractal heap", "filtered (compressed) fractal heap direct blocks");
    }
    if (size < this.directBlockHeaderSize()) this.fail(`direct block size ${size} is smaller than its header`, address);
    const c = yield* ctx.cursorParse(address, size, "fractal heap direct block");
    if (c.ascii(4) !== "FHDB") c.fail("missing FHDB signature");
    const version = c.u8();
    if (version !== 0) c.fail(`unsupported direct block version ${version}`);
    const heapAddress = ctx.addr(c);
    if (heapAddress !== this.header.address) c.fail(`direct block belongs to heap ${heapAddress}, not ${this.header.address}`);
    const blockOffset = c.uint(this.offsetSize);
    if (blockOffset !== expectedOffset) c.fail(`direct block offset is ${blockOffset}, expected ${expectedOffset}`);
    if (this.checksummedDirectBlocks) {
      // The checksum covers the whole block with the checksum field itself zeroed (H5HFcache.c).
      const at = c.pos;
      const stored = c.u32();
      const copy = c.bytes.slice();
      copy.fill(0, at, at + 4);
      verifyChecksum(copy, stored, ctx.url, "fractal heap direct block", address);
    }
    this.parsedDirect.set(address, c.bytes);
    return c.bytes;
  }

  /**
   * "FHIB" indirect block: signature, version, heap address, block offset, then child addresses
   * (rows x width; the first maxDirectRows rows are direct blocks), then a checksum.
   */
  private indirectBlock(address: number, expectedOffset: number, rows: number): Promise<number[]> {
    let p = this.indirectBlocks.get(address);
    if (!p) {
      p = this.readIndirectBlock(address, expectedOffset, rows);
      this.indirectBlocks.set(address, p);
    }
    return p;
  }

  private readIndirectBlock(address: number, expectedOffset: number, rows: number): Promise<number[]> {
    return runParse(this.indirectBlockParse(address, expectedOffset, rows));
  }

  /** An indirect block parsed at once when its bytes are held (not yet read: undefined). */
  private indirectBlockNow(address: number, expectedOffset: number, rows: number): number[] | undefined {
    return parseNow(this.indirectBlockParse(address, expectedOffset, rows));
  }

  private *indirectBlockParse(address: number, expectedOffset: number, rows: number): Parse<number[]> {
    const ctx = this.ctx;
    const { tableWidth } = this.header;
    const filtered = this.header.filterInfoLength > 0;
    const directRows = Math.min(rows, this.maxDirectRows);
    const directEntries = directRows * tableWidth;
    const indirectEntries = (rows - directRows) * tableWidth;
    const directEntrySize = ctx.sizeOfOffsets + (filtered ? ctx.sizeOfLengths + 4 : 0);
    const size = 4 + 1 + ctx.sizeOfOffsets + this.offsetSize + directEntries * directEntrySize + indirectEntries * ctx.sizeOfOffsets + 4;
    const c = yield* ctx.cursorParse(address, size, "fractal heap indirect block");
    if (c.ascii(4) !== "FHIB") c.fail("missing FHIB signature");
    const version = c.u8();
    if (version !== 0) c.fail(`unsupported indirect block version ${version}`);
    const heapAddress = ctx.addr(c);
    if (heapAddress !== this.header.address) c.fail(`indirect block belongs to heap ${heapAddress}, not ${this.header.address}`);
    const blockOffset = c.uint(this.offsetSize);
    if (blockOffset !== expectedOffset) c.fail(`indirect block offset is ${blockOffset}, expected ${expectedOffset}`);
    const children: number[] = [];
    for (let i = 0; i < directEntries; i++) {
      children.push(ctx.addr(c) ?? -1);
      if (filtered) c.skip(ctx.sizeOfLengths + 4);
    }
    for (let i = 0; i < indirectEntries; i++) children.push(ctx.addr(c) ?? -1);
    const checksummed = c.pos;
    verifyChecksum(c.bytes.subarray(0, checksummed), c.u32(), ctx.url, "fractal heap indirect block", address);
    this.parsedIndirect.set(address, children);
    return children;
  }
}

function parseHeader(ctx: Hdf5Context, c: ByteCursor, address: number): FractalHeapHeader {
  if (c.ascii(4) !== "FRHP") c.fail("missing FRHP signature");
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported fractal heap version ${version}`);
  const heapIdLength = c.u16();
  const filterInfoLength = c.u16();
  const flags = c.u8();
  const maxManagedObjectSize = c.u32();
  ctx.len(c); // next huge object id
  const hugeObjectBTreeAddress = ctx.addr(c);
  ctx.len(c); // free space in managed blocks
  ctx.addr(c); // managed block free space manager
  ctx.len(c); // managed space in heap
  ctx.len(c); // allocated managed space
  ctx.len(c); // direct block allocation iterator offset
  ctx.len(c); // managed object count
  ctx.len(c); // huge object size
  ctx.len(c); // huge object count
  ctx.len(c); // tiny object size
  ctx.len(c); // tiny object count
  const tableWidth = c.u16();
  const startingBlockSize = ctx.len(c);
  const maxDirectBlockSize = ctx.len(c);
  const maxHeapSizeBits = c.u16();
  const startingRootRows = c.u16();
  const rootBlockAddress = ctx.addr(c);
  const currentRootRows = c.u16();
  let filteredRootDirectBlockSize: number | undefined;
  if (filterInfoLength > 0) {
    filteredRootDirectBlockSize = ctx.len(c);
    c.u32(); // filter mask
    c.skip(filterInfoLength);
  }
  const checksummed = c.pos;
  verifyChecksum(c.bytes.subarray(0, checksummed), c.u32(), ctx.url, "fractal heap header", address);
  if (!isPowerOfTwo(tableWidth)) c.fail(`table width ${tableWidth} is not a power of two`);
  if (!isPowerOfTwo(startingBlockSize)) c.fail(`starting block size ${startingBlockSize} is not a power of two`);
  if (!isPowerOfTwo(maxDirectBlockSize) || maxDirectBlockSize < startingBlockSize) {
    c.fail(`maximum direct block size ${maxDirectBlockSize} is invalid`);
  }
  if (maxHeapSizeBits < 1 || maxHeapSizeBits > 64) c.fail(`maximum heap size ${maxHeapSizeBits} bits is invalid`);
  if (currentRootRows > maxHeapSizeBits + 1) c.fail(`root indirect block has ${currentRootRows} rows`);
  if (heapIdLength < 1) c.fail("heap id length is 0");
  return {
    address,
    heapIdLength,
    filterInfoLength,
    flags,
    maxManagedObjectSize,
    hugeObjectBTreeAddress,
    tableWidth,
    startingBlockSize,
    maxDirectBlockSize,
    maxHeapSizeBits,
    startingRootRows,
    rootBlockAddress,
    currentRootRows,
    filteredRootDirectBlockSize,
  };
}
