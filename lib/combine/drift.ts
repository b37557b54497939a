/**
 * Aggregation across drift (issue 17): where an archive's layout changes, split a period's inputs
 * into consecutive runs that one array each can hold, and name each run's output so that sorting
 * the names gives time order. Variables that only appear or disappear never split a run (the
 * combine holds their union); a variable that keeps one structure wherever it is present does not
 * either. The rule of "one structure" is `arrayDifference` (layout.ts), the same check that makes a
 * combine refuse inputs, so a run is exactly what one combine accepts.
 */
import { boundedAll } from "../concurrency.js";
import { CombineError } from "../errors.js";
import { calendarKindOf } from "../model/cfTime.js";
import type { ArrayReferences, ReferenceSet } from "../model/referenceSet.js";
import type { InputSet } from "./combine.js";
import { arrayDifference, arrayLayoutOf, type ArrayLayout } from "./layout.js";
import type { ResolvedCombineOptions } from "./options.js";

/**
 * Consecutive runs of items whose variables each keep one structure wherever they are present:
 * the run number (1, 2, ...) of each item. A new run starts at an item one of whose variables was
 * seen in the current run with another structure (`same` false); a variable absent from an item,
 * or new in it, starts nothing. The census numbers its eras' aggregates with it
 * (`aggregateGroups`), the combine splits its inputs with it (`compatibleGroups`).
 */
export function compatibleRuns<V>(items: readonly (readonly (readonly [name: string, value: V])[])[], same: (earlier: V, later: V) => boolean): number[] {
  const runs: number[] = [];
  let seen = new Map<string, V>();
  for (const variables of items) {
    const conflict = runs.length > 0 && variables.some(([name, value]) => seen.has(name) && !same(seen.get(name)!, value));
    if (conflict) seen = new Map();
    for (const [name, value] of variables) if (!seen.has(name)) seen.set(name, value);
    runs.push(runs.length === 0 ? 1 : runs[runs.length - 1]! + (conflict ? 1 : 0));
  }
  return runs;
}

/** An input's array as `structureDifference` compares it. */
export interface StructuredArray {
  label: string;
  readonly layout: ArrayLayout;
  entry: ArrayReferences;
}

/**
 * The layout is made when first asked for: `structureDifference` asks only for the earlier one's
 * (and a coordinate's), and accepts a later array whose texts equal it without parsing them, so
 * of a day's files written by one program only the first is parsed.
 */
export function structuredArray(entry: ArrayReferences, label: string, settings: Pick<ResolvedCombineOptions, "concatDims" | "identicalDims">): StructuredArray {
  let layout: ArrayLayout | undefined;
  return {
    label,
    entry,
    get layout(): ArrayLayout {
      return (layout ??= arrayLayoutOf(entry, label, settings));
    },
  };
}

/**
 * Why two inputs' arrays cannot be one (undefined: they can): by `arrayDifference`; the concat
 * coordinate by its calendar only (the combine re-encodes its units); an array without a concat
 * dimension never (copied from the first input, never compared: layout.ts). The rule of where an
 * aggregate splits, for reference files and for Icechunk's eras (lib/icechunk/eras.ts).
 */
export function structureDifference(earlier: StructuredArray, later: StructuredArray): CombineError | undefined {
  if (earlier.layout.role === "carried") return undefined;
  if (earlier.layout.role === "coordinate") {
    const [before, after] = [earlier.layout.attrs.calendar, later.layout.attrs.calendar];
    if (calendarKindOf(before) === calendarKindOf(after)) return undefined;
    return new CombineError("mismatched-calendar", later.label, later.entry.path, `calendar ${String(after ?? "standard")} differs from ${String(before ?? "standard")} in ${earlier.label}`);
  }
  return arrayDifference(earlier.layout, later.entry, later.label, earlier.label);
}

const sameStructure = (earlier: StructuredArray, later: StructuredArray): boolean => structureDifference(earlier, later) === undefined;

/** The positions of items numbered by `compatibleRuns`, as consecutive groups. */
function groupsOf(runs: readonly number[]): number[][] {
  const groups: number[][] = [];
  runs.forEach((run, position) => (groups[run - 1] ??= []).push(position));
  return groups;
}

/** A reference set's arrays as `sameStructure` compares them. */
function inputArrays(set: ReferenceSet, settings: Pick<ResolvedCombineOptions, "concatDims" | "identicalDims">): (readonly [string, StructuredArray])[] {
  return [...set.arrays.values()].map((entry) => [entry.path, structuredArray(entry, set.label, settings)] as const);
}

/**
 * Reference sets (in time order) split into consecutive compatible groups of positions: one group
 * when nothing drifts. Icechunk splits a day's files with it, so a store's eras begin where the
 * reference-file parts do.
 */
export function compatibleSetGroups(sets: readonly ReferenceSet[], settings: Pick<ResolvedCombineOptions, "concatDims" | "identicalDims">): number[][] {
  return groupsOf(compatibleRuns(sets.map((set) => inputArrays(set, settings)), sameStructure));
}

/**
 * The inputs' positions split into consecutive compatible groups, in input order (which the
 * callers give in time order: days in order, a day's files in key order). One group (every
 * position) when nothing drifts. Reads each input once.
 */
export async function compatibleGroups(inputs: InputSet, settings: Pick<ResolvedCombineOptions, "concatDims" | "identicalDims">, loadConcurrency = 16): Promise<number[][]> {
  const positions = Array.from({ length: inputs.count }, (_, i) => i);
  const variables = await boundedAll(positions, loadConcurrency, async (position) => inputArrays(await inputs.load(position), settings));
  return groupsOf(compatibleRuns(variables, sameStructure));
}

/**
 * The name of one part of a period's output split by drift: "20220110.json" → "20220110.era001of002.json"
 * (before the last extension; "out.parq" → "out.era001of002.parq"). The parts sort in time order; the
 * count in every name tells a listing whether all parts are there.
 */
export function partName(name: string, part: number, parts: number): string {
  const dot = name.lastIndexOf(".");
  const slash = name.lastIndexOf("/");
  const [stem, extension] = dot > slash + 1 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  const pad = (n: number): string => String(n).padStart(3, "0");
  return `${stem}.era${pad(part)}of${pad(parts)}${extension}`;
}

/** The inverse of `partName` for the part tail: ".era001of002" → { part: 1, parts: 2 }. */
export function parsePartTail(tail: string): { part: number; parts: number } | undefined {
  const match = /^\.era(\d{3,})of(\d{3,})$/.exec(tail);
  if (!match) return undefined;
  const part = Number(match[1]);
  const parts = Number(match[2]);
  return part >= 1 && part <= parts && parts >= 2 ? { part, parts } : undefined;
}
