import { CombineError } from "../errors.js";
import { PyFloat, type PyJsonValue } from "../json/pyJson.js";
import { readArrayNumbers } from "../model/arrayValues.js";
import type { ReferenceReader } from "../model/chunkBytes.js";
import type { ReferenceSet } from "../model/referenceSet.js";
import type { CoordinateSelector } from "./options.js";
import { arrayMetadata } from "../model/arrayMetadata.js";
import { parseZattrs } from "../model/zarrMeta.js";

export type CoordinateValue = number | string;

/** Where an input's coordinate values for one dimension came from. */
export interface InputCoordinate {
  values: CoordinateValue[];
  /** The array the values were read from (data:/cf:), whose dtype and attributes the output keeps. */
  sourceArray?: string;
  /** `units` and `calendar` of that array, for time re-encoding. */
  units?: PyJsonValue;
  calendar?: PyJsonValue;
}

function attributeValue(value: PyJsonValue | undefined): CoordinateValue[] | undefined {
  const one = (v: PyJsonValue): CoordinateValue | undefined =>
    v instanceof PyFloat ? v.value : typeof v === "number" || typeof v === "string" ? v : typeof v === "bigint" ? Number(v) : undefined;
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    const all = value.map(one);
    return all.every((v) => v !== undefined) ? (all as CoordinateValue[]) : undefined;
  }
  const single = one(value);
  return single === undefined ? undefined : [single];
}

/**
 * The arrays whose chunks a combine with these settings reads from every input: the data:/cf:
 * coordinates of its concat dimensions, and the identical dimensions whose values it compares.
 * An extraction that carries these chunks' bytes (lib/backfill/staged.ts) spares the combine
 * every read from the source.
 */
export function arraysReadByCombine(settings: {
  concatDims: readonly string[];
  cooMap: Record<string, CoordinateSelector>;
  identicalDims?: readonly string[] | undefined;
  identicalCheck?: string | undefined;
}): string[] {
  const names = new Set<string>();
  for (const dim of settings.concatDims) {
    const selector = settings.cooMap[dim];
    if (typeof selector === "string" && (selector.startsWith("data:") || selector.startsWith("cf:"))) names.add(selector.slice(selector.indexOf(":") + 1));
  }
  if ((settings.identicalCheck ?? "values") === "values") for (const name of settings.identicalDims ?? []) names.add(name);
  return [...names];
}

/** Read one input's coordinate values for `dim` as its selector says. */
export async function readCoordinate(
  input: ReferenceSet,
  inputPosition: number,
  dim: string,
  selector: CoordinateSelector,
  reader: ReferenceReader,
): Promise<InputCoordinate> {
  const setting = `cooMap.${dim}`;
  if (typeof selector === "number") return { values: [selector] };
  if (typeof selector !== "string") {
    const value = selector[inputPosition];
    if (value === undefined) throw new CombineError("missing-coordinate", input.label, dim, `the literal list has no value for input ${inputPosition}`, setting);
    return { values: [value] };
  }
  if (selector === "INDEX") return { values: [inputPosition] };
  if (selector.startsWith("data:") || selector.startsWith("cf:")) {
    const name = selector.slice(selector.indexOf(":") + 1);
    const entry = input.arrays.get(name);
    if (!entry) {
      throw new CombineError("missing-coordinate", input.label, name, `coordinate variable not found (selector '${selector}' for dimension ${dim})`, setting);
    }
    const attrs = arrayMetadata(entry).attributes;
    return { values: await readArrayNumbers(entry, reader, input.label, setting), sourceArray: name, units: attrs.units, calendar: attrs.calendar };
  }
  if (selector.startsWith("attr:")) {
    const name = selector.slice(5);
    const values = attributeValue(parseZattrs(input.groups.get("")?.zattrs)[name]);
    if (!values) throw new CombineError("missing-coordinate", input.label, undefined, `global attribute '${name}' (selector '${selector}') is missing or not a number or string`, setting);
    return { values };
  }
  const [, variable, name] = /^vattr:([^:]+):(.+)$/.exec(selector)!;
  const entry = input.arrays.get(variable!);
  const values = entry ? attributeValue(arrayMetadata(entry).attributes[name!]) : undefined;
  if (!values) throw new CombineError("missing-coordinate", input.label, variable, `attribute '${name}' (selector '${selector}') is missing or not a number or string`, setting);
  return { values };
}
