/** Inputs and results of a census (plain data: workflow code, activities, the library and the CLI share them). */

/** A run of files with one digest, starting at `index` (the next run, or the end, ends it). */
export interface SignatureRun {
  index: number;
  digest: string;
}

/** What `temporal workflow start --type censusV1 --input '{...}'` takes. No secrets, only names. */
export interface CensusInput {
  /** A dataset the worker's configuration knows. */
  dataset: string;
  /** First and last day, inclusive, "YYYY-MM-DD" (UTC). */
  start: string;
  end: string;
  /** Read every file instead of sampling with bisection (default false). */
  exhaustive?: boolean;
  /** Read every stride-th file first (default 24: a file a day for hourly archives). */
  stride?: number;
}

/** What a census read: source files translated, backfill outputs reused instead, and their bytes. */
export interface ReadCounts {
  filesRead: number;
  outputsRead: number;
  bytesRead: number;
  requests: number;
}

export const noReads = (): ReadCounts => ({ filesRead: 0, outputsRead: 0, bytesRead: 0, requests: 0 });

export const addReads = (a: ReadCounts, b: ReadCounts): ReadCounts => ({
  filesRead: a.filesRead + b.filesRead,
  outputsRead: a.outputsRead + b.outputsRead,
  bytesRead: a.bytesRead + b.bytesRead,
  requests: a.requests + b.requests,
});

/** The listing step's answer (the keys themselves stay in storage). */
export interface ListingSummary {
  /** Names this listing (a digest of it): the later steps check they number the same files. */
  listing: string;
  files: number;
  days: number;
  /** Days whose backfill output stands for their files (one structure a day, checked by the combine). */
  daysWithOutputs: number;
}

/** One batch of files read: their digests as runs, and what reading them cost. */
export interface SignatureBatch {
  runs: SignatureRun[];
  counts: ReadCounts;
}

export type CensusMode = "sampled" | "exhaustive";

/** What the search found, handed to the report step. */
export interface CensusFacts {
  /** The listing the file numbers refer to (`ListingSummary.listing`). */
  listing: string;
  mode: CensusMode;
  stride: number;
  /** The first file (index) of each era, 0 first. */
  eraStarts: number[];
  counts: ReadCounts;
  /** Wall time of the listing and the search, in milliseconds. */
  wallMs: number;
}

/** One era in a few words, for the workflow result, the Web UI and the CLI. */
export interface EraSummary {
  era: number;
  /** Eras with the same number can be one aggregate (variables appearing or disappearing make a union); see CensusEra. */
  aggregate: number;
  first: string;
  last: string;
  files: number;
  /** What changed at its first file ("sea_surface_temperature scale_factor 0.01 → 0.005"); none for the first era. */
  changes: string[];
}

/** The census's result: where its report is, and the eras. */
export interface CensusSummary {
  dataset: string;
  start: string;
  end: string;
  mode: CensusMode;
  stride: number;
  files: number;
  eras: EraSummary[];
  counts: ReadCounts;
  wallMs: number;
  /** URLs of census.json and census.md in the dataset's output storage. */
  census: string;
  report: string;
}

/** The census's activities (activities/census.ts), each a thin call of lib/census. */
export interface CensusSteps {
  listCensusFiles(dataset: string, start: string, end: string): Promise<ListingSummary>;
  readCensusSignatures(dataset: string, start: string, end: string, listing: string, indices: number[]): Promise<SignatureBatch>;
  writeCensusReport(dataset: string, start: string, end: string, facts: CensusFacts): Promise<CensusSummary>;
}
