/**
 * What a session of the store already holds, as far as appending a day needs it: each array's
 * `zarr.json`, and the concat coordinate's values (which the store keeps itself, uncompressed, so
 * ordering and "was this day committed?" are answered from the store alone).
 */
import type { Store } from "@earthmover/icechunk";
import { readNumbers } from "../model/zarrMeta.js";
import { IcechunkError } from "../errors.js";
import { chunkKey, inGroup, numericOfV3, parseMetadata, type V3ArrayMetadata, type V3GroupMetadata } from "./zarrV3.js";

export interface StoreState {
  /** No group yet (the root's, or an era's): the first day creates every array. */
  empty: boolean;
  /** Arrays by path inside the group (those the caller asked about, and every top-level array of the group). */
  arrays: Map<string, V3ArrayMetadata>;
  /** The concat coordinate's values, in the store's units (empty for an empty store). */
  values: number[];
}

const decoder = new TextDecoder();

async function readNode(store: Store, path: string): Promise<V3ArrayMetadata | V3GroupMetadata | undefined> {
  const bytes = await store.get(path ? `${path}/zarr.json` : "zarr.json");
  return bytes ? parseMetadata(decoder.decode(bytes)) : undefined;
}

/** What the group `group` holds ("" the root group: the first era; "era002", ...: later eras). */
export async function readStoreState(store: Store, description: string, dim: string, paths: readonly string[], group = ""): Promise<StoreState> {
  const at = (path: string): string => inGroup(group, path);
  const root = await readNode(store, group);
  if (!root) return { empty: true, arrays: new Map(), values: [] };
  const arrays = new Map<string, V3ArrayMetadata>();
  const topLevel = (await store.listDir(group)).filter((name) => name !== "zarr.json");
  for (const path of new Set([...paths, ...topLevel])) {
    const node = await readNode(store, at(path));
    if (node?.node_type === "array") arrays.set(path, node);
  }
  const coordinate = arrays.get(dim);
  if (!coordinate) {
    const where = group === "" ? "a root group" : `a group '${group}'`;
    throw new IcechunkError("not-our-store", description, `the store has ${where} but no '${dim}' coordinate array: it was not written by this tool (or for another concat dimension)`, false);
  }
  return { empty: false, arrays, values: await readCoordinate(store, description, at(dim), coordinate) };
}

/** Every value of the 1-d coordinate the store keeps (raw little-endian chunks, no compression). */
async function readCoordinate(store: Store, description: string, dim: string, meta: V3ArrayMetadata): Promise<number[]> {
  // `dim` is the coordinate's path in the store (inside its era's group).
  const numeric = numericOfV3(meta);
  const length = meta.shape[0] ?? 0;
  const chunk = meta.chunk_grid.configuration.chunk_shape[0] ?? 1;
  if (!numeric || meta.shape.length !== 1 || meta.codecs.length !== 1) {
    throw new IcechunkError("not-our-store", description, `the '${dim}' coordinate is not a raw numeric 1-d array as this tool writes it`, false, { variable: dim });
  }
  const chunks = Math.ceil(length / chunk);
  const parts = await Promise.all(
    Array.from({ length: chunks }, async (_, i) => {
      const bytes = await store.get(chunkKey(dim, [i]));
      const count = Math.min(chunk, length - i * chunk);
      if (!bytes || bytes.length < count * numeric.size) {
        throw new IcechunkError("corrupt-coordinate", description, `chunk ${i} of the '${dim}' coordinate is missing or short`, false, { variable: dim });
      }
      return readNumbers(bytes, numeric, count);
    }),
  );
  return parts.flat();
}
