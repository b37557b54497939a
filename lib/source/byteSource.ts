import { SourceReadError } from "../errors.js";

/**
 * The one interface every reader in this project reads bytes through: a local file, an S3 object,
 * or a cache in front of either. Offsets are plain numbers: files beyond 2^53 bytes do not exist.
 */
export interface ByteSource {
  /** Where the bytes come from, as it will appear in references (a path or an s3:// URL). */
  readonly url: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /**
   * Exactly `length` bytes starting at `offset`. Implementations throw SourceReadError when the
   * range runs past the end or the read fails; they never return a short buffer.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: the first `length` bytes (fewer if the file is shorter) together with the total size,
   * in one request. S3 answers a ranged GET with the object size, so the first read need not wait
   * for a separate HEAD round trip.
   */
  readHead?(length: number): Promise<{ bytes: Uint8Array; size: number }>;
  /**
   * Optional: the bytes of `span` that exist, together with where they start and the total size,
   * in one request: `{ offset, length }` clamped at the end of the file (empty past it), or the
   * last `suffix` bytes. S3 answers both kinds of ranged GET with the object size, so a reader can
   * ask for the head, the tail and other guesses at once before it knows the size.
   */
  readSpan?(span: ByteSpan): Promise<{ bytes: Uint8Array; offset: number; size: number }>;
  /**
   * Optional: the same bytes as `read`, at once and without a promise, when the source holds them
   * already (a cache); undefined when it would have to wait (then `read`).
   */
  readNow?(offset: number, length: number): Uint8Array | undefined;
  /**
   * Optional: `readNow`'s bytes for a reader that only looks for structures in what is held (a
   * scan for object headers), not counted as bytes it needed.
   */
  peek?(offset: number, length: number): Uint8Array | undefined;
  /** Requests and bytes that really went to the origin (sources that talk to one keep these). */
  readonly stats?: ReadStats;
  /**
   * Optional: which version of the file the bytes read so far came from (an S3 object's ETag, a
   * local file's modification time), so references can be pinned to it. Known after a read.
   */
  version?(): SourceVersion | undefined;
  /** Release what the source holds open (a file handle). */
  close?(): Promise<void>;
}

/**
 * The version of a source file: an S3 object's ETag (as S3 returns it, quotes included), or a local
 * file's modification time.
 */
export type SourceVersion = { etag: string } | { lastModified: Date };

/** A range of a file to read: from an offset, or the last `suffix` bytes. */
export type ByteSpan = { offset: number; length: number } | { suffix: number };

/** Counters every source keeps, so tests and benchmarks can see what a translation cost. */
export interface ReadStats {
  requests: number;
  bytes: number;
}

/** The check every source makes before a read: the range lies inside the file (never retryable). */
export function checkRange(url: string, offset: number, length: number, size: number): void {
  if (offset < 0 || length < 0 || offset + length > size) {
    throw new SourceReadError(url, `range ${offset}+${length} is outside the file (${size} bytes)`, false, { offset, length });
  }
}
