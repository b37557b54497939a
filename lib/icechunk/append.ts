/**
 * Writing one day into a writable session: metadata (`zarr.json`) for new or grown arrays, the
 * concat coordinate's values, and every chunk reference of the day's arrays along the concat
 * dimension, shifted to the day's place. Arrays without the concat dimension (lat, lon, crs) are
 * written by the first day and only checked afterwards: "as in the first file".
 *
 * Byte-range references become virtual references pinned to the source's version; inline
 * references (chunks below the inline threshold) are written into the store as they are, where
 * Icechunk keeps small chunks inside its manifests.
 */
import type { Store, VirtualChunkSpec } from "@earthmover/icechunk";
import { boundedAll } from "../concurrency.js";
import { structuredArray, structureDifference } from "../combine/drift.js";
import { inlineBytes } from "../model/chunkBytes.js";
import { chunkIndexAt, chunkManifestOf } from "../model/chunkManifest.js";
import type { ArrayReferences } from "../model/referenceSet.js";
import { parseZattrs, writeNumbers } from "../model/zarrMeta.js";
import { IcechunkError, UnsupportedFeatureError } from "../errors.js";
import { PyFloat, type PyJsonValue } from "../json/pyJson.js";
import type { DayReferences } from "./dayRefs.js";
import { lastModifiedOf, type SourceVersion } from "./sourceVersions.js";
import type { StoreState } from "./storeState.js";
import { chunkKey, inGroup, metadataKey, metadataText, numericOfV3, v2Spelling, v3ArrayMetadataOf, v3GroupMetadata, type V3ArrayMetadata } from "./zarrV3.js";

export interface AppendContext {
  store: string;
  day: string;
  coordinateChunk: number;
  /** Collects the keys of every chunk written (a rewrite removes the old chunks no new file wrote). */
  written?: Set<string>;
}

export interface AppendResult {
  virtualRefs: number;
  inlineChunks: number;
  /** Source URLs of the day's references along the concat dimension, in first-seen order. */
  files: string[];
}

/** How an array of the day takes part: the coordinate, along the concat dimension (at `axis`), or fixed. */
type Role = { kind: "coordinate" } | { kind: "along"; axis: number } | { kind: "fixed" };

interface DayArray {
  entry: ArrayReferences;
  meta: V3ArrayMetadata;
  role: Role;
}

export function dayArrays(day: DayReferences): DayArray[] {
  return [...day.references.arrays.values()].map((entry) => {
    const meta = v3ArrayMetadataOf(day.label, entry);
    const axis = meta.dimension_names?.indexOf(day.dim) ?? -1;
    const role: Role = entry.path === day.dim ? { kind: "coordinate" } : axis >= 0 ? { kind: "along", axis } : { kind: "fixed" };
    return { entry, meta, role };
  });
}

/** Every byte-range source URL in the day's references (the files whose versions are needed). */
export function referencedUrls(day: DayReferences): string[] {
  const urls = new Set<string>();
  for (const entry of day.references.arrays.values()) for (const ref of entry.chunkRefs) if (Array.isArray(ref)) urls.add(ref[0]);
  return [...urls];
}

/**
 * Why the day's array cannot join the era's array stored at `path` (undefined: one array holds
 * both): the combine's rule (`structureDifference`), so a store's eras split where reference-file
 * parts and the census's aggregates do. Both `zarr.json` are spelled alike (`v2Spelling`).
 */
export function eraDifference(stored: V3ArrayMetadata, day: V3ArrayMetadata, path: string, run: DayReferences, group: string): string | undefined {
  const settings = { concatDims: [run.dim], identicalDims: run.identicalDims };
  const difference = structureDifference(structuredArray(v2Spelling(path, stored), `the store's era '${group || "/"}'`, settings), structuredArray(v2Spelling(path, day), run.label, settings));
  // The detail without the CombineError's "<label>: variable <path>: " (the caller names both).
  return difference?.message.slice(`${difference.file}: ${difference.variable === undefined ? "" : `variable ${difference.variable}: `}`.length);
}

function checkCompatible(stored: V3ArrayMetadata, day: V3ArrayMetadata, path: string, run: DayReferences, context: AppendContext & { group?: string }): void {
  const found = eraDifference(stored, day, path, run, context.group ?? "");
  if (found) {
    throw new IcechunkError("mismatched-array", context.store, `${found}: the store holds every day as the first day was`, false, { day: context.day, variable: path });
  }
}

async function setJson(store: Store, key: string, text: string): Promise<void> {
  await store.set(key, Buffer.from(text, "utf8"));
}

/** The coordinate's chunks from the one holding `from` to the end, padded with the fill value. */
async function writeCoordinate(store: Store, path: string, meta: V3ArrayMetadata, values: readonly number[], from: number, written?: Set<string>): Promise<void> {
  const numeric = numericOfV3(meta)!;
  const chunk = meta.chunk_grid.configuration.chunk_shape[0]!;
  const fill = meta.fill_value instanceof PyFloat ? meta.fill_value.value : typeof meta.fill_value === "number" ? meta.fill_value : 0;
  for (let i = Math.floor(from / chunk); i * chunk < values.length; i++) {
    const part = values.slice(i * chunk, (i + 1) * chunk);
    while (part.length < chunk) part.push(fill);
    await store.set(chunkKey(path, [i]), Buffer.from(writeNumbers(part, numeric)));
    written?.add(chunkKey(path, [i]));
  }
}

/**
 * Write the day at `offset` (the era group's current length along the concat dimension). `values`
 * are the day's coordinate values in the group's units; `versions` pins each source URL.
 *
 * `context.group` is the era's group ("" for the root, the first era); `context.union` lets the
 * group's variables come and go (drift "split"): a variable the day lacks grows with the others
 * and gets no chunks (reads as its fill value), a variable the group lacks is created with the
 * group's length along the concat dimension and the day's chunks only. Without it (drift "fail"),
 * both fail the day as before.
 */
export async function appendDay(
  store: Store,
  day: DayReferences,
  state: StoreState,
  values: readonly number[],
  versions: ReadonlyMap<string, SourceVersion>,
  context: AppendContext & { group?: string; union?: boolean },
): Promise<AppendResult> {
  const group = context.group ?? "";
  const at = (path: string): string => inGroup(group, path);
  const arrays = dayArrays(day);
  const result: AppendResult = { virtualRefs: 0, inlineChunks: 0, files: [] };
  const files = new Set<string>();
  const offset = state.values.length;
  const steps = values.length;
  const fail = (problem: string, path: string, detail: string): never => {
    throw new IcechunkError(problem, context.store, detail, false, { day: context.day, variable: path });
  };
  /** The array's steps along the concat dimension must follow the coordinate's, on a chunk boundary. */
  const followOn = (path: string, length: number, chunkAlong: number): number => {
    if (length !== offset) fail("inconsistent-store", path, `has ${length} steps along ${day.dim} but the ${day.dim} coordinate has ${offset}`);
    if (length % chunkAlong !== 0) {
      fail("misaligned-chunks", path, `the store ends inside a chunk along ${day.dim} (${length} steps, chunk size ${chunkAlong}): the day's chunks cannot follow it`);
    }
    return length / chunkAlong;
  };

  if (state.empty) {
    // Groups first (the era group's attributes are the day's, i.e. its first file's).
    await setJson(store, at("zarr.json"), metadataText(v3GroupMetadata(parseZattrs(day.references.groups.get("")?.zattrs))));
    for (const sub of day.references.groups.values()) {
      if (sub.path !== "") await setJson(store, at(`${sub.path}/zarr.json`), metadataText(v3GroupMetadata(parseZattrs(sub.zattrs))));
    }
  } else {
    // Every array of the group along the concat dimension must get this day's steps, or it would
    // fall behind the coordinate: with the day's chunks, or (union) with none.
    for (const [path, stored] of state.arrays) {
      const axis = stored.dimension_names?.indexOf(day.dim) ?? -1;
      if (path === day.dim || axis < 0 || day.references.arrays.has(path)) continue;
      if (!context.union) fail("missing-variable", path, `the store has this variable along ${day.dim} but the day does not`);
      followOn(path, stored.shape[axis]!, stored.chunk_grid.configuration.chunk_shape[axis]!);
      await setJson(store, at(`${path}/zarr.json`), metadataText({ ...stored, shape: stored.shape.map((n, i) => (i === axis ? offset + steps : n)) }));
    }
  }

  for (const { entry, meta, role } of arrays) {
    const stored = state.arrays.get(entry.path);
    const path = at(entry.path);
    if (role.kind === "coordinate") {
      const coordinate: V3ArrayMetadata = stored ?? {
        ...meta,
        chunk_grid: { name: "regular", configuration: { chunk_shape: [context.coordinateChunk] } },
      };
      if (!numericOfV3(coordinate) || coordinate.shape.length !== 1 || coordinate.codecs.length !== 1) {
        fail("unsupported-coordinate", entry.path, `a store's ${day.dim} coordinate must be a raw numeric 1-d array (got ${metadataKey(meta.data_type as PyJsonValue)})`);
      }
      const all = [...state.values, ...values];
      await setJson(store, `${path}/zarr.json`, metadataText({ ...coordinate, shape: [all.length] }));
      await writeCoordinate(store, path, coordinate, all, offset, context.written);
      continue;
    }
    if (!state.empty && !stored && !context.union) {
      fail("new-variable", entry.path, "the day has a variable the store does not (the store's variables are the first day's)");
    }
    if (role.kind === "fixed") {
      if (stored) {
        checkCompatible(stored, meta, entry.path, day, context);
        continue; // written by the era's first day
      }
      await setJson(store, `${path}/zarr.json`, metadataText(meta));
      await writeChunks(store, entry, path, meta, undefined, 0, versions, result, context, undefined);
      continue;
    }
    const axis = role.axis;
    const chunkAlong = meta.chunk_grid.configuration.chunk_shape[axis]!;
    let shift = 0;
    if (stored) {
      checkCompatible(stored, meta, entry.path, day, context);
      shift = followOn(entry.path, stored.shape[axis]!, chunkAlong);
    } else if (!state.empty) {
      // A variable that appears: no chunks before this day (it reads as its fill value there).
      shift = followOn(entry.path, offset, chunkAlong);
    }
    const shape = meta.shape.map((n, i) => (i === axis ? offset + n : n));
    await setJson(store, `${path}/zarr.json`, metadataText({ ...(stored ?? meta), shape }));
    await writeChunks(store, entry, path, meta, files, shift, versions, result, context, axis);
  }
  result.files = [...files];
  return result;
}

async function writeChunks(
  store: Store,
  entry: ArrayReferences,
  /** The array's path in the store (inside its era's group). */
  path: string,
  meta: V3ArrayMetadata,
  /** Collects the source URLs of an array along the concat dimension (the day's files). */
  files: Set<string> | undefined,
  shift: number,
  versions: ReadonlyMap<string, SourceVersion>,
  result: AppendResult,
  context: AppendContext,
  axis: number | undefined,
): Promise<void> {
  const manifest = chunkManifestOf(entry, meta.shape.length);
  const virtual: VirtualChunkSpec[] = [];
  const inline: { key: string; bytes: Uint8Array }[] = [];
  for (let k = 0; k < manifest.count; k++) {
    const index = chunkIndexAt(manifest, k);
    if (axis !== undefined) index[axis] = index[axis]! + shift;
    const content = manifest.inline.get(k);
    context.written?.add(chunkKey(path, index));
    if (content !== undefined) {
      inline.push({ key: chunkKey(path, index), bytes: inlineBytes(content) });
      continue;
    }
    const location = manifest.paths[manifest.pathIds[k]!]!;
    const offset = manifest.offsets[k]!;
    const length = manifest.lengths[k]!;
    if (length < 0) throw new UnsupportedFeatureError(location, entry.path, "a whole-file reference (no offset and length) in an Icechunk store");
    const version = versions.get(location);
    if (!version) throw new IcechunkError("missing-source-version", context.store, `no ETag or modification time known for ${location}`, false, { day: context.day, variable: entry.path });
    virtual.push({ index, location, offset, length, ...("etag" in version ? { etagChecksum: version.etag } : { lastModified: lastModifiedOf(version.lastModified.getTime()) }) });
    files?.add(location);
  }
  if (virtual.length > 0) {
    const failed = await store.setVirtualRefs(path, virtual, true);
    if (failed && failed.length > 0) {
      const first = virtual.find((v) => v.index.join() === failed[0]!.join());
      throw new IcechunkError(
        "virtual-refs-rejected",
        context.store,
        `Icechunk rejected ${failed.length} of ${virtual.length} references (first: chunk [${failed[0]!.join(", ")}] → ${first?.location ?? "?"}); ` +
          `a reference outside the repository's virtual chunk container, or outside the array`,
        false,
        { day: context.day, variable: entry.path },
      );
    }
    result.virtualRefs += virtual.length;
  }
  await boundedAll(inline, 16, async ({ key, bytes }) => store.set(key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  result.inlineChunks += inline.length;
}
