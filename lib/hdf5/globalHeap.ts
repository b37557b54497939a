import { Hdf5FormatError } from "../errors.js";
import type { Hdf5Context } from "./context.js";
import { ByteCursor } from "./cursor.js";

/** One global heap collection, "GCOL" (format spec III.E): objects by index. */
export class GlobalHeapCollection {
  constructor(
    readonly url: string,
    readonly address: number,
    private readonly objects: Map<number, Uint8Array>,
  ) {}

  object(index: number): Uint8Array {
    const obj = this.objects.get(index);
    if (obj === undefined) {
      throw new Hdf5FormatError(this.url, "global heap collection", `no object with index ${index}`, this.address);
    }
    return obj;
  }
}

/** Collections are at least 4096 bytes (H5HG_MINSIZE), so this one read usually gets all of it. */
const FIRST_READ_SIZE = 4096;

/**
 * "GCOL", version 1, 3 reserved bytes, collection size (L, including this header), then objects:
 * index (2), reference count (2), 4 reserved bytes, size (L), data padded to 8 bytes. Index 0 is
 * the free space, which ends the list.
 */
export async function readGlobalHeapCollection(ctx: Hdf5Context, address: number): Promise<GlobalHeapCollection> {
  const first = ctx.cursorUpToNow(address, FIRST_READ_SIZE, "global heap collection") ?? (await ctx.cursorUpTo(address, FIRST_READ_SIZE, "global heap collection"));
  const { size, headerSize } = parseCollectionHeader(ctx, first);
  const bytes = size <= first.bytes.length ? first.bytes.subarray(0, size) : await ctx.read(address, size, "global heap collection");
  return parseCollection(ctx, address, bytes, headerSize);
}

/** The collection at once when its bytes are cached already, else undefined (also when damaged: `readGlobalHeapCollection` reports it). */
function readGlobalHeapCollectionNow(ctx: Hdf5Context, address: number): GlobalHeapCollection | undefined {
  try {
    const first = ctx.cursorUpToNow(address, FIRST_READ_SIZE, "global heap collection");
    if (first === undefined) return undefined;
    const { size, headerSize } = parseCollectionHeader(ctx, first);
    const bytes = size <= first.bytes.length ? first.bytes.subarray(0, size) : ctx.readNow(address, size);
    return bytes === undefined ? undefined : parseCollection(ctx, address, bytes, headerSize);
  } catch {
    return undefined;
  }
}

function parseCollectionHeader(ctx: Hdf5Context, first: ByteCursor): { size: number; headerSize: number } {
  if (first.ascii(4) !== "GCOL") first.fail("missing GCOL signature");
  const version = first.u8();
  if (version !== 1) first.fail(`unsupported global heap version ${version}`);
  first.skip(3);
  const size = ctx.len(first);
  // The header is padded to a multiple of 8 (H5HG_SIZEOF_HDR); it matters with 4-byte lengths.
  const headerSize = Math.ceil(first.pos / 8) * 8;
  if (size < headerSize) first.fail(`collection size ${size} is smaller than its header`);
  return { size, headerSize };
}

function parseCollection(ctx: Hdf5Context, address: number, bytes: Uint8Array, headerSize: number): GlobalHeapCollection {
  const c = new ByteCursor(bytes, address, ctx.url, "global heap collection");
  c.pos = headerSize;
  const objects = new Map<number, Uint8Array>();
  // Object headers are padded to 8 bytes too (H5HG_SIZEOF_OBJHDR), like the collection header.
  const objectHeaderSize = Math.ceil((8 + ctx.sizeOfLengths) / 8) * 8;
  while (c.remaining >= objectHeaderSize) {
    const index = c.u16();
    c.u16(); // reference count
    c.skip(4);
    const objectSize = ctx.len(c);
    c.skip(objectHeaderSize - 8 - ctx.sizeOfLengths);
    if (index === 0) break; // free space: the rest of the collection
    if (objectSize > c.remaining) c.fail(`object ${index} claims ${objectSize} bytes, only ${c.remaining} remain`);
    objects.set(index, c.take(objectSize));
    const padded = Math.ceil(objectSize / 8) * 8 - objectSize;
    c.skip(Math.min(padded, c.remaining));
  }
  return new GlobalHeapCollection(ctx.url, address, objects);
}

/** A file's global heap collections, each read once (many vlen values share a collection). */
export class GlobalHeapCache {
  private readonly collections = new Map<number, Promise<GlobalHeapCollection>>();
  /** The collections read so far, for decoders that go on without waiting when they can. */
  private readonly read = new Map<number, GlobalHeapCollection>();

  constructor(private readonly ctx: Hdf5Context) {}

  collection(address: number): Promise<GlobalHeapCollection> {
    let p = this.collections.get(address);
    if (!p) {
      p = readGlobalHeapCollection(this.ctx, address).then((collection) => {
        this.read.set(address, collection);
        return collection;
      });
      this.collections.set(address, p);
      // A failed read is not cached: the next caller gets a fresh attempt (and the same error).
      p.catch(() => this.collections.delete(address));
    }
    return p;
  }

  /**
   * The collection at `address` if it has been read, or its bytes are cached already (then parsed
   * here, without a promise); else undefined (nothing is read).
   */
  readCollection(address: number): GlobalHeapCollection | undefined {
    const known = this.read.get(address);
    if (known !== undefined || this.collections.has(address)) return known;
    const now = readGlobalHeapCollectionNow(this.ctx, address);
    if (now !== undefined) {
      this.read.set(address, now);
      this.collections.set(address, Promise.resolve(now));
    }
    return now;
  }

  async object(address: number, index: number): Promise<Uint8Array> {
    return (await this.collection(address)).object(index);
  }
}

/** A variable-length element as stored in a dataset or attribute: length, collection, index. */
export interface VlenPointer {
  /** Number of base elements (bytes for strings). */
  length: number;
  collectionAddress: number | undefined;
  index: number;
}

/** Decode one vlen element (format spec IV.A.2.d, variable-length: 4-byte length, heap id). */
export function parseVlenPointer(ctx: Hdf5Context, c: ByteCursor): VlenPointer {
  const length = c.u32();
  const collectionAddress = ctx.addr(c);
  const index = c.u32();
  return { length, collectionAddress, index };
}
