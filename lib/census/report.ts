/**
 * What a census found, written beside the dataset's outputs: census.json (typed, versioned: the
 * `Census` below), census.md (for people: the eras, what changed at each boundary, a timeline per
 * variable) and census.svg (the timeline as a picture).
 */
import { compatibleRuns, structureDifference } from "../combine/drift.js";
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { joinKey } from "../storage/storage.js";
import { censusFolder, type IndexedListing } from "./listing.js";
import { SAMPLING_ASSUMPTION, type CensusFacts, type CensusSummary, type EraSummary, type ReadCounts } from "./model/index.js";
import { describeChange, structuralFields, structureChanges, type FileMetadata, type StructureChange, type VariableMetadata } from "./signature.js";

export const CENSUS_VERSION = 1;

export interface CensusEra {
  era: number;
  /** First and last file (keys in the source storage) and their days. */
  first: string;
  last: string;
  firstDay: string;
  lastDay: string;
  files: number;
  /** Each variable's structure and descriptive attributes, as the era's first file has them. */
  variables: Record<string, VariableMetadata>;
  /** The era's first file's global attributes (descriptive). */
  attributes: Record<string, string>;
  /** What changed from the era before, at `first` (empty for the first era). */
  changes: StructureChange[];
  /**
   * Eras with the same number can be one aggregate: consecutive, and every variable keeps one
   * structure wherever it is present (variables may appear and disappear: the aggregate holds the
   * union). A new number is where an aggregate must split.
   */
  aggregate: number;
}

/** census.json. */
export interface Census {
  version: typeof CENSUS_VERSION;
  dataset: string;
  start: string;
  end: string;
  concatDims: string[];
  mode: CensusFacts["mode"];
  stride: number;
  /** What a sampled census assumes (exhaustive: nothing). */
  assumption: string;
  files: number;
  days: number;
  /** The structural fields compared; every other attribute is descriptive. */
  structuralFields: string[];
  eras: CensusEra[];
  counts: ReadCounts;
  wallMs: number;
}

const fileName = (key: string): string => key.slice(key.lastIndexOf("/") + 1);

/**
 * The `aggregate` of each era (see CensusEra), from each era's first file: a new one where a
 * variable present before comes back with a structure one array cannot hold. The combine's rule
 * (`compatibleRuns` with `structureDifference`), applied to the arrays as the combine sees them, so
 * the census's aggregates are the backfill's outputs across drift. (Files of one era have one
 * digest, which is at least as fine as that rule: signature.ts.)
 */
export function aggregateGroups(eras: readonly Pick<FileMetadata, "arrays">[]): number[] {
  return compatibleRuns(
    eras.map((era) => era.arrays),
    (earlier, later) => structureDifference(earlier, later) === undefined,
  );
}

export function buildCensus(spec: ResolvedDatasetSpec, listing: IndexedListing, facts: CensusFacts, firsts: FileMetadata[]): Census {
  const eras = facts.eraStarts.map((startIndex, i): CensusEra => {
    const endIndex = (facts.eraStarts[i + 1] ?? listing.files) - 1;
    const first = listing.file(startIndex);
    const last = listing.file(endIndex);
    return {
      era: i + 1,
      first: first.key,
      last: last.key,
      firstDay: first.day.day,
      lastDay: last.day.day,
      files: endIndex - startIndex + 1,
      variables: firsts[i]!.variables,
      attributes: firsts[i]!.attributes,
      changes: i === 0 ? [] : structureChanges(firsts[i - 1]!, firsts[i]!),
      aggregate: 0,
    };
  });
  aggregateGroups(firsts).forEach((group, i) => (eras[i]!.aggregate = group));
  return {
    version: CENSUS_VERSION,
    dataset: spec.name,
    start: listing.listing.start,
    end: listing.listing.end,
    concatDims: spec.combine.concatDims,
    mode: facts.mode,
    stride: facts.stride,
    assumption: facts.mode === "sampled" ? SAMPLING_ASSUMPTION : "none: every file was read",
    files: listing.files,
    days: listing.listing.days.length,
    structuralFields: [...structuralFields],
    eras,
    counts: facts.counts,
    wallMs: facts.wallMs,
  };
}

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;
const cell = (text: string): string => text.replace(/\|/g, "\\|");

/** The structure of one variable in one era, in a line ("dtype <i2 · chunks [1, 4, 12] · ..."), or "absent". */
function structureLine(variable: VariableMetadata | undefined): string {
  if (!variable) return "absent";
  return Object.entries(variable.structure)
    .filter(([field]) => field !== "dimensions")
    .map(([field, value]) => `${field} ${value}`)
    .join(" · ");
}

/** Per variable, consecutive eras in which it keeps one structure (or stays absent). */
export function variableTimeline(census: Census): { variable: string; segments: { from: number; to: number; structure: string }[] }[] {
  const names = [...new Set(census.eras.flatMap((e) => Object.keys(e.variables)))].sort();
  return names.map((variable) => {
    const segments: { from: number; to: number; structure: string }[] = [];
    for (const era of census.eras) {
      const structure = structureLine(era.variables[variable]);
      const last = segments[segments.length - 1];
      if (last && last.structure === structure) last.to = era.era;
      else segments.push({ from: era.era, to: era.era, structure });
    }
    return { variable, segments };
  });
}

export function censusMarkdown(census: Census): string {
  const lines = [
    `# Census of ${census.dataset}, ${census.start} .. ${census.end}`,
    "",
    `${census.files} files over ${census.days} days: **${census.eras.length} era${census.eras.length === 1 ? "" : "s"}**. ` +
      `An era is a run of consecutive files with the same structure (per variable: presence, ${census.structuralFields.join(", ")}; every attribute of an identicalDims array); ` +
      "other attributes (history, date_created, version strings, valid ranges) are descriptive and never split an era.",
    "",
    `Mode: ${census.mode}${census.mode === "sampled" ? ` (every ${census.stride}th file, the first and the last, then bisection to each boundary)` : ""}. ` +
      `Assumption: ${census.assumption}.`,
    "",
    `Read: ${census.counts.filesRead} source files and ${census.counts.outputsRead} day outputs (standing for their days' files), ` +
      `${megabytes(census.counts.bytesRead)} in ${census.counts.requests} requests; ${(census.wallMs / 1000).toFixed(1)} s.`,
    "",
    "## Eras",
    "",
    "The aggregate column: eras with the same number can be one aggregate (by the combine's rule: every variable keeps one structure wherever it is present; " +
      "variables that appear or disappear make a union; an array without a concat dimension is the first era's); a new number is where an aggregate must split.",
    "",
    "| era | aggregate | first file | last file | files | what changed at its first file |",
    "| --- | --- | --- | --- | --- | --- |",
    ...census.eras.map((e) => `| ${e.era} | ${e.aggregate} | ${fileName(e.first)} | ${fileName(e.last)} | ${e.files} | ${cell(e.changes.map(describeChange).join("; ") || "(first era)")} |`),
    "",
  ];
  for (const era of census.eras.slice(1)) {
    lines.push(`### Era ${era.era} begins at ${era.first}`, "", "| variable | field | before | from this file |", "| --- | --- | --- | --- |");
    for (const c of era.changes) lines.push(`| ${c.variable} | ${c.field} | ${cell(c.from ?? "(absent)")} | ${cell(c.to ?? "(absent)")} |`);
    lines.push("");
  }
  lines.push("## Timeline per variable", "", "![era timeline](census.svg)", "");
  for (const { variable, segments } of variableTimeline(census)) {
    lines.push(`### ${variable}`, "", "| eras | from | to | structure |", "| --- | --- | --- | --- |");
    for (const s of segments) {
      const from = census.eras[s.from - 1]!;
      const to = census.eras[s.to - 1]!;
      lines.push(`| ${s.from === s.to ? s.from : `${s.from}–${s.to}`} | ${from.firstDay} | ${to.lastDay} | ${cell(s.structure)} |`);
    }
    lines.push("");
  }
  lines.push("## Descriptive attributes of each era's first file", "");
  for (const era of census.eras) {
    lines.push(`- era ${era.era}: ${Object.entries(era.attributes).map(([k, v]) => `${k}=${v}`).join(", ") || "(none)"}`);
  }
  return `${lines.join("\n")}\n`;
}

const palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f"];
const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** One row per variable along the files (in order); a colour per structure the variable takes, nothing where absent. */
export function censusSvg(census: Census): string {
  const rows = variableTimeline(census);
  const left = 200;
  const width = 760;
  const rowHeight = 22;
  const top = 30;
  const height = top + rows.length * rowHeight + 42;
  const starts: number[] = [];
  let n = 0;
  for (const era of census.eras) {
    starts.push(n);
    n += era.files;
  }
  const x = (file: number): number => left + (file / Math.max(census.files, 1)) * width;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 20}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="${left}" y="16">${escape(`${census.dataset} ${census.start} .. ${census.end}: ${census.eras.length} eras, ${census.files} files`)}</text>`,
  ];
  rows.forEach(({ variable, segments }, r) => {
    const y = top + r * rowHeight;
    parts.push(`<text x="${left - 6}" y="${y + 14}" text-anchor="end">${escape(variable)}</text>`);
    const colours = new Map<string, string>();
    for (const s of segments) {
      if (s.structure === "absent") continue;
      if (!colours.has(s.structure)) colours.set(s.structure, palette[colours.size % palette.length]!);
      const from = x(starts[s.from - 1]!);
      const to = x(starts[s.to - 1]! + census.eras[s.to - 1]!.files);
      parts.push(`<rect x="${from.toFixed(1)}" y="${y + 3}" width="${Math.max(to - from, 1).toFixed(1)}" height="${rowHeight - 6}" fill="${colours.get(s.structure)}"><title>${escape(s.structure)}</title></rect>`);
    }
  });
  census.eras.forEach((era, i) => {
    const at = x(starts[i]!);
    // Labels on two alternating lines, so close eras do not overwrite each other.
    parts.push(`<line x1="${at.toFixed(1)}" y1="${top - 4}" x2="${at.toFixed(1)}" y2="${height - 36 + (i % 2) * 12}" stroke="#333" stroke-dasharray="3,2"/>`);
    parts.push(`<text x="${(at + 2).toFixed(1)}" y="${height - 22 + (i % 2) * 12}">${escape(`${era.era}: ${era.firstDay}`)}</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** Write census.json, census.md and census.svg beside the dataset's outputs; the summary for the workflow's result. */
export async function writeCensusFiles(spec: ResolvedDatasetSpec, listing: IndexedListing, facts: CensusFacts, firsts: FileMetadata[]): Promise<CensusSummary> {
  const census = buildCensus(spec, listing, facts, firsts);
  const folder = censusFolder(spec, census.start, census.end);
  const storage = openStorage(spec.output.storage);
  const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
  try {
    await storage.write(joinKey(folder, "census.json"), encode(`${JSON.stringify(census, null, 1)}\n`));
    await storage.write(joinKey(folder, "census.svg"), encode(censusSvg(census)));
    await storage.write(joinKey(folder, "census.md"), encode(censusMarkdown(census)));
    const eras: EraSummary[] = census.eras.map((e) => ({ era: e.era, aggregate: e.aggregate, first: e.first, last: e.last, files: e.files, changes: e.changes.map(describeChange) }));
    return {
      dataset: census.dataset,
      start: census.start,
      end: census.end,
      mode: census.mode,
      stride: census.stride,
      files: census.files,
      eras,
      counts: census.counts,
      wallMs: census.wallMs,
      census: storage.url(joinKey(folder, "census.json")),
      report: storage.url(joinKey(folder, "census.md")),
    };
  } finally {
    await storage.close();
  }
}
