import { Hdf5FormatError } from "../errors.js";
import { verifyChecksum } from "./checksum.js";
import type { Hdf5Context } from "./context.js";
import { ByteCursor } from "./cursor.js";
import { FractalHeap } from "./fractalHeap.js";
import { MessageType } from "./objectHeader.js";

/** One index of the SOHM table: which message types it shares and the heap holding their bodies. */
export interface SharedMessageIndex {
  /** 0: a list ("SMLI"), 1: a v2 B-tree; only writers need the index itself. */
  indexType: number;
  /** Bit (1 << message type) for each message type this index holds (H5SM__type_to_flag). */
  messageTypeFlags: number;
  indexAddress: number | undefined;
  heapAddress: number | undefined;
}

/** Message types that can be shared through the SOHM table (format spec III.I). */
const SHAREABLE_TYPES = [
  MessageType.DATASPACE,
  MessageType.DATATYPE,
  MessageType.FILL_VALUE,
  MessageType.FILTER_PIPELINE,
  MessageType.ATTRIBUTE,
];

/** The index flag of a message type; the old fill value message shares the new one's index. */
function typeFlag(type: number): number {
  return 1 << (type === MessageType.FILL_VALUE_OLD ? MessageType.FILL_VALUE : type);
}

/**
 * Shared Object Header Message table message 0x000F (format spec IV.A.2.p), found in the superblock
 * extension: version 0, the table's address, the number of indexes.
 */
export function parseSharedMessageTableMessage(ctx: Hdf5Context, c: ByteCursor): { address: number; indexCount: number } {
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported shared message table message version ${version}`);
  const address = ctx.addr(c);
  if (address === undefined) c.fail("shared message table address is undefined");
  const indexCount = c.u8();
  if (indexCount === 0) c.fail("shared message table without indexes");
  return { address, indexCount };
}

/**
 * The file's Shared Object Header Message table ("SMTB", format spec III.I): per index, version 0,
 * index type, message type flags (16 bits), minimum message size (32), list and B-tree cutoffs
 * (16 each), number of messages (16), index address, fractal heap address; then a checksum. A
 * message shared through it is stored once in the index's fractal heap, and headers hold its heap
 * id (shared message encoding version 3, type 1), so reading one needs only the heap.
 */
export class SharedMessageTable {
  private readonly heaps = new Map<number, Promise<FractalHeap>>();

  private constructor(
    private readonly ctx: Hdf5Context,
    readonly address: number,
    readonly indexes: SharedMessageIndex[],
  ) {}

  static async read(ctx: Hdf5Context, address: number, indexCount: number): Promise<SharedMessageTable> {
    const entrySize = 1 + 1 + 2 + 4 + 2 + 2 + 2 + 2 * ctx.sizeOfOffsets;
    const size = 4 + indexCount * entrySize + 4;
    const c = ctx.cursorNow(address, size, "shared message table") ?? (await ctx.cursor(address, size, "shared message table"));
    if (c.ascii(4) !== "SMTB") c.fail("missing SMTB signature");
    verifyChecksum(c.bytes.subarray(0, size - 4), new DataView(c.bytes.buffer, c.bytes.byteOffset + size - 4, 4).getUint32(0, true), ctx.url, "shared message table", address);
    const indexes: SharedMessageIndex[] = [];
    for (let i = 0; i < indexCount; i++) {
      const version = c.u8();
      if (version !== 0) c.fail(`unsupported shared message index version ${version}`);
      const indexType = c.u8();
      const messageTypeFlags = c.u16();
      c.u32(); // minimum message size
      c.u16(); // list cutoff
      c.u16(); // B-tree cutoff
      c.u16(); // number of messages
      const indexAddress = ctx.addr(c);
      const heapAddress = ctx.addr(c);
      indexes.push({ indexType, messageTypeFlags, indexAddress, heapAddress });
    }
    return new SharedMessageTable(ctx, address, indexes);
  }

  /** The body of a message of `type` stored in the SOHM heap under `heapId`. */
  async messageBody(type: number, heapId: Uint8Array, where: string): Promise<ByteCursor> {
    if (!SHAREABLE_TYPES.includes(type as (typeof SHAREABLE_TYPES)[number]) && type !== MessageType.FILL_VALUE_OLD) {
      throw new Hdf5FormatError(this.ctx.url, "shared message", `message type ${type} of ${where} cannot be shared in the SOHM table`, this.address);
    }
    const index = this.indexes.find((x) => (x.messageTypeFlags & typeFlag(type)) !== 0);
    if (!index || index.heapAddress === undefined) {
      throw new Hdf5FormatError(this.ctx.url, "shared message table", `no index holds messages of type ${type} (needed by ${where})`, this.address);
    }
    const heapAddress = index.heapAddress;
    let heap = this.heaps.get(heapAddress);
    if (!heap) {
      heap = FractalHeap.open(this.ctx, heapAddress);
      this.heaps.set(heapAddress, heap);
    }
    const object = await (await heap).object(heapId);
    return new ByteCursor(object, heapAddress, this.ctx.url, `shared message of type ${type} in the SOHM heap`);
  }
}
