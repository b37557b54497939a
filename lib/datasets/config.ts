import { readFile } from "node:fs/promises";
import { isAbsolute, resolve, dirname } from "node:path";
import { ConfigError } from "../errors.js";
import { presets } from "./presets.js";
import { list, object, plainObject } from "../settings/schema.js";
import { resolveDatasetSpec, type DatasetSpec, type ResolvedDatasetSpec } from "./spec.js";

/** The worker's dataset registry: presets, overridden or extended by the config file's datasets. */
export class DatasetRegistry {
  private readonly byName = new Map<string, ResolvedDatasetSpec>();

  /**
   * @param fromFile the names of the datasets a config file defined (the rest are presets), so a
   * command can tell the user's datasets from the built-in ones
   */
  constructor(
    specs: DatasetSpec[],
    readonly fromFile: readonly string[] = [],
  ) {
    for (const spec of specs) this.byName.set(spec.name, resolveDatasetSpec(spec));
  }

  get(name: string): ResolvedDatasetSpec {
    const spec = this.byName.get(name);
    if (!spec) {
      throw new ConfigError("dataset", `unknown dataset '${name}' (this worker knows: ${[...this.byName.keys()].sort().join(", ") || "none"})`);
    }
    return spec;
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}

/** The config file's top level. Each dataset is checked by `resolveDatasetSpec`, where its rules live. */
const configFileSettings = object({ datasets: list(plainObject()) });

/** The config file named in an error about one of its settings, so the user knows where to look. */
function inFile(error: unknown, configPath: string): unknown {
  if (!(error instanceof ConfigError)) return error;
  const detail = error.message.slice(`invalid ${error.setting}: `.length);
  return new ConfigError(error.setting, `${detail} (in ${configPath})`);
}

/**
 * Load datasets from a JSON config file ({"datasets": [...]}); relative local paths in it are
 * resolved against the file's folder. Presets come first, so a config entry of the same name
 * replaces the preset. Any key the settings do not know is an error, at every level.
 */
export async function loadDatasetRegistry(configPath?: string): Promise<DatasetRegistry> {
  if (!configPath) return new DatasetRegistry(presets);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(configPath, "utf8"));
  } catch (error) {
    throw new ConfigError("config file", `${configPath}: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError("config file", `${configPath}: expected {"datasets": [...]}`);
  }
  try {
    const { datasets } = configFileSettings.check(parsed, "");
    const base = dirname(resolve(configPath));
    const fromFile = datasets.map((entry, index) => {
      const name = typeof entry.name === "string" && entry.name ? entry.name : `[${index}]`;
      return resolveDatasetSpec(withResolvedPaths(entry, base) as DatasetSpec, `datasets.${name}`);
    });
    const names = new Set<string>();
    for (const spec of fromFile) {
      if (names.has(spec.name)) throw new ConfigError(`datasets.${spec.name}`, "defined twice");
      names.add(spec.name);
    }
    return new DatasetRegistry([...presets.filter((p) => !names.has(p.name)), ...fromFile], [...names]);
  } catch (error) {
    throw inFile(error, configPath);
  }
}

/** Relative `path`s of local storages made absolute against the config file's folder (before checking). */
function withResolvedPaths(entry: Record<string, unknown>, base: string): Record<string, unknown> {
  const fixStorage = (storage: unknown): unknown => {
    if (storage === null || typeof storage !== "object") return storage;
    const { kind, path } = storage as { kind?: unknown; path?: unknown };
    return kind === "local" && typeof path === "string" && path !== "" && !isAbsolute(path) ? { ...storage, path: resolve(base, path) } : storage;
  };
  const fixPart = (part: unknown): unknown =>
    part !== null && typeof part === "object" && "storage" in part ? { ...part, storage: fixStorage((part as { storage: unknown }).storage) } : part;
  return { ...entry, ...("source" in entry ? { source: fixPart(entry.source) } : {}), ...("output" in entry ? { output: fixPart(entry.output) } : {}) };
}
