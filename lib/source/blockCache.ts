import { Semaphore } from "../concurrency.js";
import { checkRange, type ByteSource, type ByteSpan, type ReadStats } from "./byteSource.js";

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
  /**
   * The first round also fetches this much of the file's end, beside the head. netCDF-C (HDF5)
   * appends object header continuation blocks, dense attribute storage and late chunk indexes
   * after the data when it closes a file: with the tail in hand, their reads cost no round trip.
   */
  tailSize?: number;
  /**
   * Ranges worth reading in the first round too, beside the head and the tail: usually where a
   * file of the same layout needed metadata (`learnedRanges` of its cache). A guess: ranges past
   * the end, or that hold nothing the reader asks for, cost bytes, never a wrong answer.
   */
  prefetch?: readonly ByteSpan[];
  /** Upper bound for one coalesced request. */
  maxRequestSize?: number;
  /**
   * Requests of this file in flight at once (default 32): enough that one wave of a large file's
   * metadata goes out together (a Himawari-sized granule's chunk-index leaves, ten variables of
   * three leaves each, coalesce into 18 requests; at 16 the last two waited for a round trip,
   * docs/benchmarks.md "Round trips"). The shared client's sockets bound a worker's total.
   */
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
  /** Blocks asked for before their bytes were in: pending, then resolved (or forgotten on failure). */
  private readonly blocks = new Map<number, Promise<Uint8Array>>();
  /**
   * Every block whose bytes are in (what `readNow` answers from without a promise); a block kept
   * from a larger read gets a promise only if `block` is asked for it.
   */
  private readonly stored = new Map<number, Uint8Array>();
  private readonly tailSize: number;
  private readonly prefetch: readonly ByteSpan[];
  /** Blocks the reader asked for, by index (what a file of the same layout will likely need). */
  private readonly touched = new Set<number>();
  private pending: PendingBlock[] = [];
  private flushScheduled = false;
  private head: Promise<void> | undefined;
  /** The first round (head, tail, guesses) is stored: `fileSize` is known and final. */
  private headDone = false;
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
    this.slots = new Semaphore(options.concurrency ?? 32);
    this.tailSize = Math.max(0, options.tailSize ?? 0);
    this.prefetch = options.prefetch ?? [];
  }

  async size(): Promise<number> {
    await this.readFileHead();
    return this.fileSize!;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    // Once the first round is in, no await for it (a parse makes dozens of reads a file, each a
    // few promises fewer: less garbage, fewer promise hooks in an activity's AsyncLocalStorage).
    const now = this.readNow(offset, length);
    if (now !== undefined) return now;
    const size = this.headDone ? this.fileSize! : await this.size();
    checkRange(this.url, offset, length, size);
    this.served.requests++;
    this.served.bytes += length;
    if (length === 0) return new Uint8Array(0);
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + length - 1) / this.blockSize);
    if (first === last) {
      this.touched.add(first);
      const start = offset - first * this.blockSize;
      return (await this.block(first)).subarray(start, start + length);
    }
    const parts: Promise<Uint8Array>[] = [];
    for (let index = first; index <= last; index++) {
      this.touched.add(index);
      parts.push(this.block(index));
    }
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

  /**
   * The bytes at once, without a promise, when the first round is in and every block of the range
   * is stored; undefined otherwise (then `read`, which also reports a range outside the file).
   * Counted and remembered as `read` does. Under an activity's AsyncLocalStorage node runs promise
   * hooks on every promise: most of a parse's reads are of blocks already in.
   */
  readNow(offset: number, length: number): Uint8Array | undefined {
    const bytes = this.storedBytes(offset, length);
    if (bytes === undefined) return undefined;
    const last = Math.floor((offset + length - 1) / this.blockSize);
    for (let index = Math.floor(offset / this.blockSize); index <= last; index++) this.touched.add(index);
    this.served.requests++;
    this.served.bytes += length;
    return bytes;
  }

  /** `readNow`'s bytes without counting them as asked for (`learnedRanges`) or served: a look, not a read. */
  peek(offset: number, length: number): Uint8Array | undefined {
    return this.storedBytes(offset, length);
  }

  /** The bytes of a range whose every block is stored, else undefined. */
  private storedBytes(offset: number, length: number): Uint8Array | undefined {
    if (!this.headDone || length <= 0 || offset < 0 || offset + length > this.fileSize!) return undefined;
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + length - 1) / this.blockSize);
    const start = offset - first * this.blockSize;
    if (first === last) {
      const block = this.stored.get(first);
      return block === undefined ? undefined : block.subarray(start, start + length);
    }
    for (let index = first; index <= last; index++) if (!this.stored.has(index)) return undefined;
    const bytes = new Uint8Array(length);
    let written = 0;
    for (let index = first; index <= last; index++) {
      const block = this.stored.get(index)!;
      const from = index === first ? start : 0;
      const take = Math.min(block.length - from, length - written);
      bytes.set(block.subarray(from, from + take), written);
      written += take;
    }
    return bytes;
  }

  /**
   * The ranges of the file the reader asked for beyond its first block and the tail, as whole
   * blocks (runs closer than the merge gap joined): what a file of the same layout is likely to
   * need at about the same offsets. Parts of the head count too, so that a cache given these as
   * `prefetch` can read a small head and no more than was needed. A run that reaches the file's
   * last block is given from the end (a suffix, one block wider): what a writer put after the
   * data (objects created last, attributes added at the end) stays that far from the end of a
   * file whose data have other sizes.
   */
  learnedRanges(): ByteSpan[] {
    const size = this.fileSize;
    if (size === undefined) return [];
    const tailStart = size - Math.min(this.tailSize, size);
    const lastBlock = Math.floor((size - 1) / this.blockSize);
    const indexes = [...this.touched].filter((i) => i >= 1 && (i === lastBlock ? size : (i + 1) * this.blockSize) <= tailStart).sort((a, b) => a - b);
    const spans: ByteSpan[] = [];
    let runStart = -1;
    let runEnd = -1;
    const flush = (): void => {
      if (runStart < 0) return;
      const offset = runStart * this.blockSize;
      const end = Math.min(size, (runEnd + 1) * this.blockSize);
      spans.push(runEnd === lastBlock ? { suffix: Math.min(size, end - offset + this.blockSize) } : { offset, length: end - offset });
    };
    for (const index of indexes) {
      if (runStart >= 0 && (index - runEnd - 1) * this.blockSize <= this.maxGap) {
        runEnd = index;
        continue;
      }
      flush();
      runStart = runEnd = index;
    }
    flush();
    return spans;
  }

  /**
   * The first round: the head, the tail and the guessed ranges at once, which also gives the size
   * without a separate HEAD request. Only the head must succeed; a failed or wrong guess costs the
   * reads that would have come anyway.
   */
  private readFileHead(): Promise<void> {
    this.head ??= (async () => {
      // Guesses within the merge gap of the head (or of each other) join it: fewer requests.
      let headLength = this.headSize;
      const ranges: { offset: number; length: number }[] = [];
      for (const span of [...this.prefetch].filter((s): s is { offset: number; length: number } => "offset" in s).sort((a, b) => a.offset - b.offset)) {
        const start = Math.floor(span.offset / this.blockSize) * this.blockSize;
        const end = span.offset + span.length;
        const last = ranges[ranges.length - 1];
        if (!last && start - headLength <= this.maxGap && end <= this.maxRequestSize) headLength = Math.max(headLength, end);
        else if (last && start - (last.offset + last.length) <= this.maxGap && end - last.offset <= this.maxRequestSize) last.length = Math.max(last.length, end - last.offset);
        else if (end > headLength) ranges.push({ offset: start, length: end - start });
      }
      const guesses: ByteSpan[] = [...(this.tailSize > 0 ? [{ suffix: this.tailSize }] : []), ...this.prefetch.filter((s) => "suffix" in s), ...ranges];
      if (this.inner.readSpan) {
        const readSpan = this.inner.readSpan.bind(this.inner);
        const extra = guesses.map((span) => readSpan(span).catch(() => undefined));
        const head = await readSpan({ offset: 0, length: headLength });
        this.fileSize = head.size;
        this.store(0, head.bytes);
        for (const got of await Promise.all(extra)) if (got && got.size === head.size) this.storeSpan(got.offset, got.bytes);
        return;
      }
      if (this.inner.readHead && guesses.length === 0) {
        const head = await this.inner.readHead(this.headSize);
        this.fileSize = head.size;
        this.store(0, head.bytes);
        return;
      }
      // A source that knows its size without a request (a local file): every read at once.
      const size = await this.inner.size();
      this.fileSize = size;
      const extra = guesses.map(async (span) => {
        const offset = "suffix" in span ? Math.max(0, size - span.suffix) : span.offset;
        const end = "suffix" in span ? size : Math.min(size, span.offset + span.length);
        return offset < end ? { offset, bytes: await this.inner.read(offset, end - offset) } : undefined;
      });
      this.store(0, await this.inner.read(0, Math.min(headLength, size)));
      for (const got of await Promise.all(extra.map((p) => p.catch(() => undefined)))) if (got) this.storeSpan(got.offset, got.bytes);
    })();
    this.head.then(
      () => {
        this.headDone = true;
      },
      () => {
        this.head = undefined; // a failed head read may be retried by the next call
      },
    );
    return this.head;
  }

  private store(firstBlock: number, bytes: Uint8Array): void {
    for (let i = 0; i * this.blockSize < bytes.length; i++) {
      const index = firstBlock + i;
      if (!this.has(index)) this.stored.set(index, bytes.subarray(i * this.blockSize, (i + 1) * this.blockSize));
    }
  }

  /** Keep the whole blocks of `bytes` read at `offset` (the last block of the file may be short). */
  private storeSpan(offset: number, bytes: Uint8Array): void {
    const size = this.fileSize!;
    const first = Math.ceil(offset / this.blockSize);
    for (let index = first; index * this.blockSize < offset + bytes.length; index++) {
      const start = index * this.blockSize;
      const end = Math.min(start + this.blockSize, size);
      if (end > offset + bytes.length) break;
      if (!this.has(index)) this.stored.set(index, bytes.subarray(start - offset, end - offset));
    }
  }

  private has(index: number): boolean {
    return this.stored.has(index) || this.blocks.has(index);
  }

  private block(index: number): Promise<Uint8Array> {
    const cached = this.blocks.get(index);
    if (cached) return cached;
    const stored = this.stored.get(index);
    if (stored) return Promise.resolve(stored);
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
        const got = bytes.subarray(from, from + this.blockSize);
        this.stored.set(block.index, got);
        block.resolve(got);
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
