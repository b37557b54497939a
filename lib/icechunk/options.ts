/**
 * What the Icechunk output needs to know about a dataset, and its tuning. `IcechunkDataset` is the
 * part of a dataset spec the store uses (a resolved `DatasetSpec` is one), so the library does not
 * depend on how the settings are spelled elsewhere.
 */
import { ConfigError } from "../errors.js";
import type { StorageSpec } from "../datasets/spec.js";

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
    cooMap?: Record<string, string>;
    identicalDims?: string[];
  };
}

export interface IcechunkOptions {
  /**
   * Chunks along the concat dimension per manifest file (Icechunk's manifest splitting). Without
   * splitting every commit rewrites the array's whole manifest; with it, only the last split.
   * Default 48 (two days of hourly steps of chunk size 1). 0 turns splitting off.
   */
  manifestSplitChunks?: number;
  /** Elements per chunk of the concat coordinate, which the store holds itself (default 4096). */
  coordinateChunk?: number;
  /** Branch the days are committed to (default "main"). */
  branch?: string;
  /** Commits tried when other writers keep moving the branch (default 20). */
  maxCommitAttempts?: number;
}

export interface ResolvedIcechunkOptions {
  manifestSplitChunks: number;
  coordinateChunk: number;
  branch: string;
  maxCommitAttempts: number;
}

const wholeNumber = (value: number, setting: string, minimum: number): number => {
  if (!Number.isInteger(value) || value < minimum) throw new ConfigError(setting, `expected a whole number ≥ ${minimum}, got ${value}`);
  return value;
};

export function resolveIcechunkOptions(options: IcechunkOptions = {}): ResolvedIcechunkOptions {
  const branch = options.branch ?? "main";
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(branch)) throw new ConfigError("icechunk.branch", `'${branch}' is not a branch name`);
  return {
    manifestSplitChunks: wholeNumber(options.manifestSplitChunks ?? 48, "icechunk.manifestSplitChunks", 0),
    coordinateChunk: wholeNumber(options.coordinateChunk ?? 4096, "icechunk.coordinateChunk", 1),
    branch,
    maxCommitAttempts: wholeNumber(options.maxCommitAttempts ?? 20, "icechunk.maxCommitAttempts", 1),
  };
}
