import type { S3Client } from "@aws-sdk/client-s3";
import { isUtf8 } from "node:buffer";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Semaphore } from "../concurrency.js";
import { SourceReadError } from "../errors.js";
import type { Reference } from "./kerchunkRefs.js";
import type { ByteSource, ReadStats } from "../source/byteSource.js";
import { LocalFileSource } from "../source/localFile.js";
import { S3Source } from "../source/s3.js";
import { parseS3Url, sharedS3Client, type S3ConnectionOptions } from "../source/s3Client.js";

// ignoreBOM: a leading byte order mark stays in the string (Python's decode keeps it); dropped, the
// inlined bytes would lose their first three.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Inline bytes the way kerchunk's `_encode_for_JSON` stores them: as a string when they are valid
 * UTF-8 (fsspec encodes it back to the same bytes), otherwise base64 with a "base64:" prefix.
 * Checked with `isUtf8`, not by a strict decoder's exception: most inlined chunks are binary
 * numbers, and an exception (with its stack trace) for each cost more than the rest of the inlining.
 */
export function inlineReference(bytes: Uint8Array): string {
  if (isUtf8(bytes)) return utf8.decode(bytes);
  return `base64:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")}`;
}

/** Bytes of inline reference content, decoded the way fsspec does ("base64:" prefix or UTF-8). */
export function inlineBytes(value: string): Uint8Array {
  if (value.startsWith("base64:")) return new Uint8Array(Buffer.from(value.slice(7), "base64"));
  return new TextEncoder().encode(value);
}

/**
 * Bytes behind some of a reference set's byte-range references, read when the references were
 * made: a staged extraction carries its coordinate chunks (lib/backfill/staged.ts), so the day's
 * combine reads none of them from the source again. Keyed by `rangeKey`.
 */
export type KnownBytes = Map<string, Uint8Array>;

/** The key of the bytes `length` bytes at `offset` of `url` in `KnownBytes`. */
export const rangeKey = (url: string, offset: number, length: number): string => `${offset}+${length}@${url}`;

/**
 * Reads the bytes behind references through the project's byte sources (local files and s3://
 * objects), one source per URL and the process's shared S3 client for them all
 * (lib/source/s3Client.ts), so neither thousands of inputs nor a worker combining day after day
 * opens new clients. The combine reads little (coordinate chunks, and the chunks of identical
 * dimensions when their values are checked): no block cache.
 */
export class ReferenceReader {
  private readonly sources = new Map<string, ByteSource & { close?(): Promise<void>; stats?: ReadStats }>();
  private client: S3Client | undefined;
  /** Reads in flight at once (S3 latency is hidden by concurrency, not by one big request). */
  private readonly slots: Semaphore;

  /** Bytes the reader was given (`learn`): a read of exactly such a range needs no request. */
  private readonly known: KnownBytes = new Map();

  constructor(
    private readonly s3Options: S3ConnectionOptions = {},
    concurrency = 64,
  ) {
    this.slots = new Semaphore(concurrency);
  }

  private readonly localStats: ReadStats = { requests: 0, bytes: 0 };

  /** S3 sources are kept (they remember size and ETag); local files are opened per read and closed,
   * so thousands of inputs never hold thousands of file handles. */
  private async readFrom(url: string, offset: number | undefined, length: number | undefined): Promise<Uint8Array> {
    const s3 = parseS3Url(url);
    if (s3) {
      let source = this.sources.get(url);
      if (!source) {
        this.client ??= sharedS3Client(this.s3Options);
        source = new S3Source(this.client, s3.bucket, s3.key);
        this.sources.set(url, source);
      }
      return offset === undefined || length === undefined ? source.read(0, await source.size()) : source.read(offset, length);
    }
    const path = url.startsWith("file://") ? fileURLToPath(url) : resolve(url);
    const local = new LocalFileSource(path, url);
    try {
      const bytes = offset === undefined || length === undefined ? await local.read(0, await local.size()) : await local.read(offset, length);
      this.localStats.requests++;
      this.localStats.bytes += bytes.length;
      return bytes;
    } finally {
      await local.close();
    }
  }

  /**
   * Take the bytes an input carries (`ReferenceSet.knownBytes`): read before, from the version of
   * the source its references were made from, so they are the bytes the source would answer.
   */
  learn(bytes: KnownBytes | undefined): void {
    if (bytes) for (const [key, value] of bytes) this.known.set(key, value);
  }

  /** The bytes a reference points at (inline content, a byte range, or a whole file). */
  async read(ref: Reference): Promise<Uint8Array> {
    if (typeof ref === "string") return inlineBytes(ref);
    const [url, offset, length] = ref;
    const known = offset === undefined || length === undefined ? undefined : this.known.get(rangeKey(url, offset, length));
    if (known) return known;
    try {
      return await this.slots.run(() => this.readFrom(url, offset, length));
    } catch (error) {
      if (error instanceof SourceReadError) throw error;
      throw new SourceReadError(url, (error as Error).message, false, { cause: error });
    }
  }

  /** Requests and bytes read so far, over every source. */
  stats(): ReadStats {
    let { requests, bytes } = this.localStats;
    for (const source of this.sources.values()) {
      requests += source.stats?.requests ?? 0;
      bytes += source.stats?.bytes ?? 0;
    }
    return { requests, bytes };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.sources.values()].map((s) => s.close?.()));
    this.sources.clear();
    this.client = undefined;
  }
}
