import { existing, noFiles, outputResult, type PeriodResult } from "./result.js";
import type { DaySurvey, ExtractSummary } from "./steps.js";
import type { FileCounts } from "./summary.js";

/**
 * A day's steps as its runner offers them: activities in the day workflow, library calls in a
 * batch of small days and in `backfillDirect`. Each runner decides how its extractions are spread
 * (activities, files at once, cancellation); the order of the steps is decided once, here.
 */
export interface DaySteps {
  /** The day's output if it exists, else its source files in time order. */
  survey(): Promise<DaySurvey>;
  /** Extract (stage) the day's files; staged files of an earlier attempt are reused. */
  extract(sources: string[]): Promise<ExtractSummary[]>;
  /** Write the day's output from its staged references, exactly once. */
  write(staged: string[]): Promise<{ output: string; outputs?: string[]; existing: boolean }>;
}

export interface DayStepOptions {
  /**
   * Hand the staged references back instead of writing: the day's month commits them in calendar
   * order (`outputRules(format).calendarOrder`, when the runner does not go day by day itself).
   */
  handBackStaged: boolean;
  /** More files than this: handed back before anything is extracted (a batch of small days). */
  maxFiles?: number;
  /** Told the number of files once they are listed (and there are some). */
  listed?(files: number): void;
}

/** How a day's steps ended: its result, its staged references (for its month to commit), or too many files for this runner. */
export type DayEnd = { result: PeriodResult } | { staged: string[] } | { tooManyFiles: number };

/**
 * One day: done already if its output exists; else list its files, extract them and write the
 * day's output once (or hand the staged references back). `files` counts what was listed, reused
 * and extracted, also when a later step fails.
 */
export function runDaySteps(steps: DaySteps, options: DayStepOptions & { handBackStaged: false; maxFiles?: undefined }, files: FileCounts): Promise<{ result: PeriodResult }>;
export function runDaySteps(steps: DaySteps, options: DayStepOptions & { maxFiles?: undefined }, files: FileCounts): Promise<{ result: PeriodResult } | { staged: string[] }>;
export function runDaySteps(steps: DaySteps, options: DayStepOptions, files: FileCounts): Promise<DayEnd>;
export async function runDaySteps(steps: DaySteps, options: DayStepOptions, files: FileCounts): Promise<DayEnd> {
  const survey = await steps.survey();
  if ("output" in survey) return { result: existing(survey.outputs ?? survey.output) };
  const sources = survey.sources;
  if (options.maxFiles !== undefined && sources.length > options.maxFiles) return { tooManyFiles: sources.length };
  files.listed = sources.length;
  if (sources.length === 0) return { result: noFiles() };
  options.listed?.(sources.length);
  const extracted = await steps.extract(sources);
  files.reused = extracted.filter((e) => e.reused).length;
  files.extracted = extracted.length - files.reused;
  const staged = extracted.map((e) => e.staged);
  if (options.handBackStaged) return { staged };
  return { result: outputResult(await steps.write(staged)) };
}
