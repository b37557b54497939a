import { Hdf5FormatError } from "../errors.js";
import { readU32 } from "./bytes.js";
import { lookup3, verifyChecksum } from "./checksum.js";
import type { Hdf5Context } from "./context.js";
import { ByteCursor } from "./cursor.js";
import { parseContinuationMessage } from "./messages/continuation.js";
import { all, done, runParse, type Parse } from "./parse.js";

/** Header message type numbers (format spec IV.A.2). */
export const MessageType = {
  NIL: 0x0000,
  DATASPACE: 0x0001,
  LINK_INFO: 0x0002,
  DATATYPE: 0x0003,
  FILL_VALUE_OLD: 0x0004,
  FILL_VALUE: 0x0005,
  LINK: 0x0006,
  EXTERNAL_FILES: 0x0007,
  DATA_LAYOUT: 0x0008,
  BOGUS: 0x0009,
  GROUP_INFO: 0x000a,
  FILTER_PIPELINE: 0x000b,
  ATTRIBUTE: 0x000c,
  OBJECT_COMMENT: 0x000d,
  MODIFICATION_TIME_OLD: 0x000e,
  SHARED_MESSAGE_TABLE: 0x000f,
  CONTINUATION: 0x0010,
  SYMBOL_TABLE: 0x0011,
  MODIFICATION_TIME: 0x0012,
  BTREE_K: 0x0013,
  DRIVER_INFO: 0x0014,
  ATTRIBUTE_INFO: 0x0015,
  REFERENCE_COUNT: 0x0016,
  FILE_SPACE_INFO: 0x0017,
  METADATA_CACHE_IMAGE: 0x0018,
} as const;

/** Header message flag bits (format spec IV.A.1.a "Header Message Flags"). */
export const MessageFlag = {
  CONSTANT: 0x01,
  SHARED: 0x02,
  DONT_SHARE: 0x04,
  FAIL_IF_UNKNOWN_WRITE: 0x08,
  MARK_IF_UNKNOWN: 0x10,
  WAS_UNKNOWN: 0x20,
  SHAREABLE: 0x40,
  FAIL_IF_UNKNOWN_ALWAYS: 0x80,
} as const;

/** One raw header message: its type, flags and exactly its body bytes. */
export interface HeaderMessage {
  type: number;
  flags: number;
  /** v2 object headers that track attribute creation order store it per message. */
  creationOrder?: number;
  /** The message body and its file address (`bodyCursor` reads it). */
  body: MessageBody;
}

/**
 * A message body as stored: its bytes, where they are, and the file (for errors). Not a cursor:
 * a file has hundreds of messages, most never parsed; a cursor (and its DataView) is made when one is.
 */
export interface MessageBody {
  readonly bytes: Uint8Array;
  readonly address: number;
  readonly url: string;
}

export interface ObjectHeader {
  address: number;
  version: 1 | 2;
  /** v2 header flags (format spec IV.A.1.b); 0 for v1. */
  flags: number;
  /** v2 flag bit 2: attribute creation order tracked. */
  attributeCreationOrderTracked: boolean;
  /** Messages of every chunk, in chunk order; NIL messages and continuation messages omitted. */
  messages: HeaderMessage[];
}

/** Bytes read for the first chunk before its size is known: most headers fit, so one round trip. */
const FIRST_READ_SIZE = 4096;
/** More chunks than this in one header means a damaged file (HDF5 never writes close to it). */
const MAX_CHUNKS = 65536;

const V1_PREFIX_SIZE = 16;
const V1_MESSAGE_HEADER_SIZE = 8;

interface PendingChunk {
  address: number;
  length: number;
}

/**
 * Parse the object header at `address` (format spec IV.A.1) with all its continuation chunks.
 * The first chunk is read with one generous read; continuation chunks found in one chunk are read
 * concurrently. Every chunk address is visited once (a continuation pointing back into the header
 * is an error, not a loop), and all sizes are checked against the file size before reading.
 */
export function readObjectHeader(ctx: Hdf5Context, address: number): Promise<ObjectHeader> {
  return runParse(objectHeader(ctx, address));
}

/** `readObjectHeader` as a parse (`parse.ts`): without waiting when its bytes are held. */
export function* objectHeader(ctx: Hdf5Context, address: number): Parse<ObjectHeader> {
  const first = yield* ctx.cursorUpToParse(address, FIRST_READ_SIZE, "object header");
  const isV2 = first.remaining >= 4 && first.ascii(4) === "OHDR";
  first.pos = 0;
  const header: ObjectHeader = { address, version: isV2 ? 2 : 1, flags: 0, attributeCreationOrderTracked: false, messages: [] };
  const visited = new Set<number>([address]);
  // Continuation ranges are checked against the chunks already parsed, so a message pointing
  // into the header itself is reported rather than re-parsed.
  const claimed: PendingChunk[] = [];
  let pending: PendingChunk[];
  const prefix = isV2 ? firstChunkPrefixV2(ctx, first, address, header) : firstChunkPrefixV1(ctx, first, address);
  const whole = bytesWithin(ctx, first, address, prefix.total, prefix.structure) ?? (yield* ctx.cursorParse(address, prefix.total, prefix.structure));
  const chunk = isV2 ? firstChunkV2(ctx, whole, address, prefix) : firstChunkV1(whole, prefix);
  claimed.push({ address, length: prefix.total });
  pending = isV2 ? parseMessagesV2(ctx, chunk, header) : parseMessagesV1(ctx, chunk, header);

  let chunkCount = 1;
  while (pending.length > 0) {
    for (const next of pending) {
      if (visited.has(next.address)) {
        throw new Hdf5FormatError(ctx.url, "object header", "continuation chunk is referenced twice (cycle)", next.address);
      }
      for (const span of claimed) {
        if (next.address < span.address + span.length && span.address < next.address + next.length) {
          throw new Hdf5FormatError(ctx.url, "object header", `continuation chunk overlaps the chunk at ${span.address}`, next.address);
        }
      }
      visited.add(next.address);
      claimed.push(next);
      if (++chunkCount > MAX_CHUNKS) {
        throw new Hdf5FormatError(ctx.url, "object header", `more than ${MAX_CHUNKS} continuation chunks`, address);
      }
    }
    // Continuations found in one chunk are read side by side. (Loops rather than array builtins
    // here: docs/benchmarks.md, "Deoptimizations".)
    const reads: Parse<ByteCursor>[] = [];
    for (const p of pending) {
      const within = bytesWithin(ctx, first, p.address, p.length, "object header continuation");
      reads.push(within === undefined ? ctx.cursorParse(p.address, p.length, "object header continuation") : done(within));
    }
    const cursors = yield* all(reads);
    const spans = pending;
    pending = [];
    for (let i = 0; i < spans.length; i++) {
      const chunk = continuationChunk(ctx, cursors[i]!, spans[i]!, header.version);
      pending.push(...(header.version === 2 ? parseMessagesV2(ctx, chunk, header) : parseMessagesV1(ctx, chunk, header)));
    }
  }
  return header;
}

/** A cursor over [address, address+length) when the first read covers it, else undefined. */
function bytesWithin(ctx: Hdf5Context, first: ByteCursor, address: number, length: number, structure: string): ByteCursor | undefined {
  const start = address - first.address;
  if (start >= 0 && start + length <= first.bytes.length) {
    return new ByteCursor(first.bytes.subarray(start, start + length), address, ctx.url, structure);
  }
  return undefined;
}

/** The first chunk's prefix, parsed from the first read: where its messages start, its whole size. */
interface FirstChunkPrefix {
  /** Bytes before the messages. */
  prefix: number;
  /** Bytes of messages (and gap). */
  size: number;
  /** The whole chunk: prefix, messages, and a v2 checksum. */
  total: number;
  structure: string;
}

/**
 * Version 1 prefix (format spec IV.A.1.a): version, reserved, message count, reference count,
 * header size, then padding to 8 bytes; messages follow, 8-byte aligned.
 */
function firstChunkPrefixV1(ctx: Hdf5Context, first: ByteCursor, address: number): FirstChunkPrefix {
  const version = first.u8();
  if (version !== 1) first.fail(`not an object header (version byte ${version}, no OHDR signature)`);
  first.u8(); // reserved
  first.u16(); // total number of header messages (not trusted: we parse by size)
  first.u32(); // object reference count
  const size = first.u32();
  const total = V1_PREFIX_SIZE + size;
  if (address + total > ctx.fileSize - ctx.baseAddress) {
    first.fail(`header size ${size} runs past the end of the file`);
  }
  return { prefix: V1_PREFIX_SIZE, size, total, structure: "object header v1" };
}

function firstChunkV1(whole: ByteCursor, prefix: FirstChunkPrefix): ByteCursor {
  whole.pos = prefix.prefix;
  return whole.sub(prefix.size, prefix.structure);
}

function parseMessagesV1(ctx: Hdf5Context, chunk: ByteCursor, header: ObjectHeader): PendingChunk[] {
  const continuations: PendingChunk[] = [];
  while (chunk.remaining >= V1_MESSAGE_HEADER_SIZE) {
    const type = chunk.u16();
    const size = chunk.u16();
    const flags = chunk.u8();
    chunk.skip(3);
    if (size > chunk.remaining) chunk.fail(`message of type ${type} claims ${size} bytes but the chunk has ${chunk.remaining} left`);
    const address = chunk.fileAddress;
    addMessage(ctx, header, { type, flags, body: { bytes: chunk.take(size), address, url: ctx.url } }, continuations);
    // Messages are padded to multiples of 8 (the size field already includes the padding in files
    // HDF5 writes); realign defensively, relative to the chunk start which is 8-aligned.
    const rem = chunk.pos % 8;
    if (rem !== 0 && chunk.remaining >= 8 - rem) chunk.skip(8 - rem);
  }
  return continuations;
}

/**
 * True when a version 2 object header starts at `address` and its whole first chunk is among the
 * bytes the source holds, its checksum right: a header found by its signature (`headerScan.ts`),
 * looked at through `peek`, read nothing.
 */
export function isHeldObjectHeaderV2(ctx: Hdf5Context, address: number): boolean {
  try {
    // Signature, version, flags, up to 16 + 4 bytes of optional fields, an 8-byte chunk size.
    const start = ctx.peek(address, Math.min(34, ctx.fileSize - ctx.baseAddress - address));
    if (start === undefined) return false;
    const cursor = new ByteCursor(start, address, ctx.url, "object header");
    if (cursor.ascii(4) !== "OHDR") return false;
    cursor.pos = 0;
    const { prefix, size, total } = firstChunkPrefixV2(ctx, cursor, address, { address, version: 2, flags: 0, attributeCreationOrderTracked: false, messages: [] });
    const whole = ctx.peek(address, total);
    return whole !== undefined && lookup3(whole.subarray(0, prefix + size)) === readU32(whole, prefix + size);
  } catch {
    return false;
  }
}

/**
 * Version 2 prefix (format spec IV.A.1.b): "OHDR", version 2, flags, optional times (bit 5),
 * optional attribute phase change values (bit 4), chunk #0 size in 1/2/4/8 bytes (bits 0-1),
 * then messages, a gap, and a checksum of everything before it.
 */
function firstChunkPrefixV2(ctx: Hdf5Context, first: ByteCursor, address: number, header: ObjectHeader): FirstChunkPrefix {
  first.skip(4);
  const version = first.u8();
  if (version !== 2) first.fail(`unsupported object header version ${version}`);
  const flags = first.u8();
  header.flags = flags;
  header.attributeCreationOrderTracked = (flags & 0x04) !== 0;
  if (flags & 0x20) first.skip(16); // access, modification, change, birth times
  if (flags & 0x10) first.skip(4); // max compact / min dense attribute counts
  const size = first.uint(1 << (flags & 0x03));
  const prefix = first.pos;
  const total = prefix + size + 4;
  if (address + total > ctx.fileSize - ctx.baseAddress) {
    first.fail(`chunk #0 size ${size} runs past the end of the file`);
  }
  return { prefix, size, total, structure: "object header v2" };
}

function firstChunkV2(ctx: Hdf5Context, whole: ByteCursor, address: number, { prefix, size, structure }: FirstChunkPrefix): ByteCursor {
  verifyChecksum(whole.bytes.subarray(0, prefix + size), readU32(whole.bytes, prefix + size), ctx.url, structure, address);
  whole.pos = prefix;
  return whole.sub(size, structure);
}

function parseMessagesV2(ctx: Hdf5Context, chunk: ByteCursor, header: ObjectHeader): PendingChunk[] {
  const continuations: PendingChunk[] = [];
  const tracked = header.attributeCreationOrderTracked;
  const messageHeaderSize = tracked ? 6 : 4;
  // Fewer bytes than a message header at the end of a chunk are a gap (format spec IV.A.1.b).
  while (chunk.remaining >= messageHeaderSize) {
    const type = chunk.u8();
    const size = chunk.u16();
    const flags = chunk.u8();
    const creationOrder = tracked ? chunk.u16() : undefined;
    if (size > chunk.remaining) chunk.fail(`message of type ${type} claims ${size} bytes but the chunk has ${chunk.remaining} left`);
    const address = chunk.fileAddress;
    addMessage(ctx, header, { type, flags, creationOrder, body: { bytes: chunk.take(size), address, url: ctx.url } }, continuations);
  }
  return continuations;
}

function addMessage(ctx: Hdf5Context, header: ObjectHeader, message: HeaderMessage, continuations: PendingChunk[]): void {
  if (message.type === MessageType.NIL) return;
  if (message.type === MessageType.CONTINUATION) {
    const { address, length } = parseContinuationMessage(ctx, bodyCursor(message));
    const minimum = header.version === 2 ? 8 : 0;
    if (length < minimum) bodyCursor(message).fail(`continuation chunk length ${length} is too small`);
    if (address + length > ctx.fileSize - ctx.baseAddress) {
      throw new Hdf5FormatError(ctx.url, "object header continuation", `chunk ${address}+${length} runs past the end of the file`, address);
    }
    if (length > 0) continuations.push({ address, length });
    return;
  }
  header.messages.push(message);
}

/** One continuation chunk's messages; v2 chunks are "OCHK", messages, gap, checksum (format spec IV.A.1.b). */
function continuationChunk(ctx: Hdf5Context, whole: ByteCursor, chunk: PendingChunk, version: 1 | 2): ByteCursor {
  if (version === 1) return whole;
  if (whole.ascii(4) !== "OCHK") {
    throw new Hdf5FormatError(ctx.url, "object header continuation", "missing OCHK signature", chunk.address);
  }
  verifyChecksum(whole.bytes.subarray(0, chunk.length - 4), readU32(whole.bytes, chunk.length - 4), ctx.url, "object header continuation", chunk.address);
  return whole.sub(chunk.length - 8, "object header continuation");
}

/** The structure name of each message type seen (errors name it), made once per type. */
const structureNames = new Map<number, string>();

function messageStructure(type: number): string {
  let name = structureNames.get(type);
  if (name === undefined) {
    name = `header message 0x${type.toString(16).padStart(4, "0")}`;
    if (type <= 0xff) structureNames.set(type, name); // the defined types; a damaged file's others are not kept
  }
  return name;
}

/** A fresh cursor over a message body (parsers advance cursors; the stored body has none). */
export function bodyCursor(message: HeaderMessage): ByteCursor {
  return new ByteCursor(message.body.bytes, message.body.address, message.body.url, messageStructure(message.type));
}

/** First message of a type, if any. */
export function findMessage(header: ObjectHeader, type: number): HeaderMessage | undefined {
  return header.messages.find((m) => m.type === type);
}
