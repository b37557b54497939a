/**
 * What the Icechunk output needs to know about a dataset, and its tuning. `IcechunkDataset` is the
 * part of a dataset spec the store uses (a resolved `DatasetSpec` is one), so the library does not
 * depend on how the settings are spelled elsewhere.
 */
import type { CoordinateSelector } from "../datasets/combineSettings.js";
import type { DriftPolicy, StorageSpec } from "../datasets/spec.js";
import { object, optional, text, whole, type InputOf, type OutputOf } from "../settings/schema.js";

export interface IcechunkDataset {
  /** Names the dataset in commit messages. */
  name: string;
  source: {
    /** Where the files are: the store's virtual chunk container points here. */
    storage: StorageSpec;
    /** Key prefix of the archive; the repository is named after it. */
    root: string;
  };
  output: {
    /** Where the repository goes. */
    storage: StorageSpec;
    /** Folder (key prefix) inside the output storage. */
    prefix?: string;
  };
  combine?: {
    /** Exactly one dimension for a store (the one that grows): ["time"]. */
    concatDims?: string[];
    cooMap?: Record<string, CoordinateSelector>;
    identicalDims?: string[];
  };
  /**
   * A change one array cannot hold (issue 17): "split" (the default) starts a new era group,
   * "fail" fails the day ("mismatched-array") as before eras existed.
   */
  drift?: DriftPolicy;
}

/** The store's tuning, declared with the setting rules (defaults here, once). */
const icechunkSettings = {
  /**
   * Chunks along the concat dimension per manifest file (Icechunk's manifest splitting). Without
   * splitting every commit rewrites the array's whole manifest; with it, only the last split.
   * Two days of hourly steps of chunk size 1 by default. 0 turns splitting off.
   */
  manifestSplitChunks: optional(whole({ min: 0 }), 48),
  /** Elements per chunk of the concat coordinate, which the store holds itself. */
  coordinateChunk: optional(whole({ min: 1 }), 4096),
  /** Branch the days are committed to. */
  branch: optional(text({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/, expected: "a branch name" }), "main"),
  /** Commits tried when other writers keep moving the branch. */
  maxCommitAttempts: optional(whole({ min: 1 }), 20),
};

const icechunkOptions = object(icechunkSettings);

export type IcechunkOptions = InputOf<typeof icechunkSettings>;
export type ResolvedIcechunkOptions = OutputOf<typeof icechunkSettings>;

/** The options checked by their declaration, defaults filled in (other keys, such as a commit's own options, are not looked at). */
export function resolveIcechunkOptions(options: IcechunkOptions = {}): ResolvedIcechunkOptions {
  const given = options as Record<string, unknown>;
  return icechunkOptions.check(Object.fromEntries(Object.keys(icechunkSettings).map((key) => [key, given[key]])), "icechunk");
}
