/**
 * A day's references made ready for the store: the day's per-file references (or an already
 * combined day) combined along the concat dimension by `lib/combine`, so the store gets exactly what
 * a kerchunk day output holds, with the same checks (metadata agreement, ordering, duplicates,
 * chunk alignment), handed over as the reference model (no object of every key is built).
 */
import { compatibleSetGroups } from "../combine/drift.js";
import { combineReferenceFiles, combineRefs, combineRefsAcrossDrift, type CombineOptions, type CombineResult, type CombineSummary } from "../combine/index.js";
import { readArrayNumbers } from "../model/arrayValues.js";
import { ReferenceReader } from "../model/chunkBytes.js";
import { referenceSetOf, type ReferenceSet } from "../model/referenceSet.js";
import { arrayMetadata } from "../model/arrayMetadata.js";
import { CombineError } from "../errors.js";
import type { PyJsonValue } from "../json/pyJson.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import type { S3ConnectionOptions } from "../source/s3Client.js";
import { concatDimension } from "../datasets/storeDimension.js";
import type { IcechunkDataset } from "./options.js";

/**
 * A day's references: reference sets in memory, or reference files (local paths or s3:// URLs,
 * e.g. the staged per-file references of a backfill day, or the day's combined output). Either
 * single-file references or already combined ones.
 */
export type DayInput =
  | {
      refs: KerchunkRefs[];
      labels?: string[];
      /** The source file (URL) of each input, when known: names an era's first file where its chunks are all inline. */
      sources?: (string | undefined)[];
    }
  | { referenceFiles: string[]; s3?: S3ConnectionOptions };

export interface DayReferences {
  /** Names the day's input in errors. */
  label: string;
  /** The combined day as the reference model. */
  references: ReferenceSet;
  summary: CombineSummary;
  /** The concat dimension and its values in the day's own units (those of its first file). */
  dim: string;
  values: number[];
  coordinateAttrs: Record<string, PyJsonValue>;
  /** The URL of the first source file a chunk reference of the day points at (names an era's start). */
  firstFile: string | undefined;
  /** The dataset's identicalDims (the combine's rule of what one array holds takes them). */
  identicalDims: string[];
}

/** The combine's settings for the dataset's days. */
function combineSettings(dataset: IcechunkDataset): CombineOptions & { concatDims: string[]; identicalDims: string[] } {
  const dim = concatDimension(dataset);
  return {
    concatDims: [dim],
    ...(dataset.combine?.cooMap ? { cooMap: dataset.combine.cooMap } : {}),
    identicalDims: dataset.combine?.identicalDims ?? [],
  };
}

/**
 * The day (or a run of its files) combined; with `union` (drift "split"), the union of the files'
 * variables: a variable absent from some files reads as its fill value there.
 */
export async function loadDayReferences(dataset: IcechunkDataset, day: string, input: DayInput, union = false): Promise<DayReferences> {
  const dim = concatDimension(dataset);
  const options = combineSettings(dataset);
  const label = `${dataset.name} ${day}`;
  const combined =
    "refs" in input
      ? union
        ? await onlyRun(label, combineRefsAcrossDrift(input.refs, { ...options, drift: "split", ...(input.labels ? { labels: input.labels } : {}) }))
        : await combineRefs(input.refs, { ...options, ...(input.labels ? { labels: input.labels } : {}) })
      : await combineReferenceFiles(input.referenceFiles, { ...options, ...(input.s3 ? { s3: input.s3 } : {}) });
  const references = combined.references(label);
  const coordinate = references.arrays.get(dim);
  if (!coordinate) throw new CombineError("missing-coordinate", label, dim, "the combined day has no coordinate array for the concat dimension");
  // The combine writes the coordinate inline: nothing is read from storage here.
  const reader = new ReferenceReader();
  try {
    const values = await readArrayNumbers(coordinate, reader, label, `cooMap.${dim}`);
    return {
      label,
      references,
      summary: combined.summary,
      dim,
      values,
      coordinateAttrs: arrayMetadata(coordinate).attributes,
      firstFile: firstFileOf(references, dim),
      identicalDims: options.identicalDims,
    };
  } finally {
    await reader.close();
  }
}

/** The one result of combining a run of files one array each can hold (`compatibleSetGroups` made it). */
async function onlyRun(label: string, results: Promise<CombineResult[]>): Promise<CombineResult> {
  const [only, ...more] = await results;
  if (!only || more.length > 0) throw new CombineError("internal", label, undefined, `a run of compatible files combined into ${more.length + 1} parts`);
  return only;
}

/** The source URL of the first chunk along `dim` (the day's first file), if any chunk is a byte range. */
function firstFileOf(references: ReferenceSet, dim: string): string | undefined {
  for (const entry of references.arrays.values()) {
    const axis = arrayMetadata(entry).dimensionNames?.indexOf(dim) ?? -1;
    if (entry.path === dim || axis < 0) continue;
    let first: { at: number; url: string } | undefined;
    entry.chunkKeys.forEach((key, i) => {
      const ref = entry.chunkRefs[i];
      if (!Array.isArray(ref)) return;
      const at = Number(key.slice(entry.path.length + 1).split(/[./]/)[axis]);
      if (!first || at < first.at) first = { at, url: ref[0] };
    });
    if (first) return first.url;
  }
  return undefined;
}

/**
 * The day as runs of consecutive files one array each can hold (drift inside the day: issue 17;
 * `compatibleSetGroups`, the rule that splits reference-file parts), each combined on its own with
 * the union of its variables; one run (the day combined as before) when its files agree, when
 * `split` is off (the combine then refuses a drift as before), or for reference files (a day
 * output: the combine made it one structure).
 */
export async function loadDayRuns(dataset: IcechunkDataset, day: string, input: DayInput, split: boolean): Promise<DayReferences[]> {
  const named = (run: DayReferences, first: number): DayReferences => ("refs" in input && input.sources?.[first] ? { ...run, firstFile: input.sources[first] } : run);
  if (!split || !("refs" in input)) return [named(await loadDayReferences(dataset, day, input), 0)];
  const labels = input.refs.map((_, i) => input.labels?.[i] ?? `input ${i}`);
  const sets = input.refs.map((refs, i) => referenceSetOf(refs, labels[i]!));
  const runs = compatibleSetGroups(sets, combineSettings(dataset)).flatMap((group) => alignedRuns(sets, group, concatDimension(dataset)));
  const loaded: DayReferences[] = [];
  for (const run of runs) {
    const part = await loadDayReferences(dataset, day, { refs: run.map((i) => input.refs[i]!), labels: run.map((i) => labels[i]!) }, true);
    loaded.push(named(part, run[0]!));
  }
  return loaded;
}

/**
 * A run of compatible files split where an array's chunks along `dim` could not begin with a file
 * (the combine refuses a file that starts inside a chunk of any of the run's arrays: a variable
 * that appears or comes back chunked by several steps, after files of an odd number of steps). The
 * store places each part in turn, and a part whose chunks cannot follow its era's steps starts an
 * era (`placeRun`), so no day fails for it. One part when every start is aligned (the usual case).
 */
function alignedRuns(sets: readonly ReferenceSet[], group: readonly number[], dim: string): number[][] {
  const runs: number[][] = [];
  let run: number[] = [];
  let starts: number[] = [];
  let chunks = new Set<number>();
  let offset = 0;
  for (const i of group) {
    const own = chunksAlong(sets[i]!, dim);
    const fits = [...chunks, ...own].every((c) => offset % c === 0) && own.every((c) => starts.every((s) => s % c === 0));
    if (run.length > 0 && !fits) {
      runs.push(run);
      [run, starts, chunks, offset] = [[], [], new Set(), 0];
    }
    run.push(i);
    starts.push(offset);
    for (const c of own) chunks.add(c);
    offset += sets[i]!.arrays.has(dim) ? (arrayMetadata(sets[i]!.arrays.get(dim)!).shape[0] ?? 0) : 0;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** The chunk sizes along `dim` (above 1) of a file's arrays that have it. */
function chunksAlong(set: ReferenceSet, dim: string): number[] {
  return [...set.arrays.values()].flatMap((entry) => {
    if (entry.path === dim) return [];
    const metadata = arrayMetadata(entry);
    const axis = metadata.dimensionNames?.indexOf(dim) ?? -1;
    const chunk = axis >= 0 ? metadata.zarray.chunks[axis] : undefined;
    return chunk !== undefined && chunk > 1 ? [chunk] : [];
  });
}
