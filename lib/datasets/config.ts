import { readFile } from "node:fs/promises";
import { isAbsolute, resolve, dirname } from "node:path";
import { ConfigError } from "../errors.js";
import { presets } from "./presets.js";
import { resolveDatasetSpec, type DatasetSpec, type ResolvedDatasetSpec } from "./spec.js";

/** The worker's dataset registry: presets, overridden or extended by the config file's datasets. */
export class DatasetRegistry {
  private readonly byName = new Map<string, ResolvedDatasetSpec>();

  constructor(specs: DatasetSpec[]) {
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

/**
 * Load datasets from a JSON config file ({"datasets": [...]}); relative local paths in it are
 * resolved against the file's folder. Presets come first, so a config entry of the same name
 * replaces the preset.
 */
export async function loadDatasetRegistry(configPath?: string): Promise<DatasetRegistry> {
  if (!configPath) return new DatasetRegistry(presets);
  let parsed: { datasets?: DatasetSpec[] };
  try {
    parsed = JSON.parse(await readFile(configPath, "utf8")) as { datasets?: DatasetSpec[] };
  } catch (error) {
    throw new ConfigError("config file", `${configPath}: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed.datasets)) throw new ConfigError("config file", `${configPath}: expected {"datasets": [...]}`);
  const base = dirname(resolve(configPath));
  const fromFile = parsed.datasets.map((spec) => withResolvedPaths(spec, base));
  const names = new Set(fromFile.map((s) => s.name));
  return new DatasetRegistry([...presets.filter((p) => !names.has(p.name)), ...fromFile]);
}

function withResolvedPaths(spec: DatasetSpec, base: string): DatasetSpec {
  const fix = <T extends DatasetSpec["source"]["storage"]>(storage: T): T =>
    storage?.kind === "local" && !isAbsolute(storage.path) ? { ...storage, path: resolve(base, storage.path) } : storage;
  return {
    ...spec,
    source: spec.source && { ...spec.source, storage: fix(spec.source.storage) },
    output: spec.output && { ...spec.output, storage: fix(spec.output.storage) },
  };
}
