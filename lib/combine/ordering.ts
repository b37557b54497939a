import { CombineError } from "../errors.js";
import type { CoordinateValue } from "./coordinates.js";

/** An input once its coordinates are known (values already in the output's units). */
export interface SurveyedInput {
  /** Position in the input list. */
  position: number;
  label: string;
  /** Coordinate values per concat dimension, increasing. */
  values: Record<string, CoordinateValue[]>;
}

export interface OrderedInput extends SurveyedInput {
  /** Index of the input's first value in the combined coordinate, per concat dimension. */
  offsets: Record<string, number>;
}

export interface Ordering {
  /** Kept inputs, in coordinate order. */
  inputs: OrderedInput[];
  /** Inputs dropped as duplicates (duplicates: "keep-first"). */
  dropped: SurveyedInput[];
  /** The combined coordinate values per concat dimension. */
  coordinates: Record<string, CoordinateValue[]>;
}

const compare = (a: CoordinateValue, b: CoordinateValue): number => (a < b ? -1 : a > b ? 1 : 0);

function checkValues(input: SurveyedInput, dim: string, kind: { seen?: string; from?: string }): void {
  const values = input.values[dim]!;
  if (values.length === 0) throw new CombineError("missing-coordinate", input.label, dim, "has no coordinate values", `cooMap.${dim}`);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (typeof value === "number" && Number.isNaN(value)) throw new CombineError("invalid-coordinate", input.label, dim, `coordinate value ${i} is NaN`, `cooMap.${dim}`);
    const type = typeof value;
    if (kind.seen === undefined) {
      kind.seen = type;
      kind.from = input.label;
    } else if (kind.seen !== type) {
      throw new CombineError("invalid-coordinate", input.label, dim, `coordinate values are ${type}s but ${kind.from} has ${kind.seen}s`, `cooMap.${dim}`);
    }
    if (i > 0 && compare(values[i - 1]!, value) >= 0) {
      throw new CombineError(
        "unordered-coordinate",
        input.label,
        dim,
        `coordinate values are not strictly increasing (${String(values[i - 1])} then ${String(value)}): its data cannot be placed in one increasing ${dim}`,
        `cooMap.${dim}`,
      );
    }
  }
}

const sameValues = (a: CoordinateValue[], b: CoordinateValue[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Order inputs by coordinate and place them: each input must cover a contiguous, non-overlapping
 * run of the combined coordinate, or its chunks could not be renumbered into one grid. The result
 * depends only on the set of inputs (not their order), except which duplicate "keep-first" keeps.
 */
export function orderInputs(inputs: SurveyedInput[], concatDims: string[], duplicates: "error" | "keep-first"): Ordering {
  for (const dim of concatDims) {
    const kind: { seen?: string; from?: string } = {};
    for (const input of inputs) checkValues(input, dim, kind);
  }
  return concatDims.length === 1 ? orderAlongOne(inputs, concatDims[0]!, duplicates) : orderAlongMany(inputs, concatDims, duplicates);
}

function orderAlongOne(inputs: SurveyedInput[], dim: string, duplicates: "error" | "keep-first"): Ordering {
  const sorted = [...inputs].sort((a, b) => compare(a.values[dim]![0]!, b.values[dim]![0]!) || a.position - b.position);
  const kept: OrderedInput[] = [];
  const dropped: SurveyedInput[] = [];
  const coordinate: CoordinateValue[] = [];
  for (const input of sorted) {
    const values = input.values[dim]!;
    const last = kept[kept.length - 1];
    if (last) {
      const lastValues = last.values[dim]!;
      if (compare(values[0]!, lastValues[lastValues.length - 1]!) <= 0) {
        if (duplicates === "keep-first" && sameValues(values, lastValues)) {
          dropped.push(input);
          continue;
        }
        const shared = values.find((v) => lastValues.includes(v));
        throw new CombineError(
          "duplicate-coordinate",
          input.label,
          dim,
          shared !== undefined
            ? `coordinate value ${String(shared)} is also in ${last.label}` +
                (duplicates === "keep-first" ? " (the two inputs overlap only in part, which keep-first cannot resolve)" : "")
            : `coordinate values ${String(values[0])}..${String(values[values.length - 1])} interleave with those of ${last.label}`,
          "duplicates",
        );
      }
    }
    kept.push({ ...input, offsets: { [dim]: coordinate.length } });
    for (const value of values) coordinate.push(value);
  }
  return { inputs: kept, dropped, coordinates: { [dim]: coordinate } };
}

/** Several concat dimensions: each input is a block of the grid of all dimensions' values. */
function orderAlongMany(inputs: SurveyedInput[], dims: string[], duplicates: "error" | "keep-first"): Ordering {
  const byPosition = [...inputs].sort((a, b) => a.position - b.position);
  const kept: SurveyedInput[] = [];
  const dropped: SurveyedInput[] = [];
  const overlaps = (a: SurveyedInput, b: SurveyedInput): boolean =>
    dims.every((dim) => {
      const x = a.values[dim]!;
      const y = b.values[dim]!;
      return compare(x[0]!, y[y.length - 1]!) <= 0 && compare(y[0]!, x[x.length - 1]!) <= 0;
    });
  for (const input of byPosition) {
    const clash = kept.find((other) => overlaps(input, other));
    if (clash) {
      if (duplicates === "keep-first" && dims.every((dim) => sameValues(input.values[dim]!, clash.values[dim]!))) {
        dropped.push(input);
        continue;
      }
      throw new CombineError("duplicate-coordinate", input.label, dims.join(","), `covers coordinate values also covered by ${clash.label}`, "duplicates");
    }
    kept.push(input);
  }
  const coordinates: Record<string, CoordinateValue[]> = {};
  for (const dim of dims) {
    coordinates[dim] = [...new Set(kept.flatMap((input) => input.values[dim]!))].sort(compare);
  }
  const ordered = kept.map((input): OrderedInput => {
    const offsets: Record<string, number> = {};
    for (const dim of dims) {
      const all = coordinates[dim]!;
      const values = input.values[dim]!;
      const offset = all.indexOf(values[0]!);
      if (!values.every((v, k) => all[offset + k] === v)) {
        throw new CombineError("duplicate-coordinate", input.label, dim, `coordinate values interleave with other inputs' along ${dim}`, "duplicates");
      }
      offsets[dim] = offset;
    }
    return { ...input, offsets };
  });
  ordered.sort((a, b) => {
    for (const dim of dims) if (a.offsets[dim] !== b.offsets[dim]) return a.offsets[dim]! - b.offsets[dim]!;
    return 0;
  });
  return { inputs: ordered, dropped, coordinates };
}
