/**
 * Bytes already in memory as a ByteSource: a file received whole (an upload, a fixture a test
 * crafted or damaged). Reads resolve asynchronously, one event-loop turn (or `delayMs`) after they
 * are issued like a network request, and the source counts what a reader did with it: requests and
 * bytes, the most reads in flight at once, and round trips (the longest chain of reads each issued
 * only after the one before it completed; reads issued together share a round).
 */
import { checkRange, type ByteSource, type ReadStats } from "./byteSource.js";

export class MemorySource implements ByteSource {
  readonly stats: ReadStats = { requests: 0, bytes: 0 };
  inFlight = 0;
  peakConcurrency = 0;
  roundTrips = 0;
  private finishedRound = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly url = "memory://file.h5",
    private readonly options: { delayMs?: number } = {},
  ) {}

  async size(): Promise<number> {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.url, offset, length, this.bytes.length);
    const round = this.finishedRound + 1;
    this.roundTrips = Math.max(this.roundTrips, round);
    this.stats.requests++;
    this.stats.bytes += length;
    this.inFlight++;
    this.peakConcurrency = Math.max(this.peakConcurrency, this.inFlight);
    try {
      const delayMs = this.options.delayMs ?? 0;
      await new Promise((resolve) => (delayMs > 0 ? setTimeout(resolve, delayMs) : setImmediate(resolve)));
      this.finishedRound = Math.max(this.finishedRound, round);
      return this.bytes.slice(offset, offset + length);
    } finally {
      this.inFlight--;
    }
  }
}
