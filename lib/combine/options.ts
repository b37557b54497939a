import { ConfigError } from "../errors.js";
import type { S3ConnectionOptions } from "../source/s3Client.js";

/**
 * How one input's coordinate values along a concat dimension are found (kerchunk's coo_map):
 *  - "data:<var>": the values of array <var> (inline, or read through the byte source and codecs);
 *  - "cf:<var>": the same (time units are always reconciled, see `timeUnits`);
 *  - "attr:<name>": a global attribute; "vattr:<var>:<name>": an attribute of array <var>;
 *  - "INDEX": the input's position in the input list;
 *  - a list: the value for each input, in input order;
 *  - a number: the same value for every input (only useful with a single input).
 */
export type CoordinateSelector = string | number | readonly (number | string)[];

export interface CombineOptions {
  /** Dimensions to concatenate along (kerchunk's concat_dims), e.g. ["time"]. */
  concatDims: string[];
  /** How coordinate values are found, per concat dimension; default "data:<dim>". */
  cooMap?: Record<string, CoordinateSelector>;
  /** Arrays copied from the first input after checking that every input agrees (e.g. lat, lon). */
  identicalDims?: string[];
  /**
   * Time coordinates whose units or epoch differ between inputs (kerchunk #282): "reencode" (the
   * default) re-encodes them into the first input's units, as kerchunk's cf: selector does;
   * "error" fails naming the file. Calendars that differ always fail.
   */
  timeUnits?: "reencode" | "error";
  /**
   * Inputs with the same coordinate values: "error" (the default) fails naming both files;
   * "keep-first" keeps the one listed first and drops the others whole (partial overlaps still fail).
   */
  duplicates?: "error" | "keep-first";
  /**
   * How `identicalDims` are checked: "values" (default) reads and compares every input's decoded
   * values; "metadata" compares .zarray/.zattrs only (no reads beyond the coordinates).
   */
  identicalCheck?: "values" | "metadata";
  /** Reads in flight at once when fetching coordinate chunks. */
  readConcurrency?: number;
  /** How S3 URLs in references are read (credentials come from the AWS environment). */
  s3?: S3ConnectionOptions;
}

export interface ResolvedCombineOptions {
  concatDims: string[];
  cooMap: Record<string, CoordinateSelector>;
  identicalDims: string[];
  timeUnits: "reencode" | "error";
  duplicates: "error" | "keep-first";
  identicalCheck: "values" | "metadata";
  readConcurrency: number;
  s3: S3ConnectionOptions;
}

export function resolveCombineOptions(options: CombineOptions): ResolvedCombineOptions {
  const concatDims = [...options.concatDims];
  if (concatDims.length === 0) throw new ConfigError("concatDims", "needs at least one dimension, e.g. ['time']");
  if (new Set(concatDims).size !== concatDims.length) throw new ConfigError("concatDims", `lists a dimension twice: ${concatDims.join(", ")}`);
  const cooMap: Record<string, CoordinateSelector> = {};
  for (const dim of concatDims) cooMap[dim] = options.cooMap?.[dim] ?? `data:${dim}`;
  for (const key of Object.keys(options.cooMap ?? {})) {
    if (!concatDims.includes(key)) throw new ConfigError(`cooMap.${key}`, `'${key}' is not one of concatDims (${concatDims.join(", ")})`);
  }
  for (const [dim, selector] of Object.entries(cooMap)) {
    if (typeof selector === "string" && !/^(data:|cf:|attr:|vattr:[^:]+:).+|^INDEX$/.test(selector)) {
      throw new ConfigError(`cooMap.${dim}`, `'${selector}' is not data:<var>, cf:<var>, attr:<name>, vattr:<var>:<name> or INDEX`);
    }
  }
  const identicalDims = [...(options.identicalDims ?? [])];
  const both = identicalDims.filter((d) => concatDims.includes(d));
  if (both.length > 0) throw new ConfigError("identicalDims", `${both.join(", ")} cannot be both concatenated and identical`);
  const timeUnits = options.timeUnits ?? "reencode";
  if (timeUnits !== "reencode" && timeUnits !== "error") throw new ConfigError("timeUnits", `expected 'reencode' or 'error', got '${String(timeUnits)}'`);
  const duplicates = options.duplicates ?? "error";
  if (duplicates !== "error" && duplicates !== "keep-first") throw new ConfigError("duplicates", `expected 'error' or 'keep-first', got '${String(duplicates)}'`);
  const identicalCheck = options.identicalCheck ?? "values";
  if (identicalCheck !== "values" && identicalCheck !== "metadata") {
    throw new ConfigError("identicalCheck", `expected 'values' or 'metadata', got '${String(identicalCheck)}'`);
  }
  const readConcurrency = options.readConcurrency ?? 64;
  if (!Number.isInteger(readConcurrency) || readConcurrency < 1) throw new ConfigError("readConcurrency", "expected a whole number ≥ 1");
  return { concatDims, cooMap, identicalDims, timeUnits, duplicates, identicalCheck, readConcurrency, s3: options.s3 ?? {} };
}
