/**
 * The files of a census: every day of the range listed through the dataset's template (as a
 * backfill lists them), in time order, with the day outputs a backfill already wrote. Kept in the
 * dataset's output storage (`<prefix>/<root>/census/<start>..<end>/files.json`), so the workflow
 * carries only counts and file numbers, never keys.
 */
import { dayRange, daysIn, yearsIn } from "../calendar/periods.js";
import { boundedAll } from "../concurrency.js";
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { outputRules } from "../backfill/model/output.js";
import { outputKey } from "../backfill/names.js";
import { findOutputs, listDaySources } from "../backfill/sources.js";
import { joinKey } from "../storage/storage.js";
import { StorageError } from "../errors.js";
import { createHash } from "node:crypto";
import type { ListingSummary } from "./model/types.js";

export interface CensusDay {
  day: string;
  files: string[];
  /** The day's backfill output (a key in the output storage), which stands for its files. */
  output?: string;
}

export interface CensusListing {
  version: 1;
  /** A digest of the days: what the census's later steps ask for, so they never number another listing's files. */
  id: string;
  dataset: string;
  start: string;
  end: string;
  days: CensusDay[];
}

/** Where a census over a range keeps its files: beside the dataset's outputs. */
export const censusFolder = (spec: ResolvedDatasetSpec, start: string, end: string): string =>
  joinKey(spec.output.prefix, spec.source.root, "census", `${start}..${end}`);

const listingKey = (spec: ResolvedDatasetSpec, start: string, end: string): string => joinKey(censusFolder(spec, start, end), "files.json");

/**
 * List the range's files (days `concurrency` at a time) and the day outputs that can stand for
 * them (reference-file outputs only: an Icechunk store keeps one metadata for all its days), and
 * store the listing. `onDay` hears of each day listed (heartbeats).
 */
export async function listCensusFiles(
  spec: ResolvedDatasetSpec,
  start: string,
  end: string,
  options: { reuseOutputs?: boolean; concurrency?: number; onDay?: () => void } = {},
): Promise<ListingSummary> {
  const range = dayRange(start, end);
  const outputs = new Set<string>();
  // Day outputs stand for their files only when they are kerchunk JSON (not a store's commits, nor Parquet folders).
  if ((options.reuseOutputs ?? true) && outputRules(spec.output.format).censusReadsDayOutputs) {
    // A day split by drift into several outputs (issue 17) is not one structure: its files are read.
    for (const year of yearsIn(range)) for (const [period, found] of Object.entries(await findOutputs(spec, year.id))) if (typeof found === "string") outputs.add(period);
  }
  const dayIds = yearsIn(range).flatMap((year) => daysIn(year, range).map((d) => d.id));
  const days = await boundedAll(dayIds, options.concurrency ?? 16, async (day): Promise<CensusDay> => {
    const files = (await listDaySources(spec, day)).map((o) => o.key);
    options.onDay?.();
    return { day, files, ...(outputs.has(day) && files.length > 0 ? { output: outputKey(spec, day) } : {}) };
  });
  const withFiles = days.filter((d) => d.files.length > 0);
  const id = createHash("sha256").update(JSON.stringify(withFiles)).digest("hex").slice(0, 16);
  const listing: CensusListing = { version: 1, id, dataset: spec.name, start, end, days: withFiles };
  const storage = openStorage(spec.output.storage);
  try {
    await storage.write(listingKey(spec, start, end), new TextEncoder().encode(JSON.stringify(listing)));
  } finally {
    await storage.close();
  }
  remember(new IndexedListing(listing));
  return {
    listing: id,
    files: listing.days.reduce((n, d) => n + d.files.length, 0),
    days: listing.days.length,
    daysWithOutputs: listing.days.filter((d) => d.output).length,
  };
}

/**
 * Listings this process made or read lately, by id: a decade's is 9 MB of JSON, and every read
 * step of a census needs it. A listing never changes under its id, so a kept one is never stale.
 */
const recent = new Map<string, IndexedListing>();
function remember(listing: IndexedListing): void {
  recent.delete(listing.listing.id);
  recent.set(listing.listing.id, listing);
  while (recent.size > 4) recent.delete(recent.keys().next().value!);
}

/**
 * The stored listing `id`, with a way from file number to its day and key. If another census of
 * the same range listed again meanwhile (and the archive had changed), the stored listing is
 * another one: refused, since its file numbers are not this census's.
 */
export async function loadListing(spec: ResolvedDatasetSpec, start: string, end: string, id: string): Promise<IndexedListing> {
  const kept = recent.get(id);
  if (kept) return kept;
  const storage = openStorage(spec.output.storage);
  const key = listingKey(spec, start, end);
  try {
    const listing = JSON.parse(new TextDecoder().decode(await storage.read(key))) as CensusListing;
    if (listing.version !== 1) throw new StorageError(storage.description, key, `census listing version ${String(listing.version)} is not 1`, false);
    if (listing.id !== id) {
      throw new StorageError(storage.description, key, `the census listing was replaced (listing ${listing.id}, not ${id}): another census of the same range listed a changed archive meanwhile; run this census again`, false);
    }
    const indexed = new IndexedListing(listing);
    remember(indexed);
    return indexed;
  } finally {
    await storage.close();
  }
}

export class IndexedListing {
  /** The file number of each day's first file. */
  private readonly firsts: number[] = [];
  readonly files: number;

  constructor(readonly listing: CensusListing) {
    let n = 0;
    for (const day of listing.days) {
      this.firsts.push(n);
      n += day.files.length;
    }
    this.files = n;
  }

  /** File `index`: its day and key. */
  file(index: number): { day: CensusDay; key: string } {
    if (!Number.isInteger(index) || index < 0 || index >= this.files) throw new RangeError(`census: no file ${index} (the listing has ${this.files})`);
    let lo = 0;
    let hi = this.firsts.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.firsts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    const day = this.listing.days[lo]!;
    return { day, key: day.files[index - this.firsts[lo]!]! };
  }
}
