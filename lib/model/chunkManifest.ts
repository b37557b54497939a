/**
 * An array's chunk references in compact form, for writers that place chunks by grid index (the
 * Icechunk writer): each chunk's grid index, and its reference as a path number (into a table of
 * distinct URLs), an offset and a length in typed arrays, or its inline content. Kerchunk's
 * `[url, offset, length]` lists cost an array and three values each; here a chunk costs a few
 * bytes, and every distinct URL is held once (VirtualiZarr's ChunkManifest keeps the same three
 * columns).
 */
import { UnsupportedFeatureError } from "../errors.js";
import type { ArrayReferences } from "./referenceSet.js";

export interface ChunkManifest {
  /** Dimensions of the grid (0 for a 0-d array: its one chunk has the index []). */
  rank: number;
  count: number;
  /** Chunk k's index along axis a is `indices[k * rank + a]`. */
  indices: Uint32Array;
  /** Distinct URLs of the byte-range references, in first-seen order. */
  paths: string[];
  /** Chunk k's URL is `paths[pathIds[k]]`; -1 for an inline chunk. */
  pathIds: Int32Array;
  offsets: Float64Array;
  /** -1 for a whole-file reference (`[url]`, no range). */
  lengths: Float64Array;
  /** Inline content (kerchunk's text: UTF-8, or "base64:..."), by chunk number. */
  inline: Map<number, string>;
}

/** The manifest of `array`'s chunks, in the set's key order; a key that is no chunk index of a `rank`-d grid is refused. */
export function chunkManifestOf(array: ArrayReferences, rank: number): ChunkManifest {
  const count = array.chunkKeys.length;
  const manifest: ChunkManifest = {
    rank,
    count,
    indices: new Uint32Array(count * rank),
    paths: [],
    pathIds: new Int32Array(count),
    offsets: new Float64Array(count),
    lengths: new Float64Array(count),
    inline: new Map(),
  };
  const pathIds = new Map<string, number>();
  const start = array.path.length + 1;
  for (let k = 0; k < count; k++) {
    const key = array.chunkKeys[k]!;
    if (rank > 0) {
      const index = key.slice(start).split(/[./]/).map(Number);
      if (index.length !== rank || index.some((i) => !Number.isInteger(i) || i < 0)) {
        throw new UnsupportedFeatureError(array.path, array.path, `chunk key '${key}' is not a chunk index of a ${rank}-d array`);
      }
      manifest.indices.set(index, k * rank);
    }
    const ref = array.chunkRefs[k]!;
    if (typeof ref === "string") {
      manifest.pathIds[k] = -1;
      manifest.inline.set(k, ref);
      continue;
    }
    let id = pathIds.get(ref[0]);
    if (id === undefined) {
      id = manifest.paths.push(ref[0]) - 1;
      pathIds.set(ref[0], id);
    }
    manifest.pathIds[k] = id;
    manifest.offsets[k] = ref.length === 3 ? ref[1] : 0;
    manifest.lengths[k] = ref.length === 3 ? ref[2] : -1;
  }
  return manifest;
}

/** Chunk k's grid index as a list. */
export function chunkIndexAt(manifest: ChunkManifest, k: number): number[] {
  return Array.from(manifest.indices.subarray(k * manifest.rank, (k + 1) * manifest.rank));
}
