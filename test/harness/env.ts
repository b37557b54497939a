import { S3Client } from "@aws-sdk/client-s3";
import { mkdtemp } from "node:fs/promises";
import { join, resolve } from "node:path";
import { repositoryRoot } from "../../lib/servers/process.js";

/** Values the harness (test/run.ts) puts in the environment; a clear error when run without it. */
function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests through 'npm test' (or 'npx tsx test/run.ts <file>')`);
  return value;
}

export const temporalAddress = (): string => required("TK_TEST_TEMPORAL_ADDRESS");

/** A fresh folder under the run's work dir for one test's files. */
export async function testDir(label: string): Promise<string> {
  return mkdtemp(join(required("TK_TEST_WORK_DIR"), `${label}-`));
}

/** The project's Python venv (kerchunk, xarray, h5py, netCDF4): the reference implementation. */
export const venvPython: string = resolve(repositoryRoot, ".venv/bin/python");

/** An S3 client for the run's MinIO, configured only from the standard AWS environment variables. */
export function s3(): S3Client {
  required("AWS_ENDPOINT_URL");
  return new S3Client({ forcePathStyle: true });
}

/** A bucket name unique to one test. */
export const uniqueBucket = (label: string): string =>
  `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
