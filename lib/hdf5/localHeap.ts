import { Hdf5FormatError } from "../errors.js";
import type { Hdf5Context } from "./context.js";
import type { ByteCursor } from "./cursor.js";
import type { Parse } from "./parse.js";

/** A local heap (format spec III.D): the names of an old-style group's links. */
export class LocalHeap {
  constructor(
    readonly url: string,
    readonly address: number,
    readonly dataAddress: number,
    readonly data: Uint8Array,
  ) {}

  /** The NUL-terminated string at `offset` in the data segment. */
  stringAt(offset: number): string {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= this.data.length) {
      throw new Hdf5FormatError(this.url, "local heap", `offset ${offset} is outside the data segment (${this.data.length} bytes)`, this.address);
    }
    const end = this.data.indexOf(0, offset);
    if (end < 0) throw new Hdf5FormatError(this.url, "local heap", `string at offset ${offset} has no terminating NUL`, this.address);
    return new TextDecoder().decode(this.data.subarray(offset, end));
  }
}

/** Bytes read at once: the header and, usually, the data segment that HDF5 places right after it. */
const FIRST_READ_SIZE = 1024;

/**
 * "HEAP", version 0, 3 reserved bytes, data segment size (L), offset to the free list head (L),
 * data segment address (O).
 */
export function* localHeap(ctx: Hdf5Context, address: number): Parse<LocalHeap> {
  const c: ByteCursor = yield* ctx.cursorUpToParse(address, FIRST_READ_SIZE, "local heap");
  if (c.ascii(4) !== "HEAP") c.fail("missing HEAP signature");
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported local heap version ${version}`);
  c.skip(3);
  const size = ctx.len(c);
  ctx.len(c); // free list head offset
  const dataAddress = ctx.addr(c);
  if (dataAddress === undefined) c.fail("data segment address is undefined");
  const start = dataAddress - address;
  let data: Uint8Array;
  if (start >= 0 && start + size <= c.bytes.length) data = c.bytes.subarray(start, start + size);
  else data = yield* ctx.readParse(dataAddress, size, "local heap data segment");
  return new LocalHeap(ctx.url, address, dataAddress, data);
}
