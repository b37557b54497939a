import { Netcdf3FormatError } from "../errors.js";

/**
 * Thrown (and caught by `readHeader`) when the header runs past the bytes read so far but not past
 * the end of the file: the header is read again, longer. Never escapes this folder.
 */
export class NeedMoreBytes extends Error {
  constructor(readonly atLeast: number) {
    super(`netCDF-3 header needs at least ${atLeast} bytes`);
  }
}

/**
 * Big-endian field reader over the first bytes of a netCDF-3 file (every header field is
 * big-endian, XDR). Every read is bounds-checked: past the bytes read so far it asks for more
 * (`NeedMoreBytes`), past the end of the file it fails with a Netcdf3FormatError naming the
 * structure being read, never a RangeError.
 */
export class HeaderCursor {
  private readonly view: DataView;
  pos = 0;
  /** What is being read, for error messages ("dimension 3", "attribute units of variable sst"). */
  structure = "header";

  constructor(
    readonly bytes: Uint8Array,
    readonly url: string,
    readonly fileSize: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(detail: string, at = this.pos): never {
    throw new Netcdf3FormatError(this.url, this.structure, detail, at);
  }

  need(n: number): void {
    const end = this.pos + n;
    if (end <= this.bytes.length) return;
    if (end > this.fileSize) this.fail(`needs ${n} bytes but the file ends at byte ${this.fileSize} (truncated?)`);
    throw new NeedMoreBytes(end);
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, false);
    this.pos += 4;
    return v;
  }

  /** Unsigned 64-bit as a number; values beyond 2^53 are rejected as corrupt. */
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, false);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`integer ${v} beyond 2^53`);
    this.pos += 8;
    return Number(v);
  }

  /** A view (not a copy) of the next n bytes. */
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skip the zero padding that brings a field of `n` bytes to a 4-byte boundary. */
  pad(n: number): void {
    const rem = n % 4;
    if (rem !== 0) this.take(4 - rem);
  }
}
