import { ConfigError } from "../errors.js";
import { validateTemplate } from "../calendar/template.js";
import { checkCombineRules, combineSettings, type CoordinateSelector } from "./combineSettings.js";
import { concatDimension } from "./storeDimension.js";
import { LocalStorage } from "../storage/local.js";
import { S3Storage } from "../storage/s3.js";
import type { Storage } from "../storage/storage.js";
import type { S3ConnectionOptions } from "../source/s3Client.js";
import { fileNamePart, flag, object, oneOf, optional, relativePath, tagged, text, url, whole, type InputOf, type OutputOf } from "../settings/schema.js";

const credentialKeys = { keys: ["accessKeyId", "secretAccessKey", "sessionToken", "credentials", "password"], message: "credentials do not belong in dataset settings: use the worker's AWS environment or profile" };

/** Where a dataset's files are, or where its references go. No credentials: those stay in the environment. */
const storageSettings = tagged(
  "kind",
  {
    s3: object({
      bucket: text({ pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, expected: "an S3 bucket name" }),
      prefix: optional(relativePath()),
      endpoint: optional(url()),
      region: optional(text()),
      anonymous: optional(flag()),
    }),
    /** `path`: a folder (relative paths in a config file are resolved against the file's folder). */
    local: object({ path: text({ nonEmpty: true, expected: "a folder path", missing: "missing folder path" }) }),
  },
  { missing: "missing (expected {kind: 's3', bucket} or {kind: 'local', path})", forbidden: credentialKeys },
);

export const aggregationLevels = ["day", "month", "year"] as const;
export const outputFormats = ["kerchunk", "parquet", "icechunk"] as const;
export const driftPolicies = ["split", "fail"] as const;
/** What a drifting archive gets when its dataset says nothing (`drift`). */
const DEFAULT_DRIFT = "split";

/**
 * Every dataset setting, its rule and its default, in one place. A key not listed here is rejected
 * (with the nearest known name); a setting is added with one line here.
 */
export const datasetSettings = object({
  /** Identifier used in workflow ids, search attributes and the CLI. */
  name: text({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, expected: "letters, digits, '.', '-' or '_' (at most 100)" }),
  description: optional(text()),
  source: object({
    storage: storageSettings,
    /** Key prefix of the archive, e.g. "AHI-L2-FLDK-SST". */
    root: relativePath({ missing: 'missing (use "" for the bucket root)' }),
    /** Calendar path under the root, e.g. "{year}/{month}/{day}/*\/{year}{month}{day}*" (tokens: year, month, day, hour, doy). */
    template: relativePath({ nonEmpty: true }),
    /** File name ending, e.g. ".nc". */
    extension: fileNamePart({ missing: 'missing (e.g. ".nc")' }),
  }),
  output: object({
    storage: storageSettings,
    /** Folder (key prefix) inside the output storage: the seed's <dest>. */
    prefix: optional(relativePath(), ""),
    /** Appended to the period name: <dest>/<root>/<YYYYMMDD><suffix>.json. */
    suffix: optional(fileNamePart(), ""),
    /**
     * "kerchunk": a reference file per day (and rollups); "parquet": the same in kerchunk's Parquet
     * layout, a folder <YYYYMMDD><suffix>.parq/ per period; "icechunk": one Icechunk repository,
     * <dest>/<root>.icechunk, a commit per day in calendar order, a tag per completed month and year.
     */
    format: optional(oneOf(outputFormats), "kerchunk"),
  }),
  refs: optional(object({ inlineThreshold: optional(whole({ min: 0 }), 100) }), {}),
  /** The combine's settings (lib/datasets/combineSettings.ts); concatDims defaults to ["time"] here. */
  combine: optional(
    object({
      concatDims: optional(combineSettings.concatDims, ["time"]),
      cooMap: combineSettings.cooMap,
      identicalDims: combineSettings.identicalDims,
    }),
    {},
  ),
  /** "day": one reference file per day; "month"/"year": also monthly/yearly rollups built from days. */
  aggregation: optional(oneOf(aggregationLevels), "day"),
  /**
   * A change one aggregate cannot hold (packing, dtype, chunk shape, codecs, fill value, units,
   * calendar: issue 17). "split" (default): aggregates never cross it, one output per era
   * (reference files: `<period>.era001of002.json`, ...; variables that appear or disappear are held
   * as a union; an Icechunk store starts a group per era); "fail": the aggregate (the store's day) fails, as before.
   */
  drift: optional(oneOf(driftPolicies), DEFAULT_DRIFT),
});

/** A dataset as a user writes it (config file, plugin options): optional settings may be left out. */
export type DatasetSpec = InputOf<typeof datasetSettings.shape>;
export type StorageSpec = typeof storageSettings.inputType;
export type AggregationLevel = (typeof aggregationLevels)[number];
export type OutputFormat = (typeof outputFormats)[number];
export type DriftPolicy = (typeof driftPolicies)[number];

/** Whether `drift` (a dataset's setting, or a library caller's option left out) splits at a drift: "split", the default, does. */
export const splitsAtDrift = (drift: DriftPolicy | undefined): boolean => (drift ?? DEFAULT_DRIFT) === "split";

/** A spec with every default filled in. */
export type ResolvedDatasetSpec = OutputOf<typeof datasetSettings.shape> & {
  combine: { cooMap: Record<string, CoordinateSelector> };
};

/**
 * Check a spec and fill defaults; every error names the setting to fix (`datasets.<name>.<path>`).
 * Unknown keys are errors at every level. `at` overrides the location prefix (e.g. an index in a
 * config file when the name itself is unusable).
 */
export function resolveDatasetSpec(spec: DatasetSpec, at?: string): ResolvedDatasetSpec {
  const raw = spec as unknown;
  const name = raw !== null && typeof raw === "object" ? (raw as { name?: unknown }).name : undefined;
  const where = at ?? `datasets.${typeof name === "string" && name ? name : "?"}`;
  const checked = datasetSettings.check(raw, where);
  const template = checked.source.template;
  validateTemplate(template, `${where}.source.template`);
  if (!/\{day\}|\{doy\}/.test(template)) {
    throw new ConfigError(`${where}.source.template`, `'${template}' must contain {day} or {doy}: a day's files are found by it`);
  }
  const concatDims = checked.combine.concatDims;
  if (checked.output.format === "icechunk") {
    // A store is one dataset growing along one dimension: rollup files make no sense for it.
    if (checked.aggregation !== "day") {
      throw new ConfigError(`${where}.aggregation`, `'${checked.aggregation}' with output.format "icechunk": a store is one dataset with a commit per day and a tag per month and year; use "day" (the default)`);
    }
    concatDimension({ name: checked.name, combine: checked.combine }, where);
  }
  return {
    ...checked,
    combine: { ...checked.combine, cooMap: checkCombineRules(checked.combine, `${where}.combine`) },
  };
}

/** How to reach an S3 storage spec (credentials come from the environment, never from here). */
export function s3ConnectionOf(spec: Extract<StorageSpec, { kind: "s3" }>): S3ConnectionOptions {
  return {
    ...(spec.anonymous ? { anonymous: true } : {}),
    ...(spec.endpoint ? { endpoint: spec.endpoint } : {}),
    ...(spec.region ? { region: spec.region } : {}),
  };
}

/** Open a storage spec (credentials come from the environment); `tries` bounds the SDK's attempts per request. */
export function openStorage(spec: StorageSpec, tries?: number): Storage {
  if (spec.kind === "local") return new LocalStorage(spec.path);
  return new S3Storage(spec.bucket, spec.prefix ?? "", { ...s3ConnectionOf(spec), ...(tries ? { maxAttempts: tries } : {}) });
}
