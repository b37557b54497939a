/** One metadata cache entry saved in the image: the bytes that belong at `address` in the file. */
export interface CacheImageEntry {
  address: number;
  bytes: Uint8Array;
}

/**
 * Metadata bytes that replace the file's own at their addresses (a cache image's entries), applied
 * to every read that overlaps them. Entries are sorted by address and do not overlap.
 */
export class MetadataOverlay {
  constructor(private readonly entries: CacheImageEntry[]) {}

  get size(): number {
    return this.entries.length;
  }

  /** `bytes` read from the file at relative `address`, with every overlapping entry copied over it. */
  apply(address: number, bytes: Uint8Array): Uint8Array {
    const end = address + bytes.length;
    // First entry that could overlap: binary search on the entry end.
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = this.entries[mid]!;
      if (e.address + e.bytes.length <= address) lo = mid + 1;
      else hi = mid;
    }
    let out = bytes;
    for (let i = lo; i < this.entries.length && this.entries[i]!.address < end; i++) {
      const e = this.entries[i]!;
      if (out === bytes) out = bytes.slice();
      const from = Math.max(address, e.address);
      const to = Math.min(end, e.address + e.bytes.length);
      out.set(e.bytes.subarray(from - e.address, to - e.address), from - address);
    }
    return out;
  }
}
