import { ConfigError } from "../errors.js";
import { validateTemplate } from "../calendar/template.js";
import { LocalStorage } from "../storage/local.js";
import { S3Storage } from "../storage/s3.js";
import type { Storage } from "../storage/storage.js";
import type { S3ConnectionOptions } from "../source/s3Client.js";

/** Where a dataset's files are, or where its references go. No credentials: those stay in the environment. */
export type StorageSpec =
  | { kind: "s3"; bucket: string; prefix?: string; endpoint?: string; region?: string; anonymous?: boolean }
  | { kind: "local"; path: string };

export type AggregationLevel = "day" | "month" | "year";

export interface DatasetSpec {
  /** Identifier used in workflow ids, search attributes and the CLI: letters, digits, '-', '_', '.'. */
  name: string;
  description?: string;
  source: {
    storage: StorageSpec;
    /** Key prefix of the archive, e.g. "AHI-L2-FLDK-SST". */
    root: string;
    /** Calendar path under the root, e.g. "{year}/{month}/{day}/*\/{year}{month}{day}*" (tokens: year, month, day, hour, doy). */
    template: string;
    /** File name ending, e.g. ".nc". */
    extension: string;
  };
  output: {
    storage: StorageSpec;
    /** Folder (key prefix) inside the output storage: the seed's <dest>. */
    prefix?: string;
    /** Appended to the period name: <dest>/<root>/<YYYYMMDD><suffix>.json. */
    suffix?: string;
  };
  refs?: { inlineThreshold?: number };
  combine?: {
    concatDims?: string[];
    cooMap?: Record<string, string>;
    identicalDims?: string[];
  };
  /** "day": one reference file per day; "month"/"year": also monthly/yearly rollups built from days. */
  aggregation?: AggregationLevel;
}

/** A spec with every default filled in. */
export interface ResolvedDatasetSpec extends DatasetSpec {
  output: DatasetSpec["output"] & { prefix: string; suffix: string };
  refs: { inlineThreshold: number };
  combine: { concatDims: string[]; cooMap: Record<string, string>; identicalDims: string[] };
  aggregation: AggregationLevel;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function checkStorage(storage: unknown, setting: string): void {
  const s = storage as Partial<StorageSpec> | undefined;
  if (!s || typeof s !== "object") throw new ConfigError(setting, "missing (expected {kind: 's3', bucket} or {kind: 'local', path})");
  if (s.kind === "s3") {
    if (!s.bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket)) throw new ConfigError(`${setting}.bucket`, `'${s.bucket ?? ""}' is not an S3 bucket name`);
    for (const secret of ["accessKeyId", "secretAccessKey", "sessionToken", "credentials", "password"]) {
      if (secret in s) throw new ConfigError(`${setting}.${secret}`, "credentials do not belong in dataset settings: use the worker's AWS environment or profile");
    }
  } else if (s.kind === "local") {
    if (!s.path) throw new ConfigError(`${setting}.path`, "missing folder path");
  } else {
    throw new ConfigError(`${setting}.kind`, `expected 's3' or 'local', got '${String((s as { kind?: unknown }).kind)}'`);
  }
}

/** Check a spec and fill defaults; every error names the setting to fix. */
export function resolveDatasetSpec(spec: DatasetSpec): ResolvedDatasetSpec {
  const at = `datasets.${spec?.name ?? "?"}`;
  if (!spec?.name || !NAME.test(spec.name)) throw new ConfigError(`${at}.name`, `'${spec?.name ?? ""}' must be letters, digits, '.', '-' or '_'`);
  if (!spec.source) throw new ConfigError(`${at}.source`, "missing");
  checkStorage(spec.source.storage, `${at}.source.storage`);
  if (typeof spec.source.root !== "string") throw new ConfigError(`${at}.source.root`, "missing (use \"\" for the bucket root)");
  if (!spec.source.template) throw new ConfigError(`${at}.source.template`, "missing");
  validateTemplate(spec.source.template, `${at}.source.template`);
  if (!/\{day\}|\{doy\}/.test(spec.source.template)) {
    throw new ConfigError(`${at}.source.template`, `'${spec.source.template}' must contain {day} or {doy}: a day's files are found by it`);
  }
  if (typeof spec.source.extension !== "string") throw new ConfigError(`${at}.source.extension`, "missing (e.g. \".nc\")");
  if (!spec.output) throw new ConfigError(`${at}.output`, "missing");
  checkStorage(spec.output.storage, `${at}.output.storage`);
  const inlineThreshold = spec.refs?.inlineThreshold ?? 100;
  if (!Number.isInteger(inlineThreshold) || inlineThreshold < 0) throw new ConfigError(`${at}.refs.inlineThreshold`, "expected a whole number of bytes");
  const aggregation = spec.aggregation ?? "day";
  if (!["day", "month", "year"].includes(aggregation)) throw new ConfigError(`${at}.aggregation`, `expected day, month or year, got '${aggregation}'`);
  const concatDims = spec.combine?.concatDims ?? ["time"];
  if (concatDims.length === 0) throw new ConfigError(`${at}.combine.concatDims`, "needs at least one dimension");
  return {
    ...spec,
    output: { ...spec.output, prefix: spec.output.prefix ?? "", suffix: spec.output.suffix ?? "" },
    refs: { inlineThreshold },
    combine: {
      concatDims,
      cooMap: spec.combine?.cooMap ?? Object.fromEntries(concatDims.map((d) => [d, `data:${d}`])),
      identicalDims: spec.combine?.identicalDims ?? [],
    },
    aggregation,
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
