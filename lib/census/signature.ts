/**
 * A file's metadata as the census sees it: per variable, the fields that decide whether two files'
 * arrays can be one array (its structure), and the attributes that only describe. Made from a
 * file's kerchunk references (what every format reader produces), so a day's combined output and a
 * single file's references give the same answer for the same layout.
 *
 * Two questions, two answers that must fit: an era (files with one structure digest) is what the
 * census reports, and is at least as fine as the combine's rule (equal digests, one aggregate);
 * whether eras can be one aggregate is the combine's own rule (`structureDifference`, through
 * `arrays`), never a field list of ours.
 */
import { createHash } from "node:crypto";
import { structuredArray, type StructuredArray } from "../combine/drift.js";
import type { ResolvedCombineOptions } from "../combine/options.js";
import { decodingAttributes } from "../model/zarrMeta.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import { referenceSetOf } from "../model/referenceSet.js";

/** Per variable: structural fields (text, comparable) and descriptive attributes (listed, never compared). */
export interface VariableMetadata {
  structure: Record<string, string>;
  descriptive: Record<string, string>;
}

export interface FileMetadata {
  variables: Record<string, VariableMetadata>;
  /** Global attributes: descriptive (history, date_created, version strings). */
  attributes: Record<string, string>;
  /**
   * Each array as the combine compares it (metadata only, no chunk references), for
   * `aggregateGroups`. Kept in memory for the report; never written to census.json.
   */
  arrays: [name: string, array: StructuredArray][];
}

/** What decides an array's role in the combine, and so what the census compares of it. */
export type CensusCombineSettings = Pick<ResolvedCombineOptions, "concatDims" | "identicalDims">;

/** One difference between two eras: `from`/`to` undefined means absent. */
export interface StructureChange {
  variable: string;
  field: string;
  from?: string;
  to?: string;
}

/**
 * The structural fields, in the order reports show them. The attributes are the ones the combine
 * refuses to mix (`decodingAttributes`: packing, _Unsigned, fill values, units, calendar); an
 * `identicalDims` array's every attribute is structural too (the combine compares them all), so
 * equal digests are always one aggregate. Fields the combine does not compare (an array without a
 * concat dimension is carried from the first input; a calendar spelled two ways) still begin an
 * era, shown to people, but no aggregate.
 */
export const structuralFields = ["dimensions", "dtype", "shape", "chunks", "codecs", "fill_value", "order", ...decodingAttributes] as const;

/**
 * The concat coordinate (time) is written by the combine itself, re-encoding other time units into
 * the first file's within one calendar: only its calendar splits an era; its other fields are listed.
 */
const coordinateFields = new Set(["calendar"]);

/**
 * Numbers that are float32 values (netCDF's float attributes, widened to doubles in JSON) are shown
 * by their shortest float32 form, 0.01 rather than 0.009999999776482582: still exact (one float32,
 * one text), and what the file's writer wrote.
 */
function numberText(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) || Math.fround(value) !== value) return JSON.stringify(value);
  for (let digits = 1; digits <= 9; digits++) {
    const short = value.toPrecision(digits);
    if (Math.fround(Number(short)) === value) return String(Number(short));
  }
  return JSON.stringify(value);
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return numberText(value);
  if (Array.isArray(value)) return `[${value.map(text).join(", ")}]`;
  return JSON.stringify(value);
}

function codecText(codec: unknown): string {
  if (codec === null || typeof codec !== "object") return text(codec);
  const { id, ...options } = codec as Record<string, unknown>;
  const args = Object.entries(options).map(([k, v]) => `${k}=${text(v)}`);
  return `${String(id)}${args.length ? `(${args.join(", ")})` : ""}`;
}

function parseJson(value: unknown, key: string, url: string): Record<string, unknown> {
  if (typeof value !== "string") throw new Error(`${url}: ${key} is not inline JSON metadata`);
  return JSON.parse(value) as Record<string, unknown>;
}

/** The census's view of one file's (or one day output's) references; `concatDims` are left out of shapes. */
export function metadataOfRefs(refs: KerchunkRefs, settings: CensusCombineSettings, url: string): FileMetadata {
  const { concatDims, identicalDims } = settings;
  const variables: Record<string, VariableMetadata> = {};
  const all = refs.refs;
  for (const key of Object.keys(all)) {
    if (!key.endsWith(".zarray")) continue;
    const path = key.slice(0, -"/.zarray".length);
    const zarray = parseJson(all[key], key, url);
    const zattrs = all[`${path}/.zattrs`] !== undefined ? parseJson(all[`${path}/.zattrs`], `${path}/.zattrs`, url) : {};
    const dims = Array.isArray(zattrs._ARRAY_DIMENSIONS) ? (zattrs._ARRAY_DIMENSIONS as string[]) : [];
    const shape = (zarray.shape as number[]).map((n, axis) => (concatDims.includes(dims[axis] ?? "") ? dims[axis]! : String(n)));
    const codecs = [...((zarray.filters as unknown[] | null) ?? []), ...(zarray.compressor ? [zarray.compressor] : [])];
    const candidate: Record<string, string> = {
      dimensions: dims.join(", "),
      dtype: text(zarray.dtype),
      shape: `[${shape.join(", ")}]`,
      chunks: `[${(zarray.chunks as number[]).join(", ")}]`,
      codecs: codecs.length ? codecs.map(codecText).join(", ") : "none",
      fill_value: text(zarray.fill_value),
      order: text(zarray.order ?? "C"),
    };
    for (const name of decodingAttributes) if (zattrs[name] !== undefined) candidate[name] = text(zattrs[name]);
    // lib/refs writes a float _FillValue as xarray does for Zarr v3: base64 of the float64. Shown as the number.
    if (typeof zattrs._FillValue === "string" && /^[<>]f/.test(candidate.dtype!) && /^[A-Za-z0-9+/]{11}=$/.test(zattrs._FillValue)) {
      candidate._FillValue = numberText(Buffer.from(zattrs._FillValue, "base64").readDoubleLE(0));
    }
    const descriptive: Record<string, string> = {};
    const identical = identicalDims.includes(path);
    for (const [name, value] of Object.entries(zattrs)) {
      if (name === "_ARRAY_DIMENSIONS" || (decodingAttributes as readonly string[]).includes(name)) continue;
      if (identical) candidate[name] = text(value);
      else descriptive[name] = text(value);
    }
    const coordinate = concatDims.includes(path);
    const structure: Record<string, string> = {};
    for (const [field, value] of Object.entries(candidate)) {
      if (!coordinate || coordinateFields.has(field)) structure[field] = value;
      else if (field !== "dimensions") descriptive[field] = value;
    }
    if (coordinate && structure.calendar === undefined) structure.calendar = "standard (default)";
    variables[path] = { structure, descriptive };
  }
  const root = all[".zattrs"] !== undefined ? parseJson(all[".zattrs"], ".zattrs", url) : {};
  const attributes = Object.fromEntries(Object.entries(root).map(([k, v]) => [k, text(v)]));
  const arrays = [...referenceSetOf(refs, url).arrays.values()].map(
    (entry) => [entry.path, structuredArray({ ...entry, chunkKeys: [], chunkRefs: [] }, url, settings)] as [string, StructuredArray],
  );
  return { variables, attributes, arrays };
}

/** A short digest of a file's structure: equal digests, one era. Descriptive attributes are not in it. */
export function structureDigest(metadata: FileMetadata): string {
  const canonical = Object.keys(metadata.variables)
    .sort()
    .map((name) => [name, Object.entries(metadata.variables[name]!.structure).sort(([a], [b]) => a.localeCompare(b))]);
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 16);
}

/** What changed from one era's structure to the next, variable by variable, field by field. */
export function structureChanges(before: FileMetadata, after: FileMetadata): StructureChange[] {
  const changes: StructureChange[] = [];
  const names = [...new Set([...Object.keys(before.variables), ...Object.keys(after.variables)])].sort();
  for (const variable of names) {
    const a = before.variables[variable]?.structure;
    const b = after.variables[variable]?.structure;
    if (!a || !b) {
      changes.push({ variable, field: "present", ...(a ? { from: "yes" } : {}), ...(b ? { to: "yes" } : {}) });
      continue;
    }
    const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort((x, y) => fieldRank(x) - fieldRank(y));
    for (const field of fields) {
      if (a[field] !== b[field]) changes.push({ variable, field, ...(a[field] !== undefined ? { from: a[field] } : {}), ...(b[field] !== undefined ? { to: b[field] } : {}) });
    }
  }
  return changes;
}

const fieldRank = (field: string): number => {
  const rank = (structuralFields as readonly string[]).indexOf(field);
  return rank < 0 ? structuralFields.length : rank;
};

/** "sea_surface_temperature scale_factor 0.01 → 0.005", "wind_speed appears". */
export function describeChange(change: StructureChange): string {
  if (change.field === "present") return `${change.variable} ${change.to ? "appears" : "disappears"}`;
  return `${change.variable} ${change.field} ${change.from ?? "(none)"} → ${change.to ?? "(none)"}`;
}
