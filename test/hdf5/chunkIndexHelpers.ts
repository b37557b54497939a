/**
 * Test-only helpers for the chunk index tests: generate (and cache) the h5py fixtures and their
 * oracle, in-memory and slow byte sources, and the chunk index input of a dataset parsed by the
 * project's own Hdf5File.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chunkIndexInput as buildChunkIndexInput, type ChunkIndexInput } from "../../lib/hdf5/chunkIndex/index.js";
import { Hdf5Context } from "../../lib/hdf5/context.js";
import type { Hdf5File } from "../../lib/hdf5/file.js";
import type { ChunkIndexDescriptor, Hdf5Dataset } from "../../lib/hdf5/model.js";
import type { ByteSource } from "../../lib/source/byteSource.js";

const here = dirname(fileURLToPath(import.meta.url));
export const repositoryRoot = resolve(here, "../..");
const script = join(repositoryRoot, "test/fixtures/python/h5_chunk_index_fixtures.py");
const python = join(repositoryRoot, ".venv/bin/python");

/** One oracle chunk: [coords, address (null when libhdf5's iterate is not trusted), size, filter mask, sha1 | null]. */
export type OracleChunk = [number[], number | null, number, number, string | null];

export interface OracleDataset {
  path: string;
  objectAddress: number;
  shape: number[];
  maxShape: (number | null)[];
  chunkShape: number[];
  elementSize: number;
  filtered: boolean;
  indexType: ChunkIndexDescriptor["type"];
  iterTrusted: boolean;
  chunks: OracleChunk[];
}

export interface Oracle {
  h5py: string;
  hdf5: string;
  files: Record<string, OracleDataset[]>;
}

/**
 * The fixture directory, generated on first use and cached under .work/ keyed by the script's
 * content (generation takes ~10 s: a few datasets have 100,000+ chunks).
 */
export function fixtures(): { dir: string; oracle: Oracle } {
  const key = createHash("sha1").update(readFileSync(script)).digest("hex").slice(0, 12);
  const dir = join(repositoryRoot, ".work/fixtures", `h5-chunk-index-${key}`);
  if (!existsSync(join(dir, "oracle.json"))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const run = spawnSync(python, [script, tmp], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`fixture script failed (${run.status}): ${run.stderr}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  return { dir, oracle: JSON.parse(readFileSync(join(dir, "oracle.json"), "utf8")) as Oracle };
}

export { MemorySource } from "../../lib/source/memory.js";

/** A context for h5py's default files: 8-byte offsets and lengths, base address 0. */
export function contextFor(source: ByteSource, fileSize: number): Hdf5Context {
  return new Hdf5Context(source, fileSize, 8, 8, 0);
}

/** Every dataset of an HDF5 file by path, through the project's own reader. */
export async function datasetsOf(file: Hdf5File): Promise<Map<string, Hdf5Dataset>> {
  const out = new Map<string, Hdf5Dataset>();
  for (const obj of await file.objects()) if (obj.kind === "dataset") out.set(obj.path, obj);
  return out;
}

/** The chunk index input Hdf5File.chunks would build for a chunked dataset. */
export function chunkIndexInput(dataset: Hdf5Dataset): ChunkIndexInput {
  const layout = dataset.layout;
  if (layout.kind !== "chunked") throw new Error(`${dataset.path} is not chunked`);
  return buildChunkIndexInput(dataset, layout);
}
