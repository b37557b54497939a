import type { ByteSource } from "../source/byteSource.js";
import { ByteCursor } from "./cursor.js";
import { Hdf5FormatError } from "../errors.js";
import type { MetadataOverlay } from "./metadataOverlay.js";
import { later, type Parse } from "./parse.js";

/**
 * What every structure parser needs besides its own bytes: where to read from, the widths the
 * superblock declared, and the file size that bounds every read (so a corrupt length can never
 * make us allocate or fetch more than the file holds).
 */
export class Hdf5Context {
  constructor(
    readonly source: ByteSource,
    readonly fileSize: number,
    /** Size of Offsets from the superblock (bytes in an address). */
    readonly sizeOfOffsets: number,
    /** Size of Lengths from the superblock (bytes in a length). */
    readonly sizeOfLengths: number,
    /** Base address: every address in the file is relative to it (0 for almost every file). */
    readonly baseAddress: number,
    /** Metadata saved in a cache image instead of at its addresses; served before the file's bytes. */
    readonly overlay?: MetadataOverlay,
  ) {}

  /** The same file with a metadata overlay (a cache image) applied to every read. */
  withOverlay(overlay: MetadataOverlay): Hdf5Context {
    return new Hdf5Context(this.source, this.fileSize, this.sizeOfOffsets, this.sizeOfLengths, this.baseAddress, overlay);
  }

  get url(): string {
    return this.source.url;
  }

  /** Read `length` bytes at relative `address`, checked against the file size. */
  async read(address: number, length: number, structure: string): Promise<Uint8Array> {
    const absolute = this.baseAddress + address;
    if (!Number.isSafeInteger(address) || address < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new Hdf5FormatError(this.url, structure, `invalid range ${address}+${length}`, address);
    }
    if (absolute + length > this.fileSize) {
      throw new Hdf5FormatError(
        this.url,
        structure,
        `range ${absolute}..${absolute + length} runs past the end of the file (${this.fileSize} bytes)`,
        address,
      );
    }
    const bytes = this.source.readNow?.(absolute, length) ?? (await this.source.read(absolute, length));
    return this.overlay ? this.overlay.apply(address, bytes) : bytes;
  }

  /**
   * The bytes of `read` at once when the source holds them already, else undefined (then `read`,
   * which also reports a bad range). Parsers take this path first: under an activity's
   * AsyncLocalStorage node runs promise hooks on every promise, and most metadata reads of a file
   * hit blocks its first round fetched.
   */
  readNow(address: number, length: number): Uint8Array | undefined {
    if (this.source.readNow === undefined || !this.inFile(address, length)) return undefined;
    const bytes = this.source.readNow(this.baseAddress + address, length);
    if (bytes === undefined) return undefined;
    return this.overlay ? this.overlay.apply(address, bytes) : bytes;
  }

  /** `readNow` through the source's `peek`: held bytes looked at, not counted as needed (`headerScan.ts`). */
  peek(address: number, length: number): Uint8Array | undefined {
    if (this.source.peek === undefined || !this.inFile(address, length)) return undefined;
    const bytes = this.source.peek(this.baseAddress + address, length);
    if (bytes === undefined) return undefined;
    return this.overlay ? this.overlay.apply(address, bytes) : bytes;
  }

  /** A well-formed range inside the file (`read` reports the others). */
  private inFile(address: number, length: number): boolean {
    return Number.isSafeInteger(address) && address >= 0 && Number.isSafeInteger(length) && length >= 0 && this.baseAddress + address + length <= this.fileSize;
  }

  /** A cursor over `readNow`'s bytes, or undefined. */
  cursorNow(address: number, length: number, structure: string): ByteCursor | undefined {
    const bytes = this.readNow(address, length);
    return bytes === undefined ? undefined : new ByteCursor(bytes, address, this.url, structure);
  }

  /** `cursorUpTo` at once when the source holds the bytes, else undefined. */
  cursorUpToNow(address: number, length: number, structure: string): ByteCursor | undefined {
    const available = this.fileSize - this.baseAddress - address;
    return available <= 0 ? undefined : this.cursorNow(address, Math.min(length, available), structure);
  }

  async cursor(address: number, length: number, structure: string): Promise<ByteCursor> {
    const now = this.cursorNow(address, length, structure);
    if (now !== undefined) return now;
    const bytes = await this.read(address, length, structure);
    return new ByteCursor(bytes, address, this.url, structure);
  }

  /**
   * Read up to `length` bytes at `address`, fewer when the file ends first. For structures whose
   * size is only known after parsing their prefix (object headers, B-tree nodes): read a generous
   * guess once, rather than a second round trip for the rest.
   */
  async cursorUpTo(address: number, length: number, structure: string): Promise<ByteCursor> {
    const available = this.fileSize - this.baseAddress - address;
    if (available <= 0) {
      throw new Hdf5FormatError(this.url, structure, `address is past the end of the file (${this.fileSize} bytes)`, address);
    }
    return this.cursor(address, Math.min(length, available), structure);
  }

  /** `read` as a parse (`parse.ts`): at once when the bytes are held. */
  *readParse(address: number, length: number, structure: string): Parse<Uint8Array> {
    return this.readNow(address, length) ?? (yield* later(() => this.read(address, length, structure)));
  }

  /** `cursor` as a parse (`parse.ts`): at once when the bytes are held. */
  *cursorParse(address: number, length: number, structure: string): Parse<ByteCursor> {
    return this.cursorNow(address, length, structure) ?? (yield* later(() => this.cursor(address, length, structure)));
  }

  /** `cursorUpTo` as a parse. */
  *cursorUpToParse(address: number, length: number, structure: string): Parse<ByteCursor> {
    return this.cursorUpToNow(address, length, structure) ?? (yield* later(() => this.cursorUpTo(address, length, structure)));
  }

  /** Read a size-of-offsets address field; undefined for the undefined address. */
  addr(c: ByteCursor): number | undefined {
    return c.address_(this.sizeOfOffsets);
  }

  /** Read a size-of-lengths length field. */
  len(c: ByteCursor): number {
    return c.uint(this.sizeOfLengths);
  }
}
