/**
 * The combine's settings, declared once with the setting rules (lib/settings/schema.ts): the
 * dataset spec's `combine` section (lib/datasets/spec.ts), the `combine` command's flags
 * (cli/combine.ts) and the combine library's options (lib/combine/options.ts) are these entries,
 * with these defaults; the rules that span settings follow in `checkCombineRules`.
 */
import { ConfigError } from "../errors.js";
import { list, mapOf, oneOf, optional, Setting, text, whole } from "../settings/schema.js";

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

const selectorText = /^(data:|cf:|attr:|vattr:[^:]+:).+|^INDEX$/;

class SelectorSetting extends Setting<CoordinateSelector> {
  readonly expected = "data:<var>, cf:<var>, attr:<name>, vattr:<var>:<name>, INDEX, a number or a list of values";
  protected checkPresent(value: unknown, path: string): CoordinateSelector {
    if (typeof value === "string") {
      if (!selectorText.test(value)) throw new ConfigError(path, `'${value}' is not data:<var>, cf:<var>, attr:<name>, vattr:<var>:<name> or INDEX`);
      return value;
    }
    if (typeof value === "number" && Number.isFinite(value)) return value;
    if (Array.isArray(value) && value.every((v) => typeof v === "string" || (typeof v === "number" && Number.isFinite(v)))) return value as (number | string)[];
    throw this.wrong(value, path);
  }
}

export const combineSettings = {
  /** Dimensions to concatenate along (kerchunk's concat_dims), e.g. ["time"]. */
  concatDims: list(text({ nonEmpty: true }), { minItems: 1 }),
  /** How coordinate values are found, per concat dimension; default "data:<dim>". */
  cooMap: optional(mapOf(new SelectorSetting())),
  /** Arrays copied from the first input after checking that every input agrees (e.g. lat, lon). */
  identicalDims: optional(list(text({ nonEmpty: true })), []),
  /**
   * Time coordinates whose units or epoch differ between inputs (kerchunk #282): "reencode"
   * re-encodes them into the first input's units, as kerchunk's cf: selector does; "error" fails
   * naming the file. Calendars that differ always fail.
   */
  timeUnits: optional(oneOf(["reencode", "error"]), "reencode"),
  /**
   * Inputs with the same coordinate values: "error" fails naming both files; "keep-first" keeps
   * the one listed first and drops the others whole (partial overlaps still fail).
   */
  duplicates: optional(oneOf(["error", "keep-first"]), "error"),
  /**
   * How `identicalDims` are checked: "values" reads and compares every input's decoded values;
   * "metadata" compares .zarray/.zattrs only (no reads beyond the coordinates).
   */
  identicalCheck: optional(oneOf(["values", "metadata"]), "values"),
  /** Reads in flight at once when fetching coordinate chunks. */
  readConcurrency: optional(whole({ min: 1 }), 64),
};

/**
 * The rules that span the combine's settings; returns the coordinate selectors with the default
 * ("data:<dim>") for every concat dimension without one. `at` prefixes the setting paths in errors.
 */
export function checkCombineRules(
  settings: { concatDims: readonly string[]; cooMap?: Record<string, CoordinateSelector> | undefined; identicalDims?: readonly string[] | undefined },
  at = "",
): Record<string, CoordinateSelector> {
  const path = (key: string): string => (at ? `${at}.${key}` : key);
  const { concatDims } = settings;
  if (new Set(concatDims).size !== concatDims.length) throw new ConfigError(path("concatDims"), `lists a dimension twice: ${concatDims.join(", ")}`);
  for (const key of Object.keys(settings.cooMap ?? {})) {
    if (!concatDims.includes(key)) throw new ConfigError(path(`cooMap.${key}`), `'${key}' is not one of concatDims (${concatDims.join(", ")})`);
  }
  const both = (settings.identicalDims ?? []).filter((d) => concatDims.includes(d));
  if (both.length > 0) throw new ConfigError(path("identicalDims"), `${both.join(", ")} cannot be both concatenated and identical`);
  return Object.fromEntries(concatDims.map((dim) => [dim, settings.cooMap?.[dim] ?? `data:${dim}`]));
}
