/**
 * The dataset the demo backfills: one of the user's (--config, --dataset), or the sample: a small
 * Himawari-like archive written under the work folder by python/make_archive.py.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { DatasetRegistry, loadDatasetRegistry } from "../lib/datasets/config.js";
import { himawari8Sst } from "../lib/datasets/presets.js";
import type { DatasetSpec } from "../lib/datasets/spec.js";
import { ConfigError } from "../lib/errors.js";
import { repositoryRoot } from "../lib/servers/process.js";
import type { Started } from "./demoStarted.js";

const run = promisify(execFile);

/** The venv's Python, which writes the sample and opens the outputs. */
export const python = resolve(repositoryRoot, ".venv/bin/python");

export interface DemoDataset {
  datasets: DatasetRegistry;
  spec: DatasetSpec;
}

/** The demo's dataset: the sample (undefined), or one of the user's (--config's only one, or --dataset's). */
export async function usersDataset(config: string | undefined, dataset: string | undefined): Promise<DemoDataset | undefined> {
  if (config === undefined && dataset === undefined) return undefined;
  const datasets = await loadDatasetRegistry(config ?? process.env.TK_CONFIG);
  if (dataset) return { datasets, spec: datasets.get(dataset) };
  const [only, ...others] = datasets.fromFile;
  if (only === undefined) throw new ConfigError("--config", `${config} defines no dataset`);
  if (others.length > 0) {
    throw new ConfigError("--config", `${config} defines ${datasets.fromFile.length} datasets: name one with --dataset (${datasets.fromFile.join(", ")})`);
  }
  return { datasets, spec: datasets.get(only) };
}

/**
 * Write the sample archive (`days` days of 24 hourly files from `start`) under `workDir`/archive
 * and name it as a dataset whose outputs go to `workDir`/refs (one Icechunk store with `icechunk`).
 */
export async function sampleDataset(workDir: string, start: string, days: number, icechunk: boolean, stopping: { started: Started; signal: AbortSignal }): Promise<DemoDataset> {
  const archive = resolve(workDir, "archive");
  console.log(`writing a Himawari-like archive: ${days} days x 24 hourly files under ${archive} ...`);
  // The signal kills it; named here so the interruption's line says what it stopped.
  const written = stopping.started.add(async () => undefined, "the archive writer");
  await run(python, [resolve(repositoryRoot, "python/make_archive.py"), archive, start, String(days), "--hours", "24", "--grid", "90", "180"], {
    maxBuffer: 64 * 1024 * 1024,
    signal: stopping.signal,
  });
  written();
  const spec: DatasetSpec = {
    ...himawari8Sst,
    name: "himawari8-sst-demo",
    description: "Himawari-like sample archive written by the demo",
    source: { ...himawari8Sst.source, storage: { kind: "local", path: archive } },
    output: { storage: { kind: "local", path: resolve(workDir, "refs") }, prefix: "", suffix: "", ...(icechunk ? { format: "icechunk" as const } : {}) },
  };
  return { datasets: new DatasetRegistry([spec]), spec };
}
