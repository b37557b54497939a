import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { checkRange, type ByteSource, type ByteSpan, type ReadStats, type SourceVersion } from "./byteSource.js";
import { SourceReadError } from "../errors.js";
import { countS3BodyFailure } from "./s3Client.js";
import { isTransientS3Error, type AwsLikeError } from "./s3Errors.js";
import { lightGet } from "./s3Get.js";

export { isTransientS3Error };

/**
 * One S3 object read with ranged GETs. The first response's ETag is sent as If-Match on every later
 * read, so an object replaced while we read it fails clearly instead of mixing two versions.
 */
export class S3Source implements ByteSource {
  readonly stats: ReadStats = { requests: 0, bytes: 0 };
  readonly url: string;
  private knownSize: number | undefined;
  private etag: string | undefined;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    readonly key: string,
  ) {
    this.url = `s3://${bucket}/${key}`;
  }

  async size(): Promise<number> {
    if (this.knownSize === undefined) {
      const head = await this.call(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key, IfMatch: this.etag })));
      this.stats.requests++;
      this.remember(head.ContentLength, head.ETag);
    }
    return this.knownSize!;
  }

  async readHead(length: number): Promise<{ bytes: Uint8Array; size: number }> {
    const { bytes, total } = await this.get(0, length);
    // Like read(): never hand out a short buffer (a body cut short that the HTTP layer let through).
    if (bytes.length !== Math.min(length, total)) {
      throw this.bodyFailure(
        new SourceReadError(this.url, `asked for the first ${Math.min(length, total)} bytes, got ${bytes.length}`, true, {
          offset: 0,
          length,
        }),
      );
    }
    return { bytes, size: total };
  }

  async readSpan(span: ByteSpan): Promise<{ bytes: Uint8Array; offset: number; size: number }> {
    if ("offset" in span && this.knownSize !== undefined && span.offset >= this.knownSize) return { bytes: new Uint8Array(0), offset: span.offset, size: this.knownSize };
    const answer = await this.get("suffix" in span ? { suffix: span.suffix } : span).catch((error: unknown) => {
      // A span that starts past the end: nothing of it exists.
      if ("offset" in span && error instanceof SourceReadError && /not satisfiable/.test(error.message)) return undefined;
      throw error;
    });
    if (!answer) return { bytes: new Uint8Array(0), offset: (span as { offset: number }).offset, size: await this.size() };
    const { bytes, total, start } = answer;
    const expected = "suffix" in span ? Math.min(span.suffix, total) : Math.max(0, Math.min(span.length, total - span.offset));
    if (bytes.length !== expected || start + bytes.length > total) {
      throw this.bodyFailure(
        new SourceReadError(this.url, `asked for ${expected} bytes at ${start}, got ${bytes.length}`, true, { offset: start, length: expected }),
      );
    }
    return { bytes, offset: start, size: total };
  }

  /**
   * A ranged GET, without a HEAD first when the size is not known yet (a reader of a few chunks,
   * such as the combine's coordinate reads, would otherwise pay a second request per object): the
   * answer names the object's size, and a range past it fails as checkRange would have.
   */
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    if (this.knownSize !== undefined || offset < 0 || length < 0) checkRange(this.url, offset, length, this.knownSize ?? Infinity);
    const { bytes, total } = await this.get(offset, length).catch((error: unknown) => {
      // A range that starts past the end: the same answer as a known size would have given.
      if (this.knownSize === undefined && error instanceof SourceReadError && /not satisfiable/.test(error.message)) {
        return this.size().then((size) => {
          checkRange(this.url, offset, length, size);
          throw error;
        });
      }
      throw error;
    });
    checkRange(this.url, offset, length, total);
    if (bytes.length !== length) {
      throw this.bodyFailure(
        new SourceReadError(this.url, `asked for ${length} bytes at ${offset}, got ${bytes.length}`, true, {
          offset,
          length,
        }),
      );
    }
    return bytes;
  }

  private async get(offset: number, length: number): Promise<{ bytes: Uint8Array; total: number; start: number }>;
  private async get(span: ByteSpan): Promise<{ bytes: Uint8Array; total: number; start: number }>;
  private async get(from: number | ByteSpan, size?: number): Promise<{ bytes: Uint8Array; total: number; start: number }> {
    const span: ByteSpan = typeof from === "number" ? { offset: from, length: size! } : from;
    const range = "suffix" in span ? `bytes=-${span.suffix}` : `bytes=${span.offset}-${span.offset + span.length - 1}`;
    const ifMatch = this.etag;
    const response = await this.call(
      () =>
        lightGet(this.client, this.bucket, this.key, range, ifMatch) ??
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: range, IfMatch: ifMatch })),
    );
    const bytes = await this.call(() => response.Body!.transformToByteArray()).catch((error: unknown) => {
      throw this.bodyFailure(error);
    });
    this.stats.requests++;
    this.stats.bytes += bytes.length;
    // Requests sent together before any answer named the version (the first round's head and
    // guesses) went without If-Match: an answer from another version must not be mixed in.
    if (this.etag !== undefined && response.ETag !== undefined && response.ETag !== this.etag) {
      throw new SourceReadError(this.url, "the object changed while it was being read (ETag no longer matches)", false);
    }
    const contentRange = /^bytes (\d+)-\d+\/(\d+)$/.exec(response.ContentRange ?? "");
    const total = Number(contentRange?.[2] ?? response.ContentLength);
    this.remember(total, response.ETag);
    return { bytes, total, start: contentRange ? Number(contentRange[1]) : 0 };
  }

  /** A body that broke off or came short, counted for the client's endpoint (s3Attempts); returned to be thrown. */
  private bodyFailure(error: unknown): unknown {
    countS3BodyFailure(this.client, (error as { cause?: unknown }).cause ?? error);
    return error;
  }

  /** The ETag every read so far was pinned to (If-Match), once the first response gave it. */
  version(): SourceVersion | undefined {
    return this.etag === undefined ? undefined : { etag: this.etag };
  }

  private remember(size: number | undefined, etag: string | undefined): void {
    if (size !== undefined && Number.isFinite(size)) this.knownSize = size;
    this.etag ??= etag;
  }

  /** Run one S3 call, turning its failure into a typed SourceReadError. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const e = error as AwsLikeError;
      const status = e?.$metadata?.httpStatusCode;
      if (status === 412 || e?.name === "PreconditionFailed") {
        throw new SourceReadError(this.url, "the object changed while it was being read (ETag no longer matches)", false, {
          cause: error,
        });
      }
      if (status === 404 || e?.name === "NoSuchKey" || e?.name === "NotFound") {
        throw new SourceReadError(this.url, "no such object", false, { cause: error });
      }
      if (status === 416) {
        throw new SourceReadError(this.url, "requested range not satisfiable (object smaller than expected)", false, {
          cause: error,
        });
      }
      const detail = `${e?.name ?? "error"}${status ? ` (HTTP ${status})` : ""}: ${(error as Error)?.message ?? String(error)}`;
      throw new SourceReadError(this.url, detail, isTransientS3Error(error), { cause: error });
    }
  }
}
