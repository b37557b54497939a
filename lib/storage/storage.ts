import type { ByteSource } from "../source/byteSource.js";

export interface ObjectInfo {
  /** Key relative to the storage root, "/"-separated. */
  key: string;
  size: number;
  /** The object's ETag as S3 lists it (quotes included); absent for local files. */
  etag?: string;
  /** When the object was last written (S3's LastModified, a file's mtime), in ms since the epoch. */
  modifiedMs?: number;
}

/**
 * Where sources are listed and read, and where references are written: a local folder or an S3
 * bucket (with an optional key prefix). Writes are whole-object and atomic: no reader ever sees a
 * partial object.
 */
export interface Storage {
  /** For messages: "s3://bucket/prefix" or "/path/to/folder". */
  readonly description: string;
  /** The URL references use for a key: an absolute local path or s3://bucket/key. */
  url(key: string): string;
  /** Every object whose key starts with `prefix`, in key order (paginated underneath). */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  exists(key: string): Promise<boolean>;
  read(key: string): Promise<Uint8Array>;
  /**
   * Write `bytes` at `key` atomically. With `ifAbsent`, write only when nothing is there yet and
   * return false when something already is (the first writer wins; nothing is overwritten).
   */
  write(key: string, bytes: Uint8Array, options?: { ifAbsent?: boolean }): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Remove several keys (those already gone are fine): on S3 one request per 1,000 keys, not one each. */
  deleteAll(keys: readonly string[]): Promise<void>;
  /** Random access to one object, for the HDF5 reader. */
  source(key: string): ByteSource;
  close(): Promise<void>;
}

/** Join key parts with single slashes, ignoring empty parts. */
export function joinKey(...parts: string[]): string {
  // A loop rather than .flatMap/.filter: docs/benchmarks.md, "Deoptimizations".
  let key = "";
  for (const part of parts) {
    for (const segment of part.split("/")) if (segment.length > 0) key = key.length === 0 ? segment : `${key}/${segment}`;
  }
  return key;
}
