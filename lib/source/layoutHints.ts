import type { ByteSpan } from "./byteSource.js";

/** Hints kept at most (one per archive being read, so a worker serving many datasets stays bounded). */
const MAX_HINTS = 256;
/** A hint larger than this is not worth its bytes (a guess that misses costs them all). */
const MAX_HINT_BYTES = 2 * 1024 * 1024;
const MAX_HINT_SPANS = 64;

/**
 * Where the last file of an archive needed metadata beyond its head (BlockCache.learnedRanges),
 * by archive: files of one archive are written by the same program with the same variables, so
 * the next file's object header continuations, attribute heaps and chunk indexes are usually at
 * the same offsets, and the block cache fetches them in its first round beside the head. Never
 * trusted: the bytes are read from the new file itself, so a wrong guess costs what it read and
 * the round trips the reader then makes anyway, never a wrong reference.
 */
export class LayoutHints {
  private readonly hints = new Map<string, ByteSpan[]>();

  /** The ranges to prefetch for the next file of `archive` (none yet: empty). */
  get(archive: string): ByteSpan[] {
    return this.hints.get(archive) ?? [];
  }

  /** Remember what a file of `archive` needed; an empty or oversized set forgets the hint. */
  learn(archive: string, spans: readonly ByteSpan[]): void {
    this.hints.delete(archive);
    const bytes = spans.reduce((n, s) => n + ("suffix" in s ? s.suffix : s.length), 0);
    if (spans.length === 0 || spans.length > MAX_HINT_SPANS || bytes > MAX_HINT_BYTES) return;
    this.hints.set(archive, [...spans]);
    if (this.hints.size > MAX_HINTS) this.hints.delete(this.hints.keys().next().value!);
  }
}
