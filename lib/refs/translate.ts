import type { ByteSource } from "../source/byteSource.js";
import { referenceUrl } from "../source/localFile.js";
import { Hdf5File } from "../hdf5/file.js";
import type { ChunkRef, Hdf5Dataset, Hdf5Group } from "../hdf5/model.js";
import { UnsupportedFeatureError } from "../errors.js";
import { CodecError, decodeChunk } from "../codecs/decode.js";
import { encodeChunk } from "../codecs/encode.js";
import { transferAttributes } from "./attributes.js";
import { readsAsStored, zarrCodecs, type ZarrCodecs } from "./codecs.js";
import { isDimensionScale, nameDimensions } from "./dimensions.js";
import { externalChunks } from "./external.js";
import { missingElementBytes, zarrFillValue } from "./fillValue.js";
import { inlineReference } from "../model/chunkBytes.js";
import { encodeVlenUtf8, fillChunk } from "./inline.js";
import { pyJson, type PyJsonValue } from "../json/pyJson.js";
import { cleanStringFields, stringFieldsToClean } from "./strings.js";
import type { KerchunkRefs, Reference } from "../model/kerchunkRefs.js";
import { compoundLayoutFilter, whyNoZarrDtype, zarrDtype } from "./zarrDtype.js";
import { chunkGrid, product, wholeArrayChunk } from "../shape.js";
import { all, later, runParse, type Parse } from "../hdf5/parse.js";

export interface TranslateOptions {
  /** Chunks smaller than this many bytes are stored inline (kerchunk's inline_threshold). */
  inlineThreshold?: number;
  /** The URL written into references; defaults to the source's (a local path as a file:// URL). */
  url?: string;
}

/** A variable (or a link) left out of the references, and why (kerchunk would only warn). */
export interface SkippedVariable {
  variable: string;
  reason: string;
}

/** Something translated differently from what the file asked for, or an attribute left out. */
export interface TranslateWarning {
  /** The object (group or dataset path) the warning is about. */
  path: string;
  message: string;
}

export interface TranslateResult {
  refs: KerchunkRefs;
  skipped: SkippedVariable[];
  warnings: TranslateWarning[];
  /** Per-variable chunk counts, for summaries. */
  chunkCount: number;
}

/** Zarr key of a node: its HDF5 path without the leading "/". */
const zarrPath = (path: string): string => path.replace(/^\//, "");

const keyFor = (path: string, name: string): string => (zarrPath(path) ? `${zarrPath(path)}/${name}` : name);

/**
 * Bytes of one variable's chunks we re-encode and inline because their stored bytes are not what
 * the variable's codecs declare (edge chunks stored unfiltered, strings whose stored bytes are not
 * their values). Beyond it, the variable is left out with the reason: references, not copies.
 */
const MAX_REWRITTEN_BYTES = 8 * 1024 * 1024;
/** Bytes of fixed-length string data read to find out whether their stored bytes are their values. */
const MAX_STRING_CHECK_BYTES = 64 * 1024 * 1024;

interface DatasetPlan {
  dataset: Hdf5Dataset;
  meta: Record<string, string>;
  references: { key: string; url: string; offset: number; length: number }[];
  inline: { key: string; bytes: Uint8Array }[];
}

/**
 * The equivalent of kerchunk's `SingleHdf5ToZarr(file, url, inline_threshold).translate()`, reading
 * only metadata (and chunks below the inline threshold) through `source`. What cannot be translated
 * faithfully costs only itself: a variable (or an external/user-defined link) is left out and listed
 * in `skipped`, an attribute or a dimension-scale problem is listed in `warnings`.
 */
export async function translateHdf5(source: ByteSource, options: TranslateOptions = {}): Promise<TranslateResult> {
  const inlineThreshold = options.inlineThreshold ?? 100;
  const url = options.url ?? referenceUrl(source.url);
  const file = await Hdf5File.open(source, { prefetchChunkIndexes: true });

  const objects = await file.objects();
  const pathByAddress = new Map<number, string>();
  for (const object of objects) if (!pathByAddress.has(object.address)) pathByAddress.set(object.address, object.path);

  const skipped: SkippedVariable[] = [];
  const warnings: TranslateWarning[] = [];
  for (const object of objects) {
    for (const { attribute, reason } of object.skippedAttributes) {
      warnings.push({ path: object.path, message: `attribute ${JSON.stringify(attribute ?? "")} omitted: ${reason}` });
    }
    if (object.kind === "unsupported") skipped.push({ variable: object.path, reason: object.reason });
    if (object.kind === "group") skipped.push(...unfollowedLinks(object));
  }
  const dimensions = nameDimensions(objects, (address) => pathByAddress.get(address));
  for (const { variable, message } of dimensions.warnings) warnings.push({ path: variable, message });

  const datasets = objects.filter((o): o is Hdf5Dataset => o.kind === "dataset");
  // Every dataset's chunk index is read side by side: one round trip per B-tree level for all,
  // and none when the indexes are held.
  const plans = await runParse(all(datasets.map((dataset) => planOrSkip(file, url, dataset, inlineThreshold, dimensions.names.get(dataset.path) ?? [], skipped))));

  const refs: Record<string, Reference> = {};
  let chunkCount = 0;
  const planByPath = new Map(plans.filter((p): p is DatasetPlan => p !== undefined).map((p) => [p.dataset.path, p]));
  for (const object of objects) {
    if (object.kind === "group") {
      refs[keyFor(object.path, ".zgroup")] = pyJson({ zarr_format: 2 });
      refs[keyFor(object.path, ".zattrs")] = pyJson(transferAttributes((object as Hdf5Group).attributes));
    } else if (object.kind === "dataset") {
      const plan = planByPath.get(object.path);
      if (!plan) continue;
      Object.assign(refs, plan.meta);
      for (const { key, bytes } of plan.inline) refs[key] = inlineReference(bytes);
      for (const { key, url: target, offset, length } of plan.references) refs[key] = [target, offset, length];
      chunkCount += plan.references.length + plan.inline.length;
    }
  }
  skipped.sort((a, b) => a.variable.localeCompare(b.variable));
  warnings.sort((a, b) => a.path.localeCompare(b.path));
  return { refs: { version: 1, refs }, skipped, warnings, chunkCount };
}

/** External and user-defined links of a group: never followed, so listed as left out. */
function unfollowedLinks(group: Hdf5Group): SkippedVariable[] {
  const base = group.path === "/" ? "" : group.path;
  const out: SkippedVariable[] = [];
  for (const link of group.links) {
    if (link.kind === "external") {
      out.push({ variable: `${base}/${link.name}`, reason: `external link to ${link.file}:${link.path} (not followed)` });
    } else if (link.kind === "user-defined") {
      out.push({ variable: `${base}/${link.name}`, reason: `user-defined link of type ${link.linkType} (not followed)` });
    }
  }
  return out;
}

/** True when a chunk reaches past the dataset's current extent on some axis (HDF5's "partial edge chunk"). */
function isPartialEdgeChunk(coords: number[], chunkShape: number[], shape: number[]): boolean {
  return shape.some((n, i) => (coords[i]! + 1) * chunkShape[i]! > n);
}

/** `planDataset`, or undefined with the variable listed in `skipped` when it uses a feature we do not translate. */
function* planOrSkip(file: Hdf5File, url: string, dataset: Hdf5Dataset, inlineThreshold: number, dims: string[], skipped: SkippedVariable[]): Parse<DatasetPlan | undefined> {
  try {
    return yield* planDataset(file, url, dataset, inlineThreshold, dims);
  } catch (error) {
    if (error instanceof UnsupportedFeatureError) {
      skipped.push({ variable: dataset.path, reason: error.feature });
      return undefined;
    }
    throw error;
  }
}

function* planDataset(file: Hdf5File, url: string, dataset: Hdf5Dataset, inlineThreshold: number, dims: string[]): Parse<DatasetPlan | undefined> {
  const { datatype, dataspace, layout } = dataset;
  const variable = dataset.path;
  const unsupported = (feature: string): never => {
    throw new UnsupportedFeatureError(url, variable, feature);
  };
  if (dataspace.kind === "null") return unsupported("null dataspace (no shape)");
  if (layout.kind === "virtual") return unsupported("virtual dataset layout (values mapped from other datasets)");
  const dtype = zarrDtype(datatype);
  if (dtype === undefined) return unsupported(whyNoZarrDtype(datatype));
  const shape = dataspace.shape;
  // Arrays made by loops rather than .map here: docs/benchmarks.md, "Deoptimizations".
  let chunkShape = layout.kind === "chunked" ? layout.chunkShape : wholeArrayChunk(shape);
  const zeros = shape.length <= 1 ? "0" : `0${".0".repeat(shape.length - 1)}`;
  const path = zarrPath(variable);

  const zattrs = (): string => pyJson({ _ARRAY_DIMENSIONS: dims, ...transferAttributes(dataset.attributes, datatype) });
  // A compound stored with padding, out of member order or with big-endian members reads as its
  // packed little-endian dtype through a first filter (applied last when decoding); the byte codecs
  // below, and the chunks we rewrite, stay in the stored layout.
  const layoutFilter = compoundLayoutFilter(datatype);
  const zarray = (fill: PyJsonValue, codecs: PyJsonValue[] | null): string => {
    const filters = [...(layoutFilter ? [layoutFilter] : []), ...(codecs ?? [])];
    return pyJson({
      shape,
      chunks: chunkShape,
      dtype,
      fill_value: fill,
      order: "C",
      filters: filters.length > 0 ? filters : null,
      dimension_separator: ".",
      compressor: null,
      zarr_format: 2,
    });
  };

  // Variable-length strings are embedded (kerchunk's default vlen_encode="embed").
  if (datatype.class === "vlen-string") {
    // Filtered chunks hold the heap pointers compressed: undone with the codecs they map to.
    const unfilter = (stored: Uint8Array, chunk: ChunkRef): Uint8Array => {
      const codecs = zarrCodecs(url, variable, dataset.filters, datatype.size, chunk.filterMask);
      try {
        return decodeChunk(stored.subarray(0, stored.length - codecs.trailingChecksumBytes), codecs.filters);
      } catch (error) {
        if (error instanceof CodecError) unsupported(`variable-length strings in chunks that do not decode here (${error.message})`);
        throw error;
      }
    };
    const values = yield* later(() => file.readVlenStrings(dataset, unfilter));
    return {
      dataset,
      meta: {
        [`${path}/.zarray`]: pyJson({
          shape,
          chunks: shape,
          dtype,
          fill_value: null,
          order: "C",
          filters: [{ id: "vlen-utf8" }],
          dimension_separator: ".",
          compressor: null,
          zarr_format: 2,
        }),
        [`${path}/.zattrs`]: zattrs(),
      },
      references: [],
      inline: [{ key: `${path}/${zeros}`, bytes: encodeVlenUtf8(values) }],
    };
  }

  // Fixed-length strings (the type, or compound members) whose stored bytes may hold more than
  // their values: chunks are checked and, where they change, cleaned and inlined (bounded).
  const stringFields = stringFieldsToClean(datatype);
  const cleanStrings = stringFields.length > 0;
  const clean = (bytes: Uint8Array): Uint8Array => (cleanStrings ? cleanStringFields(bytes, datatype.size, stringFields) : bytes);

  // Compact data lives in the object header: always inline it (kerchunk loses it above the threshold).
  if (layout.kind === "compact") {
    return {
      dataset,
      meta: { [`${path}/.zarray`]: zarray(null, null), [`${path}/.zattrs`]: zattrs() },
      references: [],
      inline: [{ key: `${path}/${zeros}`, bytes: clean(layout.data) }],
    };
  }

  // Data in external raw files (H5Pset_external): references into those files, never a fill.
  if (dataset.external.length > 0) {
    const external = externalChunks(url, dataset, shape);
    chunkShape = external.chunkShape;
    if (cleanStrings) unsupported(`fixed-length ${stringFields[0]!.padding} strings in external files`);
    return {
      dataset,
      meta: { [`${path}/.zarray`]: zarray(null, null), [`${path}/.zattrs`]: zattrs() },
      references: external.chunks.map((c) => ({ key: `${path}/${c.coords.join(".")}`, url: c.url, offset: c.offset, length: c.length })),
      inline: [],
    };
  }

  const chunksPerAxis = chunkGrid(shape, chunkShape);
  const expected = product(chunksPerAxis);
  // Hdf5File.chunks lists only chunks inside the current extent, as HDF5 does.
  const stored = yield* file.chunksParse(dataset);
  if (stored.length === 0 && isDimensionScale(dataset)) return undefined; // a netCDF dimension without data

  const elementSize = datatype.size;
  const codecsFor = (mask: number): ZarrCodecs =>
    layout.kind === "chunked" ? zarrCodecs(url, variable, dataset.filters, elementSize, mask) : { filters: [], trailingChecksumBytes: 0 };
  const declared = codecsFor(0);
  const edgeChunksUnfiltered = layout.kind === "chunked" && layout.dontFilterPartialBoundChunks && dataset.filters.length > 0;
  // How each stored chunk was really encoded: its filter mask, or no filter at all for the partial
  // edge chunks HDF5 stores unfiltered when the layout says so.
  const actualCodecs = (chunk: ChunkRef): ZarrCodecs =>
    edgeChunksUnfiltered && isPartialEdgeChunk(chunk.coords, chunkShape, shape)
      ? { filters: [], trailingChecksumBytes: 0 }
      : chunk.filterMask === 0
        ? declared
        : codecsFor(chunk.filterMask);

  let fill = zarrFillValue(dataset, stored.length < expected);
  // xarray cannot mask with a structured or raw-bytes fill value (it hashes it, and fails to open
  // the whole group): such arrays get their missing chunks as inline fill chunks instead (bounded).
  const missing = stored.length < expected && (typeof dtype !== "string" || dtype.startsWith("|V"))
    ? inlineMissingChunks(dataset, path, chunkShape, chunksPerAxis, stored, declared)
    : undefined;
  if (missing) fill = null;
  // A 0-d array never written (netCDF's crs): its one chunk is the fill value, inline and raw,
  // because VirtualiZarr refuses a 0-d array without a chunk.
  const fillBytes = shape.length === 0 && stored.length === 0 ? fillChunk(datatype, fill) : undefined;
  if (fillBytes) {
    return { dataset, meta: { [`${path}/.zarray`]: zarray(fill, null), [`${path}/.zattrs`]: zattrs() }, references: [], inline: [{ key: `${path}/${zeros}`, bytes: fillBytes }] };
  }

  const references: DatasetPlan["references"] = [];
  const inlineWanted: { key: string; chunk: ChunkRef; length: number }[] = [];
  const rewrite: RewriteCandidate[] = [];
  const rawChunkBytes = product(chunkShape) * elementSize;
  for (const chunk of stored) {
    const key = `${path}/${chunk.coords.join(".")}`;
    const codecs = actualCodecs(chunk);
    const unreadable = codecs === declared && !readsAsStored(declared, chunk.size - declared.trailingChecksumBytes, rawChunkBytes);
    if (codecs !== declared || cleanStrings || unreadable) {
      rewrite.push({ key, chunk, codecs, reencode: unreadable });
      continue;
    }
    const length = chunk.size - codecs.trailingChecksumBytes;
    if (length < inlineThreshold) inlineWanted.push({ key, chunk, length });
    else references.push({ key, url, offset: chunk.address, length });
  }
  // Small chunks' bytes at once when held (usually: read beside the metadata), else side by side.
  const inlineBytes = yield* all(inlineWanted.map(({ chunk, length }) => file.readChunkParse(chunk, length)));
  const inline = inlineWanted.map(({ key }, i) => ({ key, bytes: inlineBytes[i]! }));
  if (missing) inline.push(...missing);
  const rewritten = rewrite.length === 0 ? [] : yield* later(() => rewriteChunks(file, url, dataset, rewrite, declared, clean, cleanStrings));
  for (const { key, chunk, bytes } of rewritten) {
    if (bytes) inline.push({ key, bytes });
    else if (chunk.size - declared.trailingChecksumBytes < inlineThreshold) {
      inline.push({ key, bytes: yield* file.readChunkParse(chunk, chunk.size - declared.trailingChecksumBytes) });
    } else references.push({ key, url, offset: chunk.address, length: chunk.size - declared.trailingChecksumBytes });
  }
  return {
    dataset,
    meta: { [`${path}/.zarray`]: zarray(fill, declared.filters), [`${path}/.zattrs`]: zattrs() },
    references,
    inline,
  };
}

/** Chunk grids up to this many chunks are searched for missing chunks to inline. */
const MAX_GRID_FOR_INLINE_FILL = 1_000_000;

/**
 * Inline chunks of the fill element for every chunk never written, encoded with the declared
 * codecs, or undefined where that would exceed MAX_REWRITTEN_BYTES (or a codec cannot encode): the
 * fill_value then stands for them, which zarr reads right and xarray cannot open.
 */
function inlineMissingChunks(
  dataset: Hdf5Dataset,
  path: string,
  chunkShape: number[],
  chunksPerAxis: number[],
  stored: ChunkRef[],
  declared: ZarrCodecs,
): { key: string; bytes: Uint8Array }[] | undefined {
  const expected = product(chunksPerAxis);
  if (expected > MAX_GRID_FOR_INLINE_FILL) return undefined;
  const element = missingElementBytes(dataset);
  const count = product(chunkShape);
  const raw = new Uint8Array(count * element.length);
  for (let i = 0; i < count; i++) raw.set(element, i * element.length);
  let bytes: Uint8Array;
  try {
    bytes = encodeChunk(raw, declared.filters);
  } catch (error) {
    if (error instanceof CodecError) return undefined;
    throw error;
  }
  if (bytes.length * (expected - stored.length) > MAX_REWRITTEN_BYTES) return undefined;
  const present = new Set(stored.map((c) => c.coords.join(".")));
  const out: { key: string; bytes: Uint8Array }[] = [];
  const coords = chunksPerAxis.map(() => 0);
  for (let n = 0; n < expected; n++) {
    const leaf = chunksPerAxis.length === 0 ? "0" : coords.join(".");
    if (!present.has(leaf)) out.push({ key: `${path}/${leaf}`, bytes });
    for (let axis = coords.length - 1; axis >= 0; axis--) {
      if (++coords[axis]! < chunksPerAxis[axis]!) break;
      coords[axis] = 0;
    }
  }
  return out;
}

interface RewriteCandidate {
  key: string;
  chunk: ChunkRef;
  /** How the chunk was really encoded. */
  codecs: ZarrCodecs;
  /** Encoded as declared, but in a form the codec's reader cannot decode (LZF beyond 8:1). */
  reencode: boolean;
}

/**
 * Chunks whose stored bytes are not what the variable's declared codecs read (edge chunks stored
 * unfiltered, chunks an optional filter skipped, fixed-length strings whose stored bytes hold more
 * than their values): decoded as they were really written, cleaned, encoded with the declared
 * codecs and inlined (`bytes`). A chunk that needs nothing keeps its plain reference (no `bytes`).
 * Bounded: beyond MAX_REWRITTEN_BYTES (or a codec we cannot run) the variable is left out.
 */
async function rewriteChunks(
  file: Hdf5File,
  url: string,
  dataset: Hdf5Dataset,
  chunks: RewriteCandidate[],
  declared: ZarrCodecs,
  clean: (bytes: Uint8Array) => Uint8Array,
  cleanStrings: boolean,
): Promise<{ key: string; chunk: ChunkRef; bytes?: Uint8Array }[]> {
  if (chunks.length === 0) return [];
  const variable = dataset.path;
  const storedBytes = chunks.reduce((n, c) => n + c.chunk.size, 0);
  const limit = cleanStrings ? MAX_STRING_CHECK_BYTES : MAX_REWRITTEN_BYTES;
  const why = cleanStrings
    ? `fixed-length ${stringFieldsToClean(dataset.datatype)[0]?.padding ?? ""} strings whose stored bytes may hold more than their values`
    : chunks.every((c) => c.reencode)
      ? "chunks their codecs do not read as stored (LZF beyond 8:1, or a shuffle after a compressor handed partial elements)"
      : "chunks stored with other filters than the dataset declares (partial edge chunks left unfiltered, an optional filter skipped, LZF beyond 8:1, shuffle after a compressor)";
  if (storedBytes > limit) {
    throw new UnsupportedFeatureError(url, variable, `${why}: ${storedBytes} bytes would have to be read and re-encoded`);
  }
  const out: { key: string; chunk: ChunkRef; bytes?: Uint8Array }[] = [];
  let inlined = 0;
  for (const { key, chunk, codecs, reencode } of chunks) {
    const stored = await file.readChunk(chunk, chunk.size - codecs.trailingChecksumBytes);
    let bytes: Uint8Array;
    try {
      const raw = decodeChunk(stored, codecs.filters);
      const cleaned = clean(raw);
      if (cleaned === raw && codecs === declared && !reencode) {
        out.push({ key, chunk }); // already what h5py reads: keep the stored chunk
        continue;
      }
      bytes = encodeChunk(cleaned, declared.filters);
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      throw new UnsupportedFeatureError(url, variable, `${why}, and ${error.message}`);
    }
    out.push({ key, chunk, bytes });
    inlined += bytes.length;
    if (inlined > MAX_REWRITTEN_BYTES) {
      throw new UnsupportedFeatureError(url, variable, `${why}: more than ${MAX_REWRITTEN_BYTES} bytes would have to be inlined`);
    }
  }
  return out;
}
