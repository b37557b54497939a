import type { ByteSource } from "../source/byteSource.js";
import { referenceUrl } from "../source/localFile.js";
import { Hdf5File } from "../hdf5/file.js";
import type { ChunkRef, Hdf5Dataset, Hdf5Group, Hdf5Object } from "../hdf5/model.js";
import { UnsupportedFeatureError } from "../errors.js";
import { transferAttributes } from "./attributes.js";
import { zarrCodecs } from "./codecs.js";
import { arrayDimensions, isDimensionScale } from "./dimensions.js";
import { zarrFillValue } from "./fillValue.js";
import { encodeVlenUtf8, fillChunk, inlineReference } from "./inline.js";
import { pyJson, type PyJsonValue } from "./pyJson.js";
import type { KerchunkRefs, Reference } from "./types.js";
import { zarrDtype } from "./zarrDtype.js";

export interface TranslateOptions {
  /** Chunks smaller than this many bytes are stored inline (kerchunk's inline_threshold). */
  inlineThreshold?: number;
  /** The URL written into references; defaults to the source's (a local path as a file:// URL). */
  url?: string;
}

/** A variable left out of the references, and why (kerchunk would only warn). */
export interface SkippedVariable {
  variable: string;
  reason: string;
}

export interface TranslateResult {
  refs: KerchunkRefs;
  skipped: SkippedVariable[];
  /** Per-variable chunk counts, for summaries. */
  chunkCount: number;
}

/** Zarr key of a node: its HDF5 path without the leading "/". */
const zarrPath = (path: string): string => path.replace(/^\//, "");

const keyFor = (path: string, name: string): string => (zarrPath(path) ? `${zarrPath(path)}/${name}` : name);

interface DatasetPlan {
  dataset: Hdf5Dataset;
  meta: Record<string, string>;
  chunks: { key: string; chunk: ChunkRef; length: number }[];
  inline: { key: string; bytes: Uint8Array }[];
}

/**
 * The equivalent of kerchunk's `SingleHdf5ToZarr(file, url, inline_threshold).translate()`, reading
 * only metadata (and chunks below the inline threshold) through `source`.
 */
export async function translateHdf5(source: ByteSource, options: TranslateOptions = {}): Promise<TranslateResult> {
  const inlineThreshold = options.inlineThreshold ?? 100;
  const url = options.url ?? referenceUrl(source.url);
  const file = await Hdf5File.open(source, { prefetchChunkIndexes: true });

  const objects: Hdf5Object[] = [];
  for await (const object of file.walk()) objects.push(object);
  const pathByAddress = new Map<number, string>();
  for (const object of objects) if (!pathByAddress.has(object.address)) pathByAddress.set(object.address, object.path);

  const skipped: SkippedVariable[] = [];
  const datasets = objects.filter((o): o is Hdf5Dataset => o.kind === "dataset");
  // Every dataset's chunk index is read concurrently: one round trip per B-tree level for all.
  const plans = await Promise.all(
    datasets.map(async (dataset) => {
      try {
        return await planDataset(file, url, dataset, inlineThreshold, (address) => pathByAddress.get(address));
      } catch (error) {
        if (error instanceof UnsupportedFeatureError) {
          skipped.push({ variable: dataset.path, reason: error.feature });
          return undefined;
        }
        throw error;
      }
    }),
  );

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
      for (const { key, chunk, length } of plan.chunks) refs[key] = [url, chunk.address, length];
      chunkCount += plan.chunks.length + plan.inline.length;
    }
  }
  skipped.sort((a, b) => a.variable.localeCompare(b.variable));
  return { refs: { version: 1, refs }, skipped, chunkCount };
}

async function planDataset(
  file: Hdf5File,
  url: string,
  dataset: Hdf5Dataset,
  inlineThreshold: number,
  pathOf: (address: number) => string | undefined,
): Promise<DatasetPlan | undefined> {
  const { datatype, dataspace, layout } = dataset;
  const variable = dataset.path;
  if (dataspace.kind === "null") throw new UnsupportedFeatureError(url, variable, "null dataspace (no shape)");
  const dtype = zarrDtype(datatype);
  if (dtype === undefined) throw new UnsupportedFeatureError(url, variable, `datatype class ${datatype.class}`);
  const shape = dataspace.shape;
  const chunkShape = layout.kind === "chunked" ? layout.chunkShape : shape;
  const zeros = (shape.length === 0 ? [0] : shape.map(() => 0)).join(".");
  const path = zarrPath(variable);
  const dims = arrayDimensions(url, dataset, pathOf);

  const zattrs = (): string => pyJson({ _ARRAY_DIMENSIONS: dims, ...transferAttributes(dataset.attributes, datatype) });
  const zarray = (fill: PyJsonValue, filters: PyJsonValue[] | null): string =>
    pyJson({
      shape,
      chunks: chunkShape,
      dtype,
      fill_value: fill,
      order: "C",
      filters: filters && filters.length > 0 ? filters : null,
      dimension_separator: ".",
      compressor: null,
      zarr_format: 2,
    });

  // Variable-length strings are embedded (kerchunk's default vlen_encode="embed").
  if (datatype.class === "vlen-string") {
    const values = await file.readVlenStrings(dataset);
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
      chunks: [],
      inline: [{ key: `${path}/${zeros}`, bytes: encodeVlenUtf8(values) }],
    };
  }

  // Compact data lives in the object header: always inline it (kerchunk loses it above the threshold).
  if (layout.kind === "compact") {
    return {
      dataset,
      meta: { [`${path}/.zarray`]: zarray(null, null), [`${path}/.zattrs`]: zattrs() },
      chunks: [],
      inline: [{ key: `${path}/${zeros}`, bytes: layout.data }],
    };
  }

  const stored = await file.chunks(dataset);
  if (stored.length === 0 && isDimensionScale(dataset)) return undefined; // a netCDF dimension without data
  const filterMasks = new Set(stored.map((c) => c.filterMask));
  if (filterMasks.size > 1) {
    throw new UnsupportedFeatureError(url, variable, "chunks with different filter masks (some stored unfiltered)");
  }
  const filterMask = stored[0]?.filterMask ?? 0;
  const codecs = layout.kind === "chunked" ? zarrCodecs(url, variable, dataset.filters, datatype.size, filterMask) : { filters: [], trailingChecksumBytes: 0 };

  const chunksPerAxis = shape.map((n, i) => Math.ceil(n / (chunkShape[i] || 1)));
  const expected = chunksPerAxis.reduce((a, b) => a * b, 1);
  const fill = zarrFillValue(dataset, stored.length < expected);
  // A 0-d array never written (netCDF's crs): its one chunk is the fill value, inline and raw,
  // because VirtualiZarr refuses a 0-d array without a chunk.
  const fillBytes = shape.length === 0 && stored.length === 0 ? fillChunk(datatype, fill) : undefined;
  if (fillBytes) {
    return { dataset, meta: { [`${path}/.zarray`]: zarray(fill, null), [`${path}/.zattrs`]: zattrs() }, chunks: [], inline: [{ key: `${path}/${zeros}`, bytes: fillBytes }] };
  }

  const chunks: DatasetPlan["chunks"] = [];
  const inlineWanted: { key: string; chunk: ChunkRef; length: number }[] = [];
  for (const chunk of stored) {
    const key = `${path}/${chunk.coords.join(".")}`;
    const length = chunk.size - codecs.trailingChecksumBytes;
    if (length < inlineThreshold) inlineWanted.push({ key, chunk, length });
    else chunks.push({ key, chunk, length });
  }
  const inline = await Promise.all(
    inlineWanted.map(async ({ key, chunk, length }) => ({
      key,
      // ChunkRef addresses are absolute file offsets (Hdf5File.chunks adds the base address).
      bytes: await file.context.source.read(chunk.address, length),
    })),
  );
  return {
    dataset,
    meta: { [`${path}/.zarray`]: zarray(fill, codecs.filters), [`${path}/.zattrs`]: zattrs() },
    chunks,
    inline,
  };
}
