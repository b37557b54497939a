import { Hdf5FormatError } from "../errors.js";
import { readU32, readUint } from "./bytes.js";

const utf8 = new TextDecoder();

/**
 * Little-endian field reader over a buffer that was read from `address` in the file.
 * Every read is bounds-checked and reports the structure being parsed, so a truncated or
 * corrupted structure becomes an Hdf5FormatError naming what broke, never a RangeError.
 */
export class ByteCursor {
  pos = 0;

  constructor(
    readonly bytes: Uint8Array,
    /** File address of bytes[0]; used in error messages and for computing absolute addresses. */
    readonly address: number,
    readonly url: string,
    /** Name of the structure being parsed, e.g. "object header v2". */
    readonly structure: string,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** File address of the next byte to be read. */
  get fileAddress(): number {
    return this.address + this.pos;
  }

  fail(detail: string): never {
    throw new Hdf5FormatError(this.url, this.structure, detail, this.address + this.pos);
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) {
      this.fail(`needs ${n} more bytes but only ${this.remaining} remain`);
    }
  }

  // Fixed-width fields are assembled from the bytes: a DataView per cursor cost more than the
  // reads (cursors are made by the hundred per file, most for a few fields).
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 2;
    return b[p]! | (b[p + 1]! << 8);
  }

  u32(): number {
    this.need(4);
    const p = this.pos;
    this.pos += 4;
    return readU32(this.bytes, p);
  }

  /** Unsigned 64-bit as a number; values above 2^53 are rejected as corrupt. */
  u64(): number {
    return this.uint(8);
  }

  /**
   * Unsigned little-endian integer of `size` bytes (1..8) as a number. HDF5 writes many fields
   * with variable widths (sizes of offsets and lengths, fractal heap ids, chunk dimension sizes).
   */
  uint(size: number): number {
    if (size < 1 || size > 8) this.fail(`unsupported integer width ${size}`);
    this.need(size);
    const v = readUint(this.bytes, this.pos, size);
    this.pos += size;
    if (v > Number.MAX_SAFE_INTEGER) this.fail(`integer ${v} beyond 2^53`);
    return v;
  }

  /**
   * An address of `size` bytes, or undefined for the "undefined address" (all bits set).
   */
  address_(size: number): number | undefined {
    this.need(size);
    let allOnes = true;
    for (let i = 0; i < size; i++) {
      if (this.bytes[this.pos + i] !== 0xff) {
        allOnes = false;
        break;
      }
    }
    if (allOnes) {
      this.pos += size;
      return undefined;
    }
    return this.uint(size);
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** A view (not a copy) of the next n bytes. */
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** ASCII of exactly n bytes, e.g. a signature. */
  ascii(n: number): string {
    return String.fromCharCode(...this.take(n));
  }

  /** A NUL-terminated string (the NUL is consumed), decoded as UTF-8. */
  cstring(): string {
    const end = this.bytes.indexOf(0, this.pos);
    if (end < 0) this.fail("string without terminating NUL");
    const s = utf8.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  /** Advance to the next multiple of `n` relative to the start of this buffer. */
  alignTo(n: number): void {
    const rem = this.pos % n;
    if (rem !== 0) this.skip(n - rem);
  }

  /** A cursor over the next n bytes (consumed here), for parsing a nested structure. */
  sub(n: number, structure = this.structure): ByteCursor {
    const at = this.fileAddress;
    return new ByteCursor(this.take(n), at, this.url, structure);
  }
}
