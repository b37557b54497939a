/**
 * JSON for zarr metadata as Python's json writes it, but strict. Two differences from
 * JSON.stringify matter to readers: floats keep a decimal point (`1.0`, so xarray sees a float
 * scale_factor, not an int), and non-finite floats are the strings "NaN", "Infinity", "-Infinity"
 * (Zarr's spelling of such a fill_value), never the bare literals Python writes, which JSON.parse
 * (zarrita, every Rust/Go/JS reader) rejects. The same strings stand for non-finite attributes:
 * xarray shows them as strings and still masks with a "NaN" missing_value (see docs/consumers.md).
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

export type PyJsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | PyJsonValue[]
  | { [key: string]: PyJsonValue };

function floatText(value: number): string {
  if (Number.isNaN(value)) return '"NaN"';
  if (value === Infinity) return '"Infinity"';
  if (value === -Infinity) return '"-Infinity"';
  const text = String(value);
  return /[.eE]/.test(text) ? text : `${text}.0`;
}

/** Compact JSON (no spaces), keys in insertion order. */
export function pyJson(value: PyJsonValue): string {
  if (value === null) return "null";
  if (value instanceof PyFloat) return floatText(value.value);
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return Number.isFinite(value) ? String(value) : floatText(value);
    case "bigint":
      return value.toString();
    case "string":
      return JSON.stringify(value);
    default:
      return Array.isArray(value) ? arrayText(value) : objectText(value);
  }
}

// Loops rather than array builtins on the worker's hot path: docs/benchmarks.md, "Deoptimizations".
function arrayText(value: PyJsonValue[]): string {
  let text = "[";
  for (let i = 0; i < value.length; i++) text += (i === 0 ? "" : ",") + pyJson(value[i]!);
  return `${text}]`;
}

function objectText(value: { [key: string]: PyJsonValue }): string {
  const keys = Object.keys(value);
  let text = "{";
  for (let i = 0; i < keys.length; i++) text += `${i === 0 ? "" : ","}${JSON.stringify(keys[i])}:${pyJson(value[keys[i]!]!)}`;
  return `${text}}`;
}
