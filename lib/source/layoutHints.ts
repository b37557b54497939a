import type { ByteSpan } from "./byteSource.js";

/** Hints kept at most (one per archive being read, so a worker serving many datasets stays bounded). */
const MAX_HINTS = 256;
/** A hint larger than this is not worth its bytes (a guess that misses costs them all). */
const MAX_HINT_BYTES = 2 * 1024 * 1024;
const MAX_HINT_SPANS = 64;

interface Learned {
  /** What the last file of the archive needed beyond its head. */
  spans: ByteSpan[];
  /** What to prefetch for the next file: the spans the last two files both needed, once there are two. */
  hint: ByteSpan[];
}

/**
 * Where the last files of an archive needed metadata beyond their head (BlockCache.learnedRanges),
 * by archive: files of one archive are written by the same program with the same variables, so
 * the next file's object header continuations, attribute heaps and chunk indexes are often at
 * the same offsets, and the block cache fetches them in its first round beside the head.
 *
 * Which offsets stay put is learned, not assumed. netCDF-C writes each variable's data before it
 * defines the next variable, so everything after the first variable's data moves with the
 * compressed sizes: in two Himawari-sized files of other values every such structure moved by
 * 0.3 to 1.1 MB, and guessing them costs their bytes for nothing. So after one file, only the
 * ranges that end before its first data (and those anchored at its end) are guessed: no data size
 * can have moved them. Once two files of the archive were read, a range is guessed if both needed
 * it (the metadata before the first data, or a whole file whose compressed sizes vary little, as in
 * the month archive); a range that moved is left to the reader, which finds it through the
 * structures pointing at it.
 * Never trusted either way: the bytes are read from the new file itself, so a wrong guess costs
 * what it read, never a round trip the reader would not make anyway, nor a wrong reference.
 */
export class LayoutHints {
  private readonly learned = new Map<string, Learned>();

  /** The ranges to prefetch for the next file of `archive` (none yet: empty). */
  get(archive: string): ByteSpan[] {
    return this.learned.get(archive)?.hint ?? [];
  }

  /**
   * Remember what a file of `archive` needed (`dataStart`: where its first data range began, when
   * it has one; asked only for an archive's first file); an empty or oversized set forgets the archive.
   */
  learn(archive: string, spans: readonly ByteSpan[], dataStart: () => number | undefined): void {
    const previous = this.learned.get(archive)?.spans;
    this.learned.delete(archive);
    if (spans.length === 0 || spans.length > MAX_HINT_SPANS || spanBytes(spans) > MAX_HINT_BYTES) return;
    const stable = previous === undefined ? beforeData(spans, dataStart()) : stableSpans(spans, previous);
    // Widened spans may outgrow the bound: then nothing is guessed until the files agree again.
    const hint = spanBytes(stable) > MAX_HINT_BYTES ? [] : stable;
    this.learned.set(archive, { spans: [...spans], hint });
    if (this.learned.size > MAX_HINTS) this.learned.delete(this.learned.keys().next().value!);
  }
}

/**
 * Of one file's spans, those no data size can have moved: the ones that end before its first data
 * range, and those anchored at its end.
 */
function beforeData(spans: readonly ByteSpan[], dataStart: number | undefined): ByteSpan[] {
  if (dataStart === undefined) return [...spans];
  return spans.filter((span) => "suffix" in span || span.offset + span.length <= dataStart);
}

function spanBytes(spans: readonly ByteSpan[]): number {
  return spans.reduce((n, s) => n + ("suffix" in s ? s.suffix : s.length), 0);
}

/**
 * The spans of `current` that overlap one of `previous`, each widened to cover those too: a
 * structure that moved by a few bytes across a block boundary is still guessed whole.
 */
function stableSpans(current: readonly ByteSpan[], previous: readonly ByteSpan[]): ByteSpan[] {
  const out: ByteSpan[] = [];
  for (const span of current) {
    const matches = previous.filter((p) => overlap(span, p));
    if (matches.length === 0) continue;
    if ("suffix" in span) {
      out.push({ suffix: Math.max(span.suffix, ...matches.map((m) => ("suffix" in m ? m.suffix : 0))) });
      continue;
    }
    let start = span.offset;
    let end = span.offset + span.length;
    for (const m of matches) {
      if ("suffix" in m) continue;
      start = Math.min(start, m.offset);
      end = Math.max(end, m.offset + m.length);
    }
    out.push({ offset: start, length: end - start });
  }
  return out;
}

/** Whether two spans share a byte (a suffix span, anchored at the end of the file, matches a suffix span). */
function overlap(a: ByteSpan, b: ByteSpan): boolean {
  if ("suffix" in a || "suffix" in b) return "suffix" in a && "suffix" in b;
  return a.offset < b.offset + b.length && b.offset < a.offset + a.length;
}
