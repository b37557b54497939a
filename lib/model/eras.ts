/**
 * Eras: runs of consecutive reference sets that can be one dataset. An archive's files drift (a
 * new product version changes a dtype, a codec, a scale_factor, adds a variable): the combine
 * refuses to mix them (lib/combine/layout.ts, naming the file and the field), and the drift work
 * splits the inputs where they change instead. The signature is what the combine checks, from the
 * same lists: every array's path (the concat coordinates aside), the `.zarray` fields that must
 * agree, its dimension names, the attributes that change decoding, and its shape except along the
 * concat dimensions. Arrays without a concat dimension count too (the combine carries the first
 * file's: a drift there would be hidden).
 */
import { pyJsonKey } from "../json/pyJsonParse.js";
import type { PyJsonValue } from "../json/pyJson.js";
import { arrayMetadata } from "./arrayMetadata.js";
import type { ReferenceSet } from "./referenceSet.js";
import { decodingAttributes, zarrayFields } from "./zarrMeta.js";

/** What must stay the same between reference sets for them to combine along `concatDims`, as text. */
export function eraSignature(set: ReferenceSet, concatDims: readonly string[]): string {
  const parts: string[] = [];
  // A concat dimension's own coordinate is made anew by the combine: its length and chunking may differ.
  for (const path of [...set.arrays.keys()].filter((p) => !concatDims.includes(p)).sort()) {
    const metadata = arrayMetadata(set.arrays.get(path)!);
    const dims = metadata.dimensionNames ?? [];
    const shape = metadata.shape.map((n, axis) => (concatDims.includes(dims[axis] ?? "") ? null : n));
    // _FillValue repeats the .zarray fill_value (a field above); older references lack it.
    const named = decodingAttributes.filter((name) => name !== "_FillValue" && metadata.attributes[name] !== undefined);
    const attributes = Object.fromEntries(named.map((name) => [name, metadata.attributes[name]!]));
    const fields = Object.fromEntries(zarrayFields.map((field) => [field, (metadata.zarray[field] ?? null) as PyJsonValue]));
    parts.push(`${JSON.stringify(path)}:${pyJsonKey({ ...fields, dims, shape, attributes } as PyJsonValue)}`);
  }
  return parts.join("\n");
}

export interface Era<T> {
  signature: string;
  items: T[];
}

/** `items` (in calendar order) cut where the signature of their reference sets changes. */
export function splitEras<T>(items: readonly T[], setOf: (item: T) => ReferenceSet, concatDims: readonly string[]): Era<T>[] {
  const eras: Era<T>[] = [];
  for (const item of items) {
    const signature = eraSignature(setOf(item), concatDims);
    const last = eras[eras.length - 1];
    if (last && last.signature === signature) last.items.push(item);
    else eras.push({ signature, items: [item] });
  }
  return eras;
}
