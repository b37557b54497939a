import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { StorageError } from "../errors.js";
import { compareRefKeys } from "../model/kerchunkJson.js";
import type { Reference } from "../model/kerchunkRefs.js";
import { joinKey, type Storage } from "../storage/storage.js";
import type { CombinedArray, RefSink } from "./combine.js";
import { inlineBytes } from "../model/chunkBytes.js";

export interface ParquetOutputOptions {
  /** References per Parquet file (kerchunk's record_size; refs_to_dataframe's default 100,000). */
  recordSize?: number;
  /**
   * Column statistics for `offset` and `size` (default true). False writes files as we did before
   * issue 9, which fastparquet misreads: only for the consumer tests that show it.
   */
  columnStatistics?: boolean;
}

/**
 * Where a Parquet reference folder's files go: a local folder (`localParquetFolder`), or a folder
 * of an output storage (`storageParquetFolder`). Data files first, `.zmetadata` last: a folder is a
 * reference set once its `.zmetadata` is there.
 */
export interface ParquetFolder {
  /** For messages and `written`: the folder's path or URL. */
  readonly description: string;
  /** Ready the folder for a new set of files. */
  open(): Promise<void>;
  /** Write one data file, by its path inside the folder ("sst/refs.0.parq"). */
  write(path: string, bytes: Uint8Array): Promise<void>;
  /** Write `.zmetadata`, last: false when the folder had one already (another writer's output stands). */
  publish(zmetadata: Uint8Array): Promise<boolean>;
  /**
   * With these, the folder may have other writers (two runs of one period), and `ParquetRefSink`
   * publishes only data files it has read back as its own (see `close`). Without them the folder
   * is the writer's alone (a local folder emptied at `open`).
   */
  shared?: {
    /** Whether `.zmetadata` is there (some writer published). */
    published(): Promise<boolean>;
    /** A data file's bytes, undefined when there is none. */
    read(path: string): Promise<Uint8Array | undefined>;
    /** Every file in the folder but `.zmetadata`, by path inside it. */
    files(): Promise<string[]>;
    remove(path: string): Promise<void>;
    /** Remove `.zmetadata` (a publication found pointing at another writer's data files). */
    unpublish(): Promise<void>;
  };
}

/** A local folder, emptied first (as LazyReferenceMapper.create does); `.zmetadata` overwritten. */
export function localParquetFolder(root: string): ParquetFolder {
  return {
    description: root,
    open: async () => {
      await rm(root, { recursive: true, force: true });
      await mkdir(root, { recursive: true });
    },
    write: async (path, bytes) => {
      const file = join(root, ...path.split("/"));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, bytes);
    },
    publish: async (zmetadata) => {
      await writeFile(join(root, ".zmetadata"), zmetadata);
      return true;
    },
  };
}

/**
 * A folder of an output storage (the backfill's outputs), which two runs of one period may write
 * at once: `.zmetadata` is created once (the first publisher's stands); data files are written
 * over whatever a run cut short left there, and the ones the published `.zmetadata` does not use
 * are removed after publishing.
 */
export function storageParquetFolder(storage: Storage, key: string): ParquetFolder {
  const zmetadata = joinKey(key, ".zmetadata");
  return {
    description: storage.url(key),
    open: async () => undefined,
    write: async (path, bytes) => void (await storage.write(joinKey(key, path), bytes)),
    publish: (bytes) => storage.write(zmetadata, bytes, { ifAbsent: true }),
    shared: {
      published: () => storage.exists(zmetadata),
      read: async (path) => ((await storage.exists(joinKey(key, path))) ? storage.read(joinKey(key, path)) : undefined),
      files: async () => {
        const files: string[] = [];
        for await (const object of storage.list(`${key}/`)) if (object.key !== zmetadata) files.push(object.key.slice(key.length + 1));
        return files;
      },
      remove: (path) => storage.delete(joinKey(key, path)),
      unpublish: () => storage.delete(zmetadata),
    },
  };
}

const digest = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** One Parquet file's rows while it fills: kerchunk's columns path, offset, size, raw. */
interface RecordBuffer {
  paths: (string | null)[];
  offsets: BigInt64Array;
  sizes: BigInt64Array;
  raws: (Uint8Array | null)[];
}

/**
 * Writes references in kerchunk's Parquet layout (what `kerchunk.df.refs_to_dataframe` writes and
 * fsspec's `LazyReferenceMapper` reads): `<root>/.zmetadata` holds every metadata key (parsed JSON)
 * and `record_size`; each array's chunk references go to `<root>/<array>/refs.<n>.parq`, row i of
 * file n being the chunk with C-order flat index n * record_size + i. A missing chunk is a null
 * path (read as the fill value); inline data is in `raw` as bytes.
 *
 * Records are written as soon as every chunk in them is known (the combine reports progress along
 * a leading concat axis), so memory holds about one record per array, whatever the year's size.
 */
export class ParquetRefSink implements RefSink {
  readonly wantsKeys = false;
  private readonly recordSize: number;
  private readonly columnStatistics: boolean;
  private readonly metadataTexts = new Map<string, string>();
  private readonly pending = new Map<string, Map<number, RecordBuffer>>();
  private readonly arrays = new Map<string, CombinedArray>();
  private readonly writtenRecords = new Map<string, Set<number>>();
  private readonly folder: ParquetFolder;
  /** The digest of each data file written, by path in the folder: what `close` checks the folder holds. */
  private readonly digests = new Map<string, string>();
  /** Another writer published this folder meanwhile: its output stands, nothing more is written. */
  private standing = false;
  /** Files written, for summaries and tests. */
  readonly written: string[] = [];

  /** `root`: a local folder's path, or a folder of the caller's. */
  constructor(root: string | ParquetFolder, options: ParquetOutputOptions = {}) {
    this.folder = typeof root === "string" ? localParquetFolder(root) : root;
    this.recordSize = options.recordSize ?? 100_000;
    this.columnStatistics = options.columnStatistics ?? true;
    if (!Number.isInteger(this.recordSize) || this.recordSize < 1) throw new RangeError("recordSize must be a whole number ≥ 1");
  }

  /** Start the folder (a local one from empty, as LazyReferenceMapper.create does). */
  async open(): Promise<void> {
    await this.folder.open();
  }

  declareArray(array: CombinedArray): void {
    this.arrays.set(array.path, array);
    this.pending.set(array.path, new Map());
  }

  metadata(key: string, text: string): void {
    this.metadataTexts.set(key, text);
  }

  private rowsIn(array: CombinedArray, record: number): number {
    return Math.min(this.recordSize, array.chunkCount - record * this.recordSize);
  }

  private emptyRecord(array: CombinedArray, record: number): RecordBuffer {
    const rows = this.rowsIn(array, record);
    return { paths: new Array<string | null>(rows).fill(null), offsets: new BigInt64Array(rows), sizes: new BigInt64Array(rows), raws: new Array<Uint8Array | null>(rows).fill(null) };
  }

  chunk(array: CombinedArray, flatIndex: number, _leaf: string | undefined, ref: Reference): void {
    const record = Math.floor(flatIndex / this.recordSize);
    const row = flatIndex - record * this.recordSize;
    const records = this.pending.get(array.path)!;
    let buffer = records.get(record);
    if (!buffer) {
      buffer = this.emptyRecord(array, record);
      records.set(record, buffer);
    }
    if (typeof ref === "string") {
      buffer.raws[row] = inlineBytes(ref);
    } else {
      buffer.paths[row] = ref[0];
      // [url] alone (a whole file) is offset 0, size 0, which LazyReferenceMapper reads back as [url].
      buffer.offsets[row] = BigInt(ref[1] ?? 0);
      buffer.sizes[row] = BigInt(ref[2] ?? 0);
    }
  }

  async settled(array: CombinedArray, flatIndex: number): Promise<void> {
    const records = this.pending.get(array.path)!;
    for (const [record, buffer] of [...records]) {
      if (record * this.recordSize + buffer.paths.length <= flatIndex) {
        records.delete(record);
        await this.writeRecord(array, record, buffer);
      }
    }
  }

  private async writeRecord(array: CombinedArray, record: number, buffer: RecordBuffer): Promise<void> {
    let written = this.writtenRecords.get(array.path);
    if (!written) this.writtenRecords.set(array.path, (written = new Set()));
    written.add(record);
    // Statistics for offset and size are what fastparquet (fsspec's default engine for a reference
    // folder, and VirtualiZarr's KerchunkParquetParser) needs to read these REQUIRED INT64 columns
    // as int64: without them it reads them as nullable and hands back float64 garbage (offset
    // 55245 read as 2.7e-319). The other columns need none; writing them costs time.
    const bytes = parquetWriteBuffer({
      columnData: [
        { name: "path", data: buffer.paths, type: "STRING" },
        { name: "offset", data: buffer.offsets, type: "INT64", nullable: false, statistics: this.columnStatistics },
        { name: "size", data: buffer.sizes, type: "INT64", nullable: false, statistics: this.columnStatistics },
        { name: "raw", data: buffer.raws, type: "BYTE_ARRAY" },
      ],
      statistics: false,
      rowGroupSize: this.recordSize,
    });
    const file = `${array.path}/refs.${record}.parq`;
    // A published folder's data files are never written over (another run's output stands).
    if (this.standing || (await this.folder.shared?.published())) {
      this.standing = true;
      return;
    }
    const data = new Uint8Array(bytes);
    await this.folder.write(file, data);
    if (this.folder.shared) this.digests.set(file, digest(data));
    this.written.push(`${this.folder.description}/${file}`);
  }

  /**
   * The data files this sink wrote that the folder no longer holds as written (another run of the
   * period wrote over them), by path.
   */
  private async changedFiles(shared: NonNullable<ParquetFolder["shared"]>): Promise<string[]> {
    const changed: string[] = [];
    for (const [file, expected] of this.digests) {
      const bytes = await shared.read(file);
      if (!bytes || digest(bytes) !== expected) changed.push(file);
    }
    return changed;
  }

  /**
   * Write what is left and `.zmetadata`, last: false when the folder had one already
   * (`ParquetFolder.publish`: another writer's output stands).
   *
   * A shared folder (two runs of one period with changed sources may write it at once; fsspec's
   * LazyReferenceMapper reads data files only at `<folder>/<array>/refs.<n>.parq`, so a run cannot
   * name its data files apart from another's) is published only with its own data files:
   *  1. no data file is written once a `.zmetadata` is there (checked before each write);
   *  2. before publishing, every data file is read back: one another run wrote over means a
   *     writer is at work here now, so nothing is published and a retryable error says so (the
   *     retry finds the other run's output, or writes the folder again);
   *  3. `.zmetadata` is created once; after publishing, the data files are read back again: a
   *     write another run began before it saw our `.zmetadata` (step 1) and finished after step 2
   *     is found here, `.zmetadata` is removed again and the error is retryable.
   * What is left: a write of another run that stays in flight from before our publication until
   * after step 3's read-back (a data-file PUT taking longer than our publish and read-back) is not
   * seen. Data files `.zmetadata` does not use (a run cut short wrote more arrays or records) are
   * removed after publishing.
   */
  async close(): Promise<boolean> {
    // Every record file exists, even one whose chunks are all missing (a never-written scalar such
    // as crs): LazyReferenceMapper lists an array by reading all its records and fails on an absent
    // file (which kerchunk's own writer leaves out: opening such a set then fails or not depending
    // on Python's hash seed).
    for (const [path, records] of this.pending) {
      const array = this.arrays.get(path)!;
      const written = this.writtenRecords.get(path);
      for (let record = 0; record * this.recordSize < array.chunkCount; record++) {
        if (written?.has(record)) continue;
        await this.writeRecord(array, record, records.get(record) ?? this.emptyRecord(array, record));
        records.delete(record);
      }
    }
    if (this.standing) return false;
    const shared = this.folder.shared;
    const busy = (files: string[]): StorageError =>
      new StorageError(this.folder.description, files[0]!, `another run of this output wrote ${files.length} of its data files at the same time: not published (a retry finds that output or writes this one again)`, true);
    if (shared) {
      const changed = await this.changedFiles(shared);
      if (changed.length > 0) {
        if (await shared.published()) return false;
        throw busy(changed);
      }
    }
    // Metadata texts are strict JSON objects already (the combine writes them so): embed them as
    // they are, in canonical key order so re-runs write the same bytes.
    const keys = [...this.metadataTexts.keys()].sort(compareRefKeys);
    const body = keys.map((key) => `${JSON.stringify(key)}:${this.metadataTexts.get(key)!}`).join(",");
    if (!(await this.folder.publish(new TextEncoder().encode(`{"metadata":{${body}},"record_size":${this.recordSize}}`)))) return false;
    if (shared) {
      const changed = await this.changedFiles(shared);
      if (changed.length > 0) {
        await shared.unpublish();
        throw busy(changed);
      }
      for (const file of await shared.files()) if (!this.digests.has(file)) await shared.remove(file);
    }
    return true;
  }
}
