/**
 * The reference model's centre: a reference set, what the translator makes of a file, what the
 * combine takes and gives, and what the writers write (kerchunk JSON, Parquet, Icechunk). Groups and
 * arrays by path; an array's metadata texts as read (typed and parsed once by `arrayMetadata`), its
 * chunk keys and references (compact by `chunkManifestOf`). Read from kerchunk JSON by
 * `readKerchunkJson` or `referenceSetOf`, from Parquet by `readKerchunkParquet`; written by
 * `serializeReferenceSet`.
 */
import type { KerchunkRefs, Reference } from "./kerchunkRefs.js";

/** One Zarr array of a reference set: its metadata texts and its chunk references. */
export interface ArrayReferences {
  /** Zarr path, e.g. "sea_surface_temperature" or "group/var". */
  path: string;
  zarray: string;
  zattrs: string | undefined;
  /**
   * Full chunk keys ("sst/0.1.2"; the leaf starts at `path.length + 1`) and their references, in the
   * input's key order. Parallel arrays of the input's own strings: indexing a month of inputs
   * allocates almost nothing per chunk.
   */
  chunkKeys: string[];
  chunkRefs: Reference[];
}

/** A group's metadata texts ("" is the root group). */
export interface GroupReferences {
  path: string;
  zgroup: string | undefined;
  zattrs: string | undefined;
}

/** A reference set split by array and group, so every later step looks keys up once. */
export interface ReferenceSet {
  /** Names the input in errors and summaries: its file or URL, or "input <n>". */
  label: string;
  arrays: Map<string, ArrayReferences>;
  groups: Map<string, GroupReferences>;
  /**
   * Bytes behind some of its byte-range references, read when they were made (a staged
   * extraction's coordinate chunks), by `rangeKey` (lib/model/chunkBytes.ts): the combine reads
   * them from here instead of the source.
   */
  knownBytes?: Map<string, Uint8Array>;
}

/** Metadata values are strings in kerchunk JSON; some writers store them as JSON objects. */
function metadataText(value: Reference | Record<string, unknown>): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Index one reference set in a single pass over its keys. Keys other than Zarr v2 metadata and
 * chunk keys (".zmetadata" from consolidation, say) are ignored: the combined set is not
 * consolidated.
 */
export function referenceSetOf(refs: KerchunkRefs, label: string): ReferenceSet {
  interface Pending {
    zarray?: string;
    zattrs?: string;
    zgroup?: string;
    keys: string[];
    refs: Reference[];
  }
  const byDir = new Map<string, Pending>();
  const entry = (dir: string): Pending => {
    let pending = byDir.get(dir);
    if (!pending) {
      pending = { keys: [], refs: [] };
      byDir.set(dir, pending);
    }
    return pending;
  };
  const all = refs.refs as Record<string, Reference | Record<string, unknown>>;
  // Keys of one array usually come together: reuse the last folder instead of slicing every key.
  let lastDir = "";
  let lastPending: Pending | undefined;
  for (const key of Object.keys(all)) {
    const slash = key.lastIndexOf("/");
    const value = all[key]!;
    if (key.charCodeAt(slash + 1) === 46 /* "." */) {
      const dir = slash < 0 ? "" : key.slice(0, slash);
      const leaf = key.slice(slash + 1);
      if (leaf === ".zarray") entry(dir).zarray = metadataText(value);
      else if (leaf === ".zattrs") entry(dir).zattrs = metadataText(value);
      else if (leaf === ".zgroup") entry(dir).zgroup = metadataText(value);
    } else if (slash >= 0) {
      let pending: Pending;
      if (lastPending && slash === lastDir.length && key.startsWith(lastDir)) {
        pending = lastPending;
      } else {
        lastDir = key.slice(0, slash);
        pending = lastPending = entry(lastDir);
      }
      pending.keys.push(key);
      pending.refs.push(value as Reference);
    }
  }
  const arrays = new Map<string, ArrayReferences>();
  const groups = new Map<string, GroupReferences>();
  for (const [dir, pending] of byDir) {
    if (pending.zarray !== undefined) {
      arrays.set(dir, { path: dir, zarray: pending.zarray, zattrs: pending.zattrs, chunkKeys: pending.keys, chunkRefs: pending.refs });
    } else if (pending.zgroup !== undefined || pending.zattrs !== undefined) {
      groups.set(dir, { path: dir, zgroup: pending.zgroup, zattrs: pending.zattrs });
    }
    // Chunk keys under a folder with no .zarray belong to no array: nothing can read them.
  }
  return { label, arrays, groups };
}
