import { Semaphore } from "../concurrency.js";
import { checkRange, type ByteSource, type ReadStats } from "./byteSource.js";
import { SourceReadError } from "../errors.js";

export interface BlockCacheOptions {
  /**
   * Granularity of caching. Small enough not to over-read (a v1 B-tree node of a 3-d chunk index is
   * about 3.5 KiB), large enough to keep the map small. bench/refs measured 8 KiB against 64 KiB on
   * a Himawari-sized file at 20 ms per request: the same 8 sequential round trips, 0.77 MB read
   * instead of 4.1 MB.
   */
  blockSize?: number;
  /** The first read fetches this much of the file head: superblock, root group and, in netCDF-4
   * files, usually every object header (the Himawari L3C layout's metadata ends near 130 KB). */
  headSize?: number;
  /**
   * Missing ranges closer than this are fetched in one request, the bytes between included. The
   * ranges of one batch are fetched concurrently anyway, so merging saves requests, not round
   * trips: a small gap keeps the request count down without reading much that nobody asked for.
   */
  maxGap?: number;
  /** Upper bound for one coalesced request. */
  maxRequestSize?: number;
  /** Requests in flight at once. */
  concurrency?: number;
}

interface PendingBlock {
  index: number;
  resolve(bytes: Uint8Array): void;
  reject(error: unknown): void;
}

/**
 * A read cache in front of a slow source (S3). All reads asked for during one turn of the event
 * loop are planned together: their missing blocks are grouped into as few requests as the gap and
 * size limits allow, and those requests run concurrently. Parsers can therefore issue reads for
 * many independent structures with Promise.all and pay one round trip for the lot.
 */
export class BlockCache implements ByteSource {
  readonly url: string;
  /** Reads answered (hits and misses), and bytes handed out. */
  readonly served: ReadStats = { requests: 0, bytes: 0 };
  private readonly blockSize: number;
  private readonly headSize: number;
  private readonly maxGap: number;
  private readonly maxRequestSize: number;
  /** Requests to the origin in flight at once. */
  private readonly slots: Semaphore;
  private readonly blocks = new Map<number, Promise<Uint8Array>>();
  private pending: PendingBlock[] = [];
  private flushScheduled = false;
  private head: Promise<void> | undefined;
  private fileSize: number | undefined;

  constructor(
    readonly inner: ByteSource,
    options: BlockCacheOptions = {},
  ) {
    this.url = inner.url;
    this.blockSize = options.blockSize ?? 8 * 1024;
    this.headSize = Math.max(this.blockSize, Math.ceil((options.headSize ?? 256 * 1024) / this.blockSize) * this.blockSize);
    this.maxGap = options.maxGap ?? 64 * 1024;
    this.maxRequestSize = Math.max(this.blockSize, options.maxRequestSize ?? 16 * 1024 * 1024);
    this.slots = new Semaphore(options.concurrency ?? 16);
  }

  async size(): Promise<number> {
    await this.readFileHead();
    return this.fileSize!;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const size = await this.size();
    checkRange(this.url, offset, length, size);
    this.served.requests++;
    this.served.bytes += length;
    if (length === 0) return new Uint8Array(0);
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + length - 1) / this.blockSize);
    const parts: Promise<Uint8Array>[] = [];
    for (let index = first; index <= last; index++) parts.push(this.block(index));
    const blocks = await Promise.all(parts);
    const start = offset - first * this.blockSize;
    if (blocks.length === 1) return blocks[0]!.subarray(start, start + length);
    const out = new Uint8Array(length);
    let written = 0;
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]!;
      const from = i === 0 ? start : 0;
      const take = Math.min(block.length - from, length - written);
      out.set(block.subarray(from, from + take), written);
      written += take;
    }
    return out;
  }

  /** One larger first read: learns the size and caches the head without a separate HEAD request. */
  private readFileHead(): Promise<void> {
    this.head ??= (async () => {
      let bytes: Uint8Array;
      if (this.inner.readHead) {
        const head = await this.inner.readHead(this.headSize);
        this.fileSize = head.size;
        bytes = head.bytes;
      } else {
        this.fileSize = await this.inner.size();
        bytes = await this.inner.read(0, Math.min(this.headSize, this.fileSize));
      }
      this.store(0, bytes);
    })();
    this.head.catch(() => {
      this.head = undefined; // a failed head read may be retried by the next call
    });
    return this.head;
  }

  private store(firstBlock: number, bytes: Uint8Array): void {
    for (let i = 0; i * this.blockSize < bytes.length; i++) {
      const index = firstBlock + i;
      if (!this.blocks.has(index)) {
        this.blocks.set(index, Promise.resolve(bytes.subarray(i * this.blockSize, (i + 1) * this.blockSize)));
      }
    }
  }

  private block(index: number): Promise<Uint8Array> {
    const cached = this.blocks.get(index);
    if (cached) return cached;
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      this.pending.push({ index, resolve, reject });
    });
    this.blocks.set(index, promise);
    // A failed block is forgotten, so a retry (by the activity) reads it again.
    promise.catch(() => {
      if (this.blocks.get(index) === promise) this.blocks.delete(index);
    });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate runs after the current burst of promise callbacks: every read issued by a
      // Promise.all over sibling structures lands in the same batch.
      setImmediate(() => this.flush());
    }
    return promise;
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending.sort((a, b) => a.index - b.index);
    this.pending = [];
    const size = this.fileSize!;
    let run: PendingBlock[] = [];
    const dispatch = (): void => {
      if (run.length > 0) void this.fetchRun(run, size);
      run = [];
    };
    for (const block of batch) {
      const previous = run[run.length - 1];
      if (previous) {
        const gap = (block.index - previous.index - 1) * this.blockSize;
        const span = (block.index - run[0]!.index + 1) * this.blockSize;
        if (gap > this.maxGap || span > this.maxRequestSize) dispatch();
      }
      run.push(block);
    }
    dispatch();
  }

  /** Fetch blocks run[0]..run[last] (and those between them) in one request. */
  private async fetchRun(run: PendingBlock[], size: number): Promise<void> {
    const firstIndex = run[0]!.index;
    const start = firstIndex * this.blockSize;
    const end = Math.min(size, (run[run.length - 1]!.index + 1) * this.blockSize);
    await this.slots.acquire();
    try {
      const bytes = await this.inner.read(start, end - start);
      for (const block of run) {
        const from = (block.index - firstIndex) * this.blockSize;
        block.resolve(bytes.subarray(from, from + this.blockSize));
      }
      // The blocks in the gaps came for free: keep them.
      this.store(firstIndex, bytes);
    } catch (error) {
      for (const block of run) block.reject(error);
    } finally {
      this.slots.release();
    }
  }

}
