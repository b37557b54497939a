/**
 * The census's steps (list the files; read a batch of files' structures; write the report) and
 * `censusDirect`, which runs them without Temporal by the same search (lib/census/model) the census
 * workflow runs, so both read the same files and give the same answer.
 */
import { boundedAll } from "../concurrency.js";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { dayRange } from "../calendar/periods.js";
import { dayOutputMetadata, fileMetadata, type FileMetadataResult } from "./fileMetadata.js";
import { listCensusFiles, loadListing, type IndexedListing } from "./listing.js";
import {
  DEFAULT_STRIDE,
  addReads,
  noReads,
  runsOf,
  searchEras,
  type CensusFacts,
  type CensusSummary,
  type ReadCounts,
  type SignatureBatch,
} from "./model/index.js";
import { writeCensusFiles } from "./report.js";
import { structureDigest, type FileMetadata } from "./signature.js";

export { listCensusFiles } from "./listing.js";

/** Reads files' metadata for one step, a day output once for all its files. */
class MetadataReader {
  private readonly days = new Map<string, Promise<FileMetadataResult & { standsForFiles: boolean }>>();
  counts: ReadCounts = noReads();

  constructor(
    private readonly spec: ResolvedDatasetSpec,
    private readonly listing: IndexedListing,
  ) {}

  async read(index: number): Promise<FileMetadata> {
    const { day, key } = this.listing.file(index);
    if (day.output) {
      let pending = this.days.get(day.day);
      if (!pending) {
        pending = dayOutputMetadata(this.spec, day.output);
        this.days.set(day.day, pending);
        this.counts = addReads(this.counts, (await pending).counts);
      }
      const output = await pending;
      if (output.standsForFiles) return output.metadata;
    }
    const file = await fileMetadata(this.spec, key);
    this.counts = addReads(this.counts, file.counts);
    return file.metadata;
  }
}

/** The structure digests of files `indices` (as runs), `concurrency` files at a time. */
export async function readCensusSignatures(
  spec: ResolvedDatasetSpec,
  start: string,
  end: string,
  listing: string,
  indices: number[],
  options: { concurrency?: number; onFile?: () => void } = {},
): Promise<SignatureBatch> {
  const reader = new MetadataReader(spec, await loadListing(spec, start, end, listing));
  // Settled: of two unreadable files, the census names the first, whichever read ends first.
  const read = await boundedAll(
    indices,
    options.concurrency ?? 8,
    async (index) => {
      const digest = structureDigest(await reader.read(index));
      options.onFile?.();
      return { index, digest };
    },
    { settle: true },
  );
  return { runs: runsOf(read), counts: reader.counts };
}

/** Read each era's first file again (whole metadata this time) and write census.json, census.md and census.svg. */
export async function writeCensusReport(spec: ResolvedDatasetSpec, start: string, end: string, facts: CensusFacts): Promise<CensusSummary> {
  const began = Date.now();
  const listing = await loadListing(spec, start, end, facts.listing);
  const reader = new MetadataReader(spec, listing);
  const firsts = await boundedAll(facts.eraStarts, 8, (index) => reader.read(index), { settle: true });
  const counts = addReads(facts.counts, reader.counts);
  return writeCensusFiles(spec, listing, { ...facts, counts, wallMs: facts.wallMs + (Date.now() - began) }, firsts);
}

export interface CensusOptions {
  exhaustive?: boolean;
  stride?: number;
  /** Let a day's backfill output stand for its files (default true). */
  reuseOutputs?: boolean;
}

/** The census without Temporal: list, sample, bisect, report, by the workflow's steps and search. */
export async function censusDirect(spec: ResolvedDatasetSpec, start: string, end: string, options: CensusOptions = {}): Promise<CensusSummary> {
  dayRange(start, end);
  const began = Date.now();
  const exhaustive = options.exhaustive ?? false;
  const stride = options.stride ?? DEFAULT_STRIDE;
  const listed = await listCensusFiles(spec, start, end, { reuseOutputs: options.reuseOutputs ?? true });
  const found = await searchEras(listed.files, { exhaustive, stride, settle: true }, (batch) => readCensusSignatures(spec, start, end, listed.listing, batch));
  const facts: CensusFacts = { listing: listed.listing, mode: exhaustive ? "exhaustive" : "sampled", stride, ...found, wallMs: Date.now() - began };
  return writeCensusReport(spec, start, end, facts);
}
