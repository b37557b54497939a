/**
 * Combine kerchunk reference sets along concat dimensions: the equivalent of kerchunk's
 * `MultiZarrToZarr(refs, concat_dims=[...], coo_map={...}, identical_dims=[...])`, associative (a
 * combine of combined sets gives the refs a combine of all files gives), with clear errors where
 * the inputs do not make one correct dataset. See docs in README ("combine").
 *
 *  - `combineRefs(inputs, options)`: reference sets in memory → combined refs (keys in canonical
 *    order) and a summary;
 *  - `combineReferenceFiles(urls, options)`: the same from files (local paths or s3:// URLs);
 *  - `writeCombinedReferences(urls, output, options)`: files → JSON or a Parquet reference folder,
 *    streaming (two passes over the inputs, memory bounded), for Temporal activities: paths in,
 *    small summary out.
 *  - `combineRefsAcrossDrift` and `writeCombinedReferencesAcrossDrift`: the same where the inputs'
 *    layout drifts (issue 17): the union of their variables, and one output per run of inputs one
 *    array can hold (`compatibleGroups`, drift.ts), or today's error with `drift: "fail"`.
 */
import { writeFile } from "node:fs/promises";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import type { ReferenceSet } from "../model/referenceSet.js";
import { combineInto, type CombineSummary, type InputSet, type RefSink } from "./combine.js";
import { compatibleGroups, partName } from "./drift.js";
import { fileInputs, memoryInputs } from "./inputs.js";
import { JsonRefSink } from "./jsonOutput.js";
import { resolveCombineOptions, type CombineOptions } from "./options.js";
import { splitsAtDrift, type DriftPolicy } from "../datasets/spec.js";
import { ParquetRefSink, type ParquetOutputOptions } from "./parquetOutput.js";

export type { CombineOptions, CoordinateSelector } from "./options.js";
export type { CombineSummary, RefSink } from "./combine.js";
export { compatibleRuns, partName, parsePartTail } from "./drift.js";

/**
 * A combine's output. The references are kept as per-array lists: `json()` writes them straight to
 * compact JSON; `refs` builds the object (keys in `compareRefKeys` order, so `serializeRefs(refs, { keysInOrder: true })`
 * and `serializeRefs(refs)` give the same bytes as `json()`) on first use, because an object of
 * a million keys costs more than the combine itself.
 */
export class CombineResult {
  private built: KerchunkRefs | undefined;
  constructor(
    private readonly sink: JsonRefSink,
    readonly summary: CombineSummary,
  ) {}

  get refs(): KerchunkRefs {
    this.built ??= this.sink.result();
    return this.built;
  }

  /** The combined references as the reference model (lib/model), named `label` in errors. */
  references(label: string): ReferenceSet {
    return this.sink.referenceSet(label);
  }

  /** Compact kerchunk JSON v1 as UTF-8 bytes (deterministic: re-runs give the same bytes). */
  json(): Buffer {
    return this.sink.toJsonBuffer();
  }
}

/** Combine reference sets held in memory. `labels` name them in errors (file names, say). */
export async function combineRefs(inputs: KerchunkRefs[], options: CombineOptions & { labels?: string[] }): Promise<CombineResult> {
  const set = memoryInputs(inputs.map((refs, i) => ({ refs, label: options.labels?.[i] ?? `input ${i}` })));
  const sink = new JsonRefSink();
  const summary = await combineInto(set, options, sink);
  return new CombineResult(sink, summary);
}

/** Combine reference files (local paths or s3:// URLs) into refs in memory. */
export async function combineReferenceFiles(inputUrls: string[], options: CombineOptions): Promise<CombineResult> {
  const set = fileInputs(inputUrls, options.s3);
  try {
    const sink = new JsonRefSink();
    const summary = await combineInto(set, options, sink);
    return new CombineResult(sink, summary);
  } finally {
    await set.close();
  }
}

export interface WriteCombinedOptions extends CombineOptions {
  /** "json", or "parquet" (kerchunk's LazyReferenceMapper layout); default from the output name (.parq/.parquet). */
  format?: "json" | "parquet";
  parquet?: ParquetOutputOptions;
}

/** A reference file's writer: a sink the combine streams into, and what finishes the file. */
interface ReferenceFileWriter {
  sink: RefSink;
  finish(): Promise<void>;
}

/** The writer of each reference file format, chosen once per output (the only place a format is named). */
const referenceFileWriters: Record<"json" | "parquet", (output: string, options: WriteCombinedOptions) => Promise<ReferenceFileWriter>> = {
  json: async (output) => {
    const sink = new JsonRefSink();
    return { sink, finish: () => writeFile(output, sink.toJsonBuffer()) };
  },
  parquet: async (output, options) => {
    const sink = new ParquetRefSink(output, options.parquet);
    await sink.open();
    return {
      sink,
      finish: async () => {
        await sink.close();
      },
    };
  },
};

/** The output's format: as given, else from its name (.parq/.parquet: Parquet). */
const formatOf = (output: string, options: WriteCombinedOptions): "json" | "parquet" => options.format ?? (/\.(parq|parquet)\/?$/.test(output) ? "parquet" : "json");

/**
 * Combine reference files and write the result to a local path: compact kerchunk JSON (byte-identical
 * on re-runs), or a Parquet reference folder written as the combine streams (memory bounded by a few
 * inputs and one record per array). Returns only the summary.
 */
export async function writeCombinedReferences(inputUrls: string[], output: string, options: WriteCombinedOptions): Promise<CombineSummary & { output: string; format: "json" | "parquet" }> {
  const format = formatOf(output, options);
  const set = fileInputs(inputUrls, options.s3);
  try {
    const writer = await referenceFileWriters[format](output, options);
    const summary = await combineInto(set, options, writer.sink);
    await writer.finish();
    return { ...summary, output, format };
  } finally {
    await set.close();
  }
}

export interface DriftOptions {
  /**
   * What to do where the inputs' layout drifts (the dataset setting `drift`): "split" (the default:
   * one output per run of inputs one array can hold, each with the union of the run's variables)
   * or "fail" (the combine's error, as before).
   */
  drift?: DriftPolicy;
}

/** The positions `set` splits into under `drift`: one group (everything) with "fail" or without drift. */
async function driftGroups(set: InputSet, options: CombineOptions & DriftOptions): Promise<number[][]> {
  if (!splitsAtDrift(options.drift)) return [Array.from({ length: set.count }, (_, i) => i)];
  return compatibleGroups(set, resolveCombineOptions(options));
}

/** The inputs at `positions` of `set`, as an input set of their own. */
function subset(set: InputSet, positions: number[]): InputSet {
  return { count: positions.length, label: (p) => set.label(positions[p]!), load: (p) => set.load(positions[p]!) };
}

/**
 * Combine reference sets held in memory across drift: one result per run of compatible inputs, in
 * input (time) order; one result, the same as `combineRefs`'s, when nothing drifts.
 */
export async function combineRefsAcrossDrift(inputs: KerchunkRefs[], options: CombineOptions & DriftOptions & { labels?: string[] }): Promise<CombineResult[]> {
  return combineSetAcrossDrift(memoryInputs(inputs.map((refs, i) => ({ refs, label: options.labels?.[i] ?? `input ${i}` }))), options);
}

/** `combineReferenceFiles` across drift: one result per run of compatible inputs (the CLI's standard output). */
export async function combineReferenceFilesAcrossDrift(inputUrls: string[], options: CombineOptions & DriftOptions): Promise<CombineResult[]> {
  const set = fileInputs(inputUrls, options.s3);
  try {
    return await combineSetAcrossDrift(set, options);
  } finally {
    await set.close();
  }
}

async function combineSetAcrossDrift(set: InputSet, options: CombineOptions & DriftOptions): Promise<CombineResult[]> {
  const groups = await driftGroups(set, options);
  const variables = splitsAtDrift(options.drift) ? "union" : "same";
  const results: CombineResult[] = [];
  for (const group of groups) {
    const sink = new JsonRefSink();
    const summary = await combineInto(subset(set, group), options, sink, undefined, variables);
    results.push(new CombineResult(sink, summary));
  }
  return results;
}

/**
 * Reference sets already read combined across drift, each run of compatible inputs (in time order)
 * streamed into a sink of the caller's: `writePart(part, parts, combine)` makes the sink, fills it
 * by `combine(sink)` (or does not, when that part stands already) and finishes it. The backfill
 * writes a period's JSON file or Parquet folder(s) so; `combineRefsAcrossDrift` gives the same
 * references.
 */
export async function combineSetsAcrossDrift<T>(
  sets: ReferenceSet[],
  options: CombineOptions & DriftOptions,
  writePart: (part: number, parts: number, combine: (sink: RefSink) => Promise<CombineSummary>) => Promise<T>,
): Promise<T[]> {
  const set: InputSet = { count: sets.length, label: (p) => sets[p]!.label, load: async (p) => sets[p]! };
  const groups = await driftGroups(set, options);
  const variables = splitsAtDrift(options.drift) ? "union" : "same";
  const written: T[] = [];
  for (const [i, group] of groups.entries()) {
    written.push(await writePart(i + 1, groups.length, (sink) => combineInto(subset(set, group), options, sink, undefined, variables)));
  }
  return written;
}

/**
 * `writeCombinedReferences` across drift: one output per run of compatible inputs, named by
 * `partName` ("out.parq" → "out.era001of002.parq", ...) when there are several, `output` itself when
 * there is one. Each input is read once more to find the runs.
 */
export async function writeCombinedReferencesAcrossDrift(
  inputUrls: string[],
  output: string,
  options: WriteCombinedOptions & DriftOptions,
): Promise<(CombineSummary & { output: string; format: "json" | "parquet" })[]> {
  const format = formatOf(output, options);
  const set = fileInputs(inputUrls, options.s3);
  try {
    const groups = await driftGroups(set, options);
    const variables = splitsAtDrift(options.drift) ? "union" : "same";
    const written: (CombineSummary & { output: string; format: "json" | "parquet" })[] = [];
    for (const [i, group] of groups.entries()) {
      const name = groups.length === 1 ? output : partName(output.replace(/\/+$/, ""), i + 1, groups.length);
      const writer = await referenceFileWriters[format](name, options);
      const summary = await combineInto(subset(set, group), options, writer.sink, undefined, variables);
      await writer.finish();
      written.push({ ...summary, output: name, format });
    }
    return written;
  } finally {
    await set.close();
  }
}
