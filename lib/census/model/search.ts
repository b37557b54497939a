/**
 * Which files a census reads, written once for `censusDirect` and the census workflow (this folder
 * is bundled into workflow code: plain data, pure functions, no imports).
 *
 * Files are numbered 0..n-1 in time order (days in order, a day's files in key order). A file's
 * structure is known by its digest. Sampled: read the first, the last and every `stride`-th file;
 * where two neighbouring known files have the same digest, assume every file between them has it
 * too (an era does not come back between two samples: A→B→A inside a gap is missed); where they
 * differ, read the file halfway and repeat, until the two differing files are neighbours: the later
 * one is the first file of a new era. Exhaustive: read every file.
 */

import { boundedAll } from "../../concurrency.js";
import { addReads, noReads, type ReadCounts, type SignatureBatch, type SignatureRun } from "./types.js";

/** Files per read activity (and per step of `censusDirect`): a retry rereads at most this many. */
export const FILES_PER_BATCH = 256;
/** Batches read at once. */
export const BATCHES_AT_ONCE = 4;

/** A file a day by default for hourly archives: one sample a day, bisection within. */
export const DEFAULT_STRIDE = 24;

/** The assumption a sampled census makes, said once (census.json, the report, the docs). */
export const SAMPLING_ASSUMPTION =
  "between two sampled files with the same structure every file has that structure: an era that begins and ends between two samples (A→B→A) is missed; run with exhaustive to read every file";

/** The first files to read: all of them (exhaustive), or the first, the last and every stride-th. */
export function firstProbes(files: number, stride: number, exhaustive: boolean): number[] {
  if (files <= 0) return [];
  const step = exhaustive ? 1 : Math.max(1, Math.floor(stride));
  const probes: number[] = [];
  for (let i = 0; i < files; i += step) probes.push(i);
  if (probes[probes.length - 1] !== files - 1) probes.push(files - 1);
  return probes;
}

const sortedIndices = (known: ReadonlyMap<number, string>): number[] => [...known.keys()].sort((a, b) => a - b);

/** The files to read next: halfway between every two neighbouring known files whose digests differ and that are not adjacent. */
export function nextProbes(known: ReadonlyMap<number, string>): number[] {
  const indices = sortedIndices(known);
  const probes: number[] = [];
  for (let i = 1; i < indices.length; i++) {
    const a = indices[i - 1]!;
    const b = indices[i]!;
    if (b - a > 1 && known.get(a) !== known.get(b)) probes.push(Math.floor((a + b) / 2));
  }
  return probes;
}

/** The first file of every era (0 first), once `nextProbes` is empty. */
export function eraStarts(known: ReadonlyMap<number, string>): number[] {
  const indices = sortedIndices(known);
  if (indices.length === 0) return [];
  const starts = [indices[0]!];
  for (let i = 1; i < indices.length; i++) {
    const a = indices[i - 1]!;
    const b = indices[i]!;
    if (known.get(a) === known.get(b)) continue;
    if (b - a !== 1) throw new Error(`census: files ${a} and ${b} differ but the files between them were not read`);
    starts.push(b);
  }
  return starts;
}

/** Digests of files read in index order, as runs: only where the digest changes (small for history). */
export function runsOf(read: readonly SignatureRun[]): SignatureRun[] {
  const sorted = [...read].sort((a, b) => a.index - b.index);
  return sorted.filter((r, i) => i === 0 || r.digest !== sorted[i - 1]!.digest);
}

/** Back from runs to a digest per file read (`indices`: the files the runs were made from). */
export function expandRuns(indices: readonly number[], runs: readonly SignatureRun[], into: Map<number, string>): void {
  const sorted = [...indices].sort((a, b) => a - b);
  let r = -1;
  for (const index of sorted) {
    while (r + 1 < runs.length && runs[r + 1]!.index <= index) r++;
    if (r < 0) throw new Error(`census: no run covers file ${index}`);
    into.set(index, runs[r]!.digest);
  }
}

/** Split probes into batches of at most `size` (one activity each). */
export function batchesOf(probes: readonly number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < probes.length; i += size) out.push(probes.slice(i, i + size));
  return out;
}

export interface SearchOptions {
  exhaustive: boolean;
  stride: number;
  /** Told before each round reads its files (the workflow's Web UI details). */
  onRound?: (round: number, probes: number, readSoFar: number) => void;
  /** A round's batches settle before a failure is thrown (`BoundedAllOptions.settle`): `censusDirect` sets it. */
  settle?: boolean;
}

/**
 * The whole search: the first probes, then rounds of bisection until every boundary is between
 * adjacent files; `readBatch` reads up to FILES_PER_BATCH files (an activity, or a direct call),
 * BATCHES_AT_ONCE at a time. The first file of each era, and what reading cost.
 */
export async function searchEras(
  files: number,
  options: SearchOptions,
  readBatch: (indices: number[]) => Promise<SignatureBatch>,
): Promise<{ eraStarts: number[]; counts: ReadCounts }> {
  const known = new Map<number, string>();
  let counts = noReads();
  let probes = firstProbes(files, options.stride, options.exhaustive);
  for (let round = 1; probes.length > 0; round++) {
    options.onRound?.(round, probes.length, known.size);
    const batches = batchesOf(probes, FILES_PER_BATCH);
    const read = await boundedAll(batches, BATCHES_AT_ONCE, readBatch, { settle: options.settle ?? false });
    read.forEach((result, i) => {
      expandRuns(batches[i]!, result.runs, known);
      counts = addReads(counts, result.counts);
    });
    probes = nextProbes(known);
  }
  return { eraStarts: eraStarts(known), counts };
}
