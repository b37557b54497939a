/**
 * How one period of a backfill ended: a day, or a month/year rollup. A tagged union, so every rule
 * (status, summary, rollup, progress) reads the same fields instead of matching text; the seed
 * notebook's text (`path`, `existing`, `ERROR(NOFILES)`, `ERROR(<kind>): <message>`) is made from
 * it at the edges only (`resultText`).
 *
 * This folder is the part of the backfill that workflow code runs too: plain data and pure
 * functions, importing nothing outside itself (test/workflowCode.test.ts checks it).
 */
export type PeriodResult =
  /**
   * The output was written now. A period split by drift (its inputs span layouts one array cannot
   * hold, issue 17) has several outputs, one per run of compatible inputs in time order: `outputs`
   * lists them all and `output` is the first; a period with one output has no `outputs`.
   */
  | { outcome: "written"; output: string; outputs?: string[] }
  /** The output was there already (an earlier run, or another backfill over the same period). */
  | { outcome: "existing"; output: string; outputs?: string[] }
  /** A day without source files (a gap in the archive), or a rollup whose every child had none. */
  | { outcome: "noFiles" }
  /** The period failed: `kind` is the error's kind (e.g. "Hdf5FormatError", "Incomplete"). */
  | { outcome: "failed"; kind: string; message: string }
  /** A rollup not built because the range covers only part of its period. */
  | { outcome: "partial" };

export type Outcome = PeriodResult["outcome"];
export type FailedResult = Extract<PeriodResult, { outcome: "failed" }>;

/** Results by period id ("2022-01-13", "2022-01", "2022"). */
export type PeriodResults = Record<string, PeriodResult>;

/** A period's outputs: one URL, or several (split by drift, in time order). */
export type PeriodOutputs = string | readonly string[];

const withOutputs = (outputs: PeriodOutputs): { output: string; outputs?: string[] } =>
  typeof outputs === "string" ? { output: outputs } : outputs.length === 1 ? { output: outputs[0]! } : { output: outputs[0]!, outputs: [...outputs] };

export const written = (output: PeriodOutputs): PeriodResult => ({ outcome: "written", ...withOutputs(output) });
export const existing = (output: PeriodOutputs): PeriodResult => ({ outcome: "existing", ...withOutputs(output) });
export const noFiles = (): PeriodResult => ({ outcome: "noFiles" });
export const failed = (kind: string, message: string): FailedResult => ({ outcome: "failed", kind, message });
export const partial = (): PeriodResult => ({ outcome: "partial" });

/** What an aggregation reports (the period's output URL, or URLs, and whether it was there already) as a result. */
export const outputResult = (summary: { output: string; outputs?: string[]; existing: boolean }): PeriodResult =>
  summary.existing ? existing(summary.outputs ?? summary.output) : written(summary.outputs ?? summary.output);

export const isFailed = (result: PeriodResult | undefined): result is FailedResult => result?.outcome === "failed";

/** The period's output exists (written now or before): a rollup can read it. */
export const hasOutput = (result: PeriodResult | undefined): boolean => result?.outcome === "written" || result?.outcome === "existing";

/**
 * A failed result from a thrown error, outside Temporal: our typed errors carry their `kind`
 * (the same string an activity's failure carries as its type), anything else its class name.
 */
export function failureOf(error: unknown): FailedResult {
  const e = (typeof error === "object" && error !== null ? error : {}) as { kind?: unknown; name?: unknown; message?: unknown };
  const kind = typeof e.kind === "string" ? e.kind : typeof e.name === "string" ? e.name : "Error";
  return failed(kind, typeof e.message === "string" ? e.message : String(error));
}

/** The seed notebook's text for a result. */
export function resultText(result: PeriodResult): string {
  switch (result.outcome) {
    case "written":
      return result.outputs ? result.outputs.join(" ") : result.output;
    case "existing":
      return "existing";
    case "noFiles":
      return "ERROR(NOFILES)";
    case "failed":
      return `ERROR(${result.kind}): ${result.message}`;
    case "partial":
      return "PARTIAL";
  }
}
