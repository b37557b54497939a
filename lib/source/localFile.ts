import { open, type FileHandle } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { checkRange, type ByteSource, type ReadStats, type SourceVersion } from "./byteSource.js";
import { SourceReadError } from "../errors.js";

/**
 * How references name a source: URLs (s3://, file://, https://) as they are, local paths as
 * absolute `file://` URLs. fsspec, xarray and VirtualiZarr read both; zarrita's ReferenceStore
 * (and any reader that builds a URL from the reference) needs the URL.
 */
export function referenceUrl(location: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : pathToFileURL(resolve(location)).href;
}

/** A local file read with positioned reads; the handle opens lazily and is shared by all reads. */
export class LocalFileSource implements ByteSource {
  readonly stats: ReadStats = { requests: 0, bytes: 0 };
  private handle: Promise<FileHandle> | undefined;
  private closed = false;
  private cachedSize: number | undefined;
  private modified: Date | undefined;

  constructor(
    readonly path: string,
    /** How the file is named in errors (references use `referenceUrl` of it); defaults to the path. */
    readonly url: string = path,
  ) {}

  private file(): Promise<FileHandle> {
    // Reads still in flight when a caller gave up must not reopen a file it already closed.
    if (this.closed) return Promise.reject(new SourceReadError(this.url, "read after close", false));
    this.handle ??= open(this.path, "r").catch((error: unknown) => {
      this.handle = undefined;
      throw new SourceReadError(this.url, `cannot open: ${(error as Error).message}`, false, { cause: error });
    });
    return this.handle;
  }

  async size(): Promise<number> {
    if (this.cachedSize === undefined) {
      const stat = await (await this.file()).stat();
      // Opening a folder for reading succeeds; reading it fails with a bare EISDIR naming no path.
      if (stat.isDirectory()) throw new SourceReadError(this.url, "it is a folder; give the path of a file", false);
      this.cachedSize = stat.size;
      // A Date holds whole milliseconds: round up, so the version is never earlier than the file's
      // (sub-millisecond) modification time, which a time-based check would take for a change.
      this.modified = new Date(Math.ceil(stat.mtimeMs));
    }
    return this.cachedSize;
  }

  /** The modification time when the file was opened (every read checks the range against its size then). */
  version(): SourceVersion | undefined {
    return this.modified && { lastModified: this.modified };
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const size = await this.size();
    checkRange(this.url, offset, length, size);
    const buffer = new Uint8Array(length);
    const handle = await this.file();
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new SourceReadError(this.url, `file ended at ${offset + done} while reading ${offset}+${length}`, false, {
          offset,
          length,
        });
      }
      done += bytesRead;
    }
    this.stats.requests++;
    this.stats.bytes += length;
    return buffer;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.closed = true;
    if (handle) await (await handle).close();
  }
}
