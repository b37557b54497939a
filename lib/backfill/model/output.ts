import type { Aggregation, OutputFormat } from "./plan.js";

/**
 * How a period's reference-file output is laid out: which writer and reader (lib/backfill/aggregate.ts,
 * by `kind`), its name's ending, and which key says it is complete.
 */
export interface ReferenceFileLayout {
  /** "json": one kerchunk JSON file; "parquet": a folder in kerchunk's Parquet layout. */
  kind: "json" | "parquet";
  /** The output's name ending: "<YYYYMMDD><suffix>.json", or the folder "<YYYYMMDD><suffix>.parq". */
  extension: string;
  /**
   * What follows the output's key in the key whose presence means the output is there, whole: ""
   * (a JSON file is written at once), or "/.zmetadata" (a Parquet folder's data files are written
   * first and `.zmetadata` last: a folder without it is a run cut short, which counts as no output).
   */
  completeMarker: string;
}

/**
 * What a dataset's output format means for the backfill, decided here and nowhere else: the
 * workflows (this folder is in their bundle), `backfillDirect`, the steps and the activities all
 * ask `outputRules(format)` (lib/backfill/output.ts picks the writer the same way) instead of
 * comparing the format with a name.
 */
export interface OutputRules {
  /**
   * Days go into one store in calendar order (Icechunk): a day's files are staged and its month
   * commits them when every earlier day is settled; a failed day blocks the later ones; years,
   * months and the days' commits go one at a time; a day's output is found per year, not per day.
   * Otherwise (reference files) every day writes its own output, in any order.
   */
  calendarOrder: boolean;
  /** The output is one Icechunk repository (read with Icechunk), not reference files. */
  store: boolean;
  /**
   * A step that extracts a day's files and writes the day (a batch's small day, `backfillDirect`)
   * combines them from memory, staging them only when it cannot write the day (reference files);
   * a store's commit reads them staged, with the file versions they pin.
   */
  dayFromMemory: boolean;
  /** The plan's aggregation for a dataset's: a store tags every month and year ("year"). */
  aggregation(dataset: Aggregation): Aggregation;
  /** Reference files' layout (a store has none of its own: its staged files are JSON). */
  files: ReferenceFileLayout;
  /**
   * The census may read a day output's metadata in place of the day's files: kerchunk JSON only
   * (a store keeps one metadata for all its days; a Parquet folder's files are read instead).
   */
  censusReadsDayOutputs: boolean;
}

const json: ReferenceFileLayout = { kind: "json", extension: ".json", completeMarker: "" };
const parquet: ReferenceFileLayout = { kind: "parquet", extension: ".parq", completeMarker: "/.zmetadata" };

const rules: Record<OutputFormat, OutputRules> = {
  kerchunk: { calendarOrder: false, store: false, dayFromMemory: true, aggregation: (dataset) => dataset, files: json, censusReadsDayOutputs: true },
  parquet: { calendarOrder: false, store: false, dayFromMemory: true, aggregation: (dataset) => dataset, files: parquet, censusReadsDayOutputs: false },
  icechunk: { calendarOrder: true, store: true, dayFromMemory: false, aggregation: () => "year", files: json, censusReadsDayOutputs: false },
};

export const outputRules = (format: OutputFormat): OutputRules => rules[format];
