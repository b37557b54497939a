/**
 * Where a dataset's backfill writes, chosen once per dataset (`outputFor`) from its
 * `output.format` by the rules in lib/backfill/model/output.ts: reference files (kerchunk JSON, or
 * kerchunk Parquet folders: an output per day, combined from its files' staged references, and
 * rollups built from the days')
 * or an Icechunk store (a commit per day, a tag per month and year). The day's steps, the rollups,
 * `backfillDirect` and the activities ask this object; none compares the format again.
 */
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { openStorage } from "../datasets/spec.js";
import { aggregatePeriod, type HeldInputs } from "./aggregate.js";
import { commitStagedDay, findStoreOutputs, tagStorePeriod } from "./commit.js";
import { outputRules, type AggregateSummary, type CommitSummary, type FoundOutputs, type OutputFormat, type OutputRules } from "./model/index.js";
import { childOutputKeys, findOutputs, periodOutputKeys, type Tries } from "./sources.js";

export interface DatasetOutput {
  readonly rules: OutputRules;
  /**
   * The day's output when it exists already. A store answers per year (`findOutputs`, before any
   * day starts), so a day of a store has none to look up here. Several URLs (in time order) for a
   * day split by drift.
   */
  dayOutput(day: string, options?: Tries): Promise<string[] | undefined>;
  /** Every output of a year's periods (days, months, the year), by one listing. */
  findOutputs(year: string, options?: Tries): Promise<FoundOutputs>;
  /**
   * A day's staged per-file references made into its output, exactly once (another run's output
   * stands: `existing`); the staging is removed after. With `rules.calendarOrder` only when every
   * earlier day is settled. `held`: the staged keys whose references the step holds in memory
   * (only where `rules.dayFromMemory`).
   */
  writeDay(day: string, staged: string[], options?: Tries & { held?: HeldInputs }): Promise<AggregateSummary | CommitSummary>;
  /** A month's or a year's output from its children's (a rollup file, or the store's tag). */
  rollup(period: string, children: string[], options?: Tries): Promise<AggregateSummary>;
}

/** Reference files, a JSON file or a Parquet folder per period (`aggregatePeriod` writes and reads either, by the rules' `files`). */
const referenceFiles = (spec: ResolvedDatasetSpec): Omit<DatasetOutput, "rules"> => ({
  async dayOutput(day, options = {}) {
    const storage = openStorage(spec.output.storage, options.tries);
    try {
      return (await periodOutputKeys(spec, storage, day))?.map((key) => storage.url(key));
    } finally {
      await storage.close();
    }
  },
  findOutputs: (year, options) => findOutputs(spec, year, options),
  writeDay: (day, staged, options = {}) => aggregatePeriod(spec, day, staged, { removeInputs: true, ...options }),
  rollup: async (period, children, options = {}) => aggregatePeriod(spec, period, await childOutputKeys(spec, period, children, options), { childOutputs: true, ...options }),
});

const outputs: Record<OutputFormat, (spec: ResolvedDatasetSpec) => Omit<DatasetOutput, "rules">> = {
  kerchunk: referenceFiles,
  parquet: referenceFiles,
  icechunk: (spec) => ({
    dayOutput: async () => undefined,
    findOutputs: (year) => findStoreOutputs(spec, year),
    writeDay: (day, staged) => commitStagedDay(spec, day, staged),
    rollup: (period, children) => tagStorePeriod(spec, period, children.length),
  }),
};

/** The output of `spec`'s dataset. */
export function outputFor(spec: ResolvedDatasetSpec): DatasetOutput {
  return { rules: outputRules(spec.output.format), ...outputs[spec.output.format](spec) };
}
