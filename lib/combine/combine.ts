import { boundedAll } from "../concurrency.js";
import { CombineError } from "../errors.js";
import type { Reference } from "../model/kerchunkRefs.js";
import { isTimeUnits, parseCfTimeUnits, reencodeTime, sameCalendar, sameEncoding, type CfTimeUnits } from "../model/cfTime.js";
import { coordinateArray } from "./coordinateArray.js";
import { readCoordinate, type CoordinateValue, type InputCoordinate } from "./coordinates.js";
import { ReferenceReader } from "../model/chunkBytes.js";
import type { ReferenceSet } from "../model/referenceSet.js";
import { buildLayout, checkIdenticalValues, checkInput, type ArrayLayout, type ReferenceLayout } from "./layout.js";
import { resolveCombineOptions, type CombineOptions, type ResolvedCombineOptions } from "./options.js";
import { orderInputs, type OrderedInput, type SurveyedInput } from "./ordering.js";
import { strictJsonText } from "../json/pyJsonParse.js";
import { withShape } from "../model/zarrMeta.js";
import { chunkKeyGrid, product, rowMajorStrides } from "../shape.js";

/** The inputs of one combine: loaded on demand, so a streaming combine never holds them all. */
export interface InputSet {
  readonly count: number;
  label(position: number): string;
  /** The input's index; called once per input in the survey and once more to emit its chunks. */
  load(position: number): Promise<ReferenceSet>;
}

/** An output array's chunk grid, for sinks that place chunks by flat (C-order) index. */
export interface CombinedArray {
  path: string;
  shape: number[];
  chunks: number[];
  /** Chunks per axis (at least one axis: a 0-d array has one chunk, "0"). */
  grid: number[];
  strides: number[];
  chunkCount: number;
}

/** Where combined references go: a JSON object in memory, or Parquet record files. */
export interface RefSink {
  /** False when the sink places chunks by flat index only, so chunk key strings are not built. */
  readonly wantsKeys: boolean;
  declareArray(array: CombinedArray): void;
  /** A metadata key (.zgroup, .zattrs, .zarray) with its JSON text. */
  metadata(key: string, text: string): void;
  chunk(array: CombinedArray, flatIndex: number, leaf: string | undefined, ref: Reference): void;
  /** Every chunk of `array` below `flatIndex` has been given: a streaming sink may write them out. */
  settled(array: CombinedArray, flatIndex: number): Promise<void>;
}

export interface CombineSummary {
  inputs: number;
  /** Inputs dropped as duplicates (duplicates: "keep-first"), by label. */
  dropped: string[];
  /** Per concat dimension: combined length and first and last values (in the output's units). */
  concat: Record<string, { length: number; first: CoordinateValue; last: CoordinateValue }>;
  concatenated: string[];
  identical: string[];
  carried: string[];
  /** Inputs whose time coordinate was re-encoded into the first input's units. */
  reencodedInputs: number;
  chunkRefs: number;
  /** Reads made for coordinates and identical-dimension checks. */
  reads: { requests: number; bytes: number };
  elapsedMs: number;
}

/**
 * "same": every input has the variables of the first (today's combine, and kerchunk's); "union":
 * the output holds every variable of any input, and where an input lacks one there are no chunk
 * references, so it reads as its fill value (variables that appear or disappear, issue 17).
 */
export type VariableSet = "same" | "union";

/**
 * The reference input with the arrays it lacks added from the first input (in input order) that
 * has them, so the layout holds every input's arrays. Without such arrays it is the reference itself.
 */
async function unionOf(inputs: InputSet, reference: ReferenceSet, loadConcurrency: number): Promise<ReferenceSet> {
  const positions = Array.from({ length: inputs.count - 1 }, (_, i) => i + 1);
  const others = await boundedAll(positions, loadConcurrency, async (position) => [...(await inputs.load(position)).arrays.values()]);
  const arrays = new Map(reference.arrays);
  for (const entries of others) for (const entry of entries) if (!arrays.has(entry.path)) arrays.set(entry.path, entry);
  return arrays.size === reference.arrays.size ? reference : { ...reference, arrays };
}

interface Survey extends SurveyedInput {
  coordinates: Record<string, InputCoordinate>;
}

/**
 * Combine `inputs` into `sink`: survey every input (coordinates, metadata checks), order them, then
 * emit the first input's metadata, the combined coordinates and every input's renumbered chunks.
 */
export async function combineInto(inputs: InputSet, options: CombineOptions, sink: RefSink, loadConcurrency = 64, variables: VariableSet = "same"): Promise<CombineSummary> {
  const started = performance.now();
  const settings = resolveCombineOptions(options);
  if (inputs.count === 0) throw new CombineError("no-inputs", "(none)", undefined, "nothing to combine");
  const reader = new ReferenceReader(settings.s3, settings.readConcurrency);
  const union = variables === "union";
  try {
    const reference = await inputs.load(0);
    reader.learn(reference.knownBytes);
    const layout = await buildLayout(union ? await unionOf(inputs, reference, loadConcurrency) : reference, settings, reader);
    const positions = Array.from({ length: inputs.count }, (_, i) => i);
    const surveys = await boundedAll(positions, loadConcurrency, async (position): Promise<Survey> => {
      const input = position === 0 ? reference : await inputs.load(position);
      reader.learn(input.knownBytes);
      const coordinates: Record<string, InputCoordinate> = {};
      const steps: Record<string, number> = {};
      for (const dim of settings.concatDims) {
        coordinates[dim] = await readCoordinate(input, position, dim, settings.cooMap[dim]!, reader);
        steps[dim] = coordinates[dim]!.values.length;
      }
      checkInput(layout, input, steps, union);
      if (position !== 0) await checkIdenticalValues(layout, input, reader);
      const values = Object.fromEntries(Object.entries(coordinates).map(([dim, c]) => [dim, c.values]));
      return { position, label: input.label, values, coordinates };
    });

    const timeUnits = reconcileTimeUnits(surveys, settings);
    const ordering = orderInputs(surveys, settings.concatDims, settings.duplicates);
    const first = ordering.inputs[0]! as OrderedInput & Survey;
    // Coordinates in the first input's units (ordering used the reference input's: same order).
    for (const dim of settings.concatDims) {
      const units = timeUnits[dim];
      if (!units) continue;
      const target = units.get(first.position)!;
      ordering.coordinates[dim] = (ordering.inputs as (OrderedInput & Survey)[]).flatMap((input) => {
        const own = units.get(input.position)!;
        return input.coordinates[dim]!.values.map((v) => (sameEncoding(own, target) ? (v as number) : reencodeTime(v as number, own, target)));
      });
    }
    checkAlignment(layout, ordering.inputs, ordering.coordinates);

    let chunkRefs = 0;
    const arrays = new Map<string, CombinedArray>();
    // Load a few inputs ahead: reading and parsing the next overlaps renumbering this one.
    const loadAt = (k: number): Promise<ReferenceSet> | undefined => {
      const at = ordering.inputs[k];
      return at === undefined ? undefined : at.position === 0 ? Promise.resolve(reference) : inputs.load(at.position);
    };
    const ahead: (Promise<ReferenceSet> | undefined)[] = [loadAt(0), loadAt(1), loadAt(2), loadAt(3)];
    for (const [position, input] of ordering.inputs.entries()) {
      const index = await ahead.shift()!;
      ahead.push(loadAt(position + 4));
      if (position === 0) {
        emitFirst(index, layout, ordering.coordinates, first as Survey, settings, sink, arrays);
        for (const [path, array] of arrays) {
          const role = layout.arrays.get(path)?.role;
          if (role !== "identical" && role !== "carried") continue;
          chunkRefs += emitUnchanged(index, array, sink);
        }
      }
      for (const layoutArray of layout.arrays.values()) {
        if (layoutArray.role !== "concatenated") continue;
        const array = arrays.get(layoutArray.path)!;
        chunkRefs += emitRenumbered(index, layoutArray, array, input, sink);
        // Chunks are complete below this input's end along a leading concat axis.
        const lead = layoutArray.concatAxes.find((c) => c.axis === 0);
        if (lead && settings.concatDims.length === 1) {
          const end = input.offsets[lead.dim]! + input.values[lead.dim]!.length;
          await sink.settled(array, Math.ceil(end / array.chunks[0]!) * array.strides[0]!);
        }
      }
    }
    for (const array of arrays.values()) await sink.settled(array, array.chunkCount);

    const concat: CombineSummary["concat"] = {};
    for (const dim of settings.concatDims) {
      const values = ordering.coordinates[dim]!;
      concat[dim] = { length: values.length, first: values[0]!, last: values[values.length - 1]! };
    }
    const roles = (role: ArrayLayout["role"]): string[] => [...layout.arrays.values()].filter((a) => a.role === role).map((a) => a.path).sort();
    return {
      inputs: inputs.count,
      dropped: ordering.dropped.map((d) => d.label),
      concat,
      concatenated: roles("concatenated"),
      identical: roles("identical"),
      carried: roles("carried"),
      reencodedInputs: countReencoded(surveys, timeUnits, first.position),
      chunkRefs,
      reads: reader.stats(),
      elapsedMs: Math.round(performance.now() - started),
    };
  } finally {
    await reader.close();
  }
}

/**
 * Parse every input's time units; when they differ from the reference input's (kerchunk #282),
 * re-encode values into the reference's so ordering compares like with like, or fail by setting.
 * Returns, per time-like dimension, each input's units by position.
 */
function reconcileTimeUnits(surveys: Survey[], settings: ResolvedCombineOptions): Record<string, Map<number, CfTimeUnits>> {
  const result: Record<string, Map<number, CfTimeUnits>> = {};
  for (const dim of settings.concatDims) {
    const reference = surveys[0]!;
    const referenceCoordinate = reference.coordinates[dim]!;
    if (!isTimeUnits(referenceCoordinate.units)) continue;
    const parse = (survey: Survey): CfTimeUnits => {
      const coordinate = survey.coordinates[dim]!;
      if (!isTimeUnits(coordinate.units)) {
        throw new CombineError("mismatched-time-units", survey.label, coordinate.sourceArray ?? dim, `has no time units but ${reference.label} has '${String(referenceCoordinate.units)}'`);
      }
      const parsed = parseCfTimeUnits(coordinate.units, coordinate.calendar);
      if (typeof parsed === "string") throw new CombineError("invalid-time-units", survey.label, coordinate.sourceArray ?? dim, parsed);
      return parsed;
    };
    const target = parse(reference);
    const units = new Map<number, CfTimeUnits>();
    for (const survey of surveys) {
      const own = survey === reference ? target : parse(survey);
      units.set(survey.position, own);
      if (sameEncoding(own, target)) continue;
      const variable = survey.coordinates[dim]!.sourceArray ?? dim;
      if (!sameCalendar(own, target)) {
        throw new CombineError(
          "mismatched-calendar",
          survey.label,
          variable,
          `calendar '${String(survey.coordinates[dim]!.calendar ?? "standard")}' differs from '${String(referenceCoordinate.calendar ?? "standard")}' in ${reference.label}: times cannot be re-encoded across calendars`,
        );
      }
      if (settings.timeUnits === "error") {
        throw new CombineError(
          "mismatched-time-units",
          survey.label,
          variable,
          `units '${own.text}' differ from '${target.text}' in ${reference.label}`,
          "timeUnits (set 'reencode' to convert them to the first input's units)",
        );
      }
      survey.values[dim] = survey.values[dim]!.map((v) => reencodeTime(v as number, own, target));
    }
    result[dim] = units;
  }
  return result;
}

function countReencoded(surveys: Survey[], timeUnits: Record<string, Map<number, CfTimeUnits>>, firstPosition: number): number {
  let count = 0;
  for (const survey of surveys) {
    if (Object.values(timeUnits).some((units) => !sameEncoding(units.get(survey.position)!, units.get(firstPosition)!))) count++;
  }
  return count;
}

/**
 * Every input must start on a chunk boundary of each concatenated array's concat axis, and every
 * input but the last must end on one: otherwise its chunks do not fit the combined regular grid
 * (kerchunk #430 renumbers them anyway and shifts data).
 */
function checkAlignment(layout: ReferenceLayout, inputs: OrderedInput[], coordinates: Record<string, CoordinateValue[]>): void {
  for (const array of layout.arrays.values()) {
    if (array.role !== "concatenated") continue;
    for (const { dim, axis } of array.concatAxes) {
      const chunk = array.meta.chunks[axis]!;
      const total = coordinates[dim]!.length;
      for (const input of inputs) {
        const start = input.offsets[dim]!;
        const end = start + input.values[dim]!.length;
        if (start % chunk !== 0) {
          throw new CombineError(
            "misaligned-chunks",
            input.label,
            array.path,
            `starts at index ${start} along ${dim}, inside a chunk (chunk size ${chunk} along ${dim}): its chunks cannot be renumbered into the combined grid ` +
              `(kerchunk renumbers them anyway and shifts values, kerchunk #430); rewrite the files with chunk size 1 along ${dim} or a divisor of every file's length`,
          );
        }
        if (end % chunk !== 0 && end !== total) {
          throw new CombineError(
            "misaligned-chunks",
            input.label,
            array.path,
            `ends at index ${end} along ${dim}, inside a chunk (chunk size ${chunk} along ${dim}), and later inputs follow: its last chunk is partly padding ` +
              `that would hide their values (kerchunk #430)`,
          );
        }
      }
    }
  }
}

function gridOf(path: string, shape: number[], chunks: number[]): CombinedArray {
  const grid = chunkKeyGrid(shape, chunks);
  return { path, shape, chunks, grid, strides: rowMajorStrides(grid), chunkCount: product(grid) };
}

const keyOf = (dir: string, leaf: string): string => (dir ? `${dir}/${leaf}` : leaf);

/** Metadata of the combined set, taken from the first input (in coordinate order). */
function emitFirst(
  first: ReferenceSet,
  layout: ReferenceLayout,
  coordinates: Record<string, CoordinateValue[]>,
  firstSurvey: Survey,
  settings: ResolvedCombineOptions,
  sink: RefSink,
  arrays: Map<string, CombinedArray>,
): void {
  // Metadata is copied from the first input, written strictly (no bare NaN, see strictJsonText).
  const emit = (key: string, text: string): void => {
    let strict: string;
    try {
      strict = strictJsonText(text);
    } catch (error) {
      throw new CombineError("invalid-metadata", first.label, key, `does not parse: ${(error as Error).message}`);
    }
    sink.metadata(key, strict);
  };
  for (const group of first.groups.values()) {
    if (group.zgroup !== undefined) emit(keyOf(group.path, ".zgroup"), group.zgroup);
    if (group.zattrs !== undefined) emit(keyOf(group.path, ".zattrs"), group.zattrs);
  }
  for (const layoutArray of layout.arrays.values()) {
    if (layoutArray.role === "coordinate") continue;
    // A variable the first input lacks (one that appears later: "union") takes its metadata from the layout.
    const entry = first.arrays.get(layoutArray.path) ?? (layoutArray.role === "concatenated" ? layoutArray : undefined);
    if (!entry) continue; // a carried array the first input lacks (carried arrays are not checked)
    let zarray = entry.zarray;
    let shape = layoutArray.meta.shape;
    if (layoutArray.role === "concatenated") {
      shape = [...shape];
      for (const { dim, axis } of layoutArray.concatAxes) shape[axis] = coordinates[dim]!.length;
      zarray = withShape(entry.zarray, shape);
    }
    const array = gridOf(layoutArray.path, shape, layoutArray.meta.chunks);
    arrays.set(array.path, array);
    sink.declareArray(array);
    emit(keyOf(array.path, ".zarray"), zarray);
    if (entry.zattrs !== undefined) emit(keyOf(array.path, ".zattrs"), entry.zattrs);
  }
  for (const dim of settings.concatDims) {
    const coordinate = firstSurvey.coordinates[dim]!;
    const sourceName = coordinate.sourceArray ?? (first.arrays.has(dim) ? dim : undefined);
    const source = sourceName === undefined ? undefined : first.arrays.get(sourceName);
    const keys = coordinateArray(dim, coordinates[dim]!, source, first.label);
    const array = gridOf(dim, [coordinates[dim]!.length], [coordinates[dim]!.length]);
    arrays.set(dim, array);
    sink.declareArray(array);
    sink.metadata(keyOf(dim, ".zarray"), keys.zarray);
    sink.metadata(keyOf(dim, ".zattrs"), keys.zattrs);
    sink.chunk(array, 0, "0", keys.chunk);
  }
}

/** Parse the leaf "3.0.12" of `key` (from `start`) into `parts`; false unless `rank` dot-separated whole numbers. */
function parseLeaf(key: string, start: number, parts: number[], rank: number): boolean {
  let axis = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || axis >= rank) return false;
      parts[axis++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
    } else {
      return false;
    }
  }
  if (digits === 0) return false;
  parts[axis++] = value;
  return axis === rank;
}

/** Chunks of identical and carried arrays, from the first input as they are. */
function emitUnchanged(first: ReferenceSet, array: CombinedArray, sink: RefSink): number {
  const entry = first.arrays.get(array.path);
  if (!entry) return 0;
  const parts = new Array<number>(array.grid.length).fill(0);
  let count = 0;
  const start = entry.path.length + 1;
  entry.chunkKeys.forEach((key, i) => {
    const leaf = key.slice(start);
    if (!parseLeaf(key, start, parts, array.grid.length)) {
      throw new CombineError("invalid-chunk-key", first.label, array.path, `chunk key '${leaf}' does not match the array's ${array.grid.length} dimensions`);
    }
    let flat = 0;
    for (let axis = 0; axis < parts.length; axis++) flat += parts[axis]! * array.strides[axis]!;
    sink.chunk(array, flat, leaf, entry.chunkRefs[i]!);
    count++;
  });
  return count;
}

/** One input's chunks of a concatenated array, moved along the concat axes to the input's place. */
function emitRenumbered(input: ReferenceSet, layoutArray: ArrayLayout, array: CombinedArray, placed: OrderedInput, sink: RefSink): number {
  const entry = input.arrays.get(array.path);
  if (!entry) return 0; // "union": this input lacks the variable, which reads as its fill value here
  const rank = array.grid.length;
  const parts = new Array<number>(rank).fill(0);
  const shift = new Array<number>(rank).fill(0);
  const limit = new Array<number>(rank).fill(Infinity);
  for (const { dim, axis } of layoutArray.concatAxes) {
    shift[axis] = placed.offsets[dim]! / array.chunks[axis]!;
    limit[axis] = Math.ceil(placed.values[dim]!.length / array.chunks[axis]!);
  }
  // The usual layout (one concat axis, first): only the leading number of the key changes.
  const leadingOnly = layoutArray.concatAxes.length === 1 && layoutArray.concatAxes[0]!.axis === 0;
  const wantsKeys = sink.wantsKeys;
  const keys = entry.chunkKeys;
  const refs = entry.chunkRefs;
  const start = entry.path.length + 1;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!parseLeaf(key, start, parts, rank)) {
      throw new CombineError("invalid-chunk-key", input.label, array.path, `chunk key '${key}' does not match the array's ${rank} dimensions`);
    }
    let flat = 0;
    for (let axis = 0; axis < rank; axis++) {
      const local = parts[axis]!;
      if (local >= limit[axis]!) {
        throw new CombineError("invalid-chunk-key", input.label, array.path, `chunk key '${key}' lies beyond the input's extent along a concat dimension`);
      }
      parts[axis] = local + shift[axis]!;
      flat += parts[axis]! * array.strides[axis]!;
    }
    let outLeaf: string | undefined;
    if (wantsKeys) {
      if (leadingOnly) {
        const dot = key.indexOf(".", start);
        outLeaf = dot < 0 ? String(parts[0]) : parts[0] + key.slice(dot);
      } else {
        outLeaf = parts.join(".");
      }
    }
    sink.chunk(array, flat, outLeaf, refs[i]!);
  }
  return keys.length;
}
