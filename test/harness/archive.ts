import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { DatasetSpec } from "../../lib/datasets/spec.js";
import { ManagedProcess, repositoryRoot } from "../../lib/servers/process.js";
import { s3, uniqueBucket, venvPython } from "./env.js";

const run = promisify(execFile);

export interface ArchiveOptions {
  hours?: number;
  grid?: [number, number];
  corrupt?: string[];
  skipDays?: string[];
  /** netCDF format of the files (python/make_archive.py --format); netCDF-4 by default. */
  format?: "NETCDF4" | "NETCDF3_CLASSIC" | "NETCDF3_64BIT_OFFSET" | "NETCDF3_64BIT_DATA";
  /** lat and lon without filters, contiguous (python/make_archive.py --plain-coordinates). */
  plainCoordinates?: boolean;
}

/** Write a Himawari-like archive with python/make_archive.py; returns the keys written. */
export async function makeArchive(dir: string, start: string, days: number, options: ArchiveOptions = {}): Promise<string[]> {
  const args = [resolve(repositoryRoot, "python/make_archive.py"), dir, start, String(days), "--hours", String(options.hours ?? 2)];
  if (options.grid) args.push("--grid", String(options.grid[0]), String(options.grid[1]));
  if (options.corrupt?.length) args.push("--corrupt", ...options.corrupt);
  if (options.skipDays?.length) args.push("--skip-days", ...options.skipDays);
  if (options.format) args.push("--format", options.format);
  if (options.plainCoordinates) args.push("--plain-coordinates");
  const { stdout } = await run(venvPython, args, { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as string[];
}

/** A change of layout at hour `at` ("YYYY-MM-DDTHH") for python/make_drift_archive.py (its docstring lists the parameters). */
export interface DriftChange {
  at: string;
  set: Record<string, unknown>;
}

/** Write a Himawari-like archive whose layout drifts (python/make_drift_archive.py); returns the keys written, in time order. */
export async function makeDriftArchive(dir: string, start: string, days: number, changes: DriftChange[], options: { hours?: number; grid?: [number, number] } = {}): Promise<string[]> {
  const args = [resolve(repositoryRoot, "python/make_drift_archive.py"), dir, start, String(days), "--hours", String(options.hours ?? 24), "--changes", JSON.stringify(changes)];
  if (options.grid) args.push("--grid", String(options.grid[0]), String(options.grid[1]));
  const { stdout } = await run(venvPython, args, { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as string[];
}

/** Upload an archive folder's keys to a new MinIO bucket; returns the bucket. */
export async function uploadArchive(dir: string, keys: string[], label: string): Promise<string> {
  const client = s3();
  const bucket = uniqueBucket(label);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(
      keys.slice(i, i + 16).map(async (Key) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: await readFile(join(dir, Key)) }))),
    );
  }
  client.destroy();
  return bucket;
}

/** A dataset spec over a test archive, in the shape of the Himawari preset. */
export function testDataset(name: string, source: DatasetSpec["source"]["storage"], output: DatasetSpec["output"]["storage"], aggregation: DatasetSpec["aggregation"] = "day"): DatasetSpec {
  return {
    name,
    source: { storage: source, root: "AHI-L2-FLDK-SST", template: "{year}/{month}/{day}/*/{year}{month}{day}*", extension: ".nc" },
    output: { storage: output, prefix: "refs", suffix: "" },
    refs: { inlineThreshold: 100 },
    combine: { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] },
    aggregation,
  };
}

export async function writeConfig(dir: string, datasets: DatasetSpec[]): Promise<string> {
  const path = join(dir, "datasets.json");
  await writeFile(path, JSON.stringify({ datasets }, null, 2));
  return path;
}

/**
 * `temporal-kerchunk worker` as a separate process, so a test can SIGKILL it like a crash; `args`
 * are more flags (TLS, metrics), `env` more environment (TEMPORAL_* settings).
 */
export async function startWorkerProcess(options: { address: string; taskQueue: string; config: string; logFile: string; args?: string[]; env?: NodeJS.ProcessEnv }): Promise<ManagedProcess> {
  const worker = new ManagedProcess(
    "worker",
    process.execPath,
    ["--import", "tsx", resolve(repositoryRoot, "cli/main.ts"), "worker", "--address", options.address, "--task-queue", options.taskQueue, "--config", options.config, ...(options.args ?? [])],
    options.logFile,
    { ...process.env, TK_LOG_LEVEL: "WARN", ...options.env },
  );
  await worker.start();
  return worker;
}
