import type { Hdf5Attribute, Hdf5Dataset, Hdf5Datatype } from "../hdf5/model.js";
import { transferAttributes } from "../refs/attributes.js";
import { zarrFillValue } from "../refs/fillValue.js";
import { inlineReference } from "../model/chunkBytes.js";
import { pyJson, type PyJsonValue } from "../json/pyJson.js";
import type { TranslateOptions, TranslateResult } from "../refs/translate.js";
import type { Reference } from "../model/kerchunkRefs.js";
import { zarrDtype } from "../refs/zarrDtype.js";
import type { ByteSource } from "../source/byteSource.js";
import { referenceUrl } from "../source/localFile.js";
import { readHeader, type NcAttribute, type NcType } from "./header.js";
import { DEFAULT_MAX_CHUNK_BYTES, layOut, type VariableLayout } from "./layout.js";

export interface Netcdf3TranslateOptions extends TranslateOptions {
  /** Uncompressed blocks above this many bytes are split into chunks (lib/netcdf3/layout.ts). */
  maxChunkBytes?: number;
}

const IEEE = {
  4: { bitOffset: 0, precision: 32, signLocation: 31, exponentLocation: 23, exponentSize: 8, mantissaLocation: 0, mantissaSize: 23, exponentBias: 127, normalization: 2 },
  8: { bitOffset: 0, precision: 64, signLocation: 63, exponentLocation: 52, exponentSize: 11, mantissaLocation: 0, mantissaSize: 52, exponentBias: 1023, normalization: 2 },
} as const;

/**
 * An nc_type as the HDF5 datatype netCDF-4 stores it with, big-endian (netCDF-3's byte order), so
 * that dtype names, attribute values and fill values go through the same rules as netCDF-4 files
 * (lib/refs): `char` is a one-byte string (numpy `S1`), as netCDF-4 stores it.
 */
export function hdf5Datatype(type: NcType): Hdf5Datatype {
  switch (type.name) {
    case "char":
      return { class: "string", size: 1, padding: "nullterm", charset: "ascii" };
    case "float":
    case "double":
      return { class: "float", size: type.size, order: ">", layout: { ...IEEE[type.size as 4 | 8] } };
    default: {
      const signed = type.name === "byte" || type.name === "short" || type.name === "int" || type.name === "int64";
      return { class: "fixed", size: type.size, order: ">", signed, bitOffset: 0, precision: 8 * type.size };
    }
  }
}

/** An attribute in the HDF5 form netCDF-4 writes it: char text a scalar string, numbers a 1-d array. */
function hdf5Attribute(attribute: NcAttribute): Hdf5Attribute {
  if (attribute.text !== undefined) {
    const size = new TextEncoder().encode(attribute.text).length;
    return {
      name: attribute.name,
      datatype: { class: "string", size: Math.max(size, 1), padding: "nullterm", charset: "utf8" },
      dataspace: { kind: "scalar", shape: [], maxShape: [] },
      values: [attribute.text],
    };
  }
  const n = attribute.numbers.length;
  return {
    name: attribute.name,
    datatype: hdf5Datatype(attribute.type),
    // netCDF-4 stores an attribute without values with a null dataspace.
    dataspace: n === 0 ? { kind: "null", shape: [], maxShape: [] } : { kind: "simple", shape: [n], maxShape: [n] },
    values: attribute.numbers,
  };
}

/**
 * A variable seen as the contiguous HDF5 dataset netCDF-4 would have made of it, for the fill-value
 * rule the two formats share (`zarrFillValue`: the `_FillValue` attribute, otherwise none). Every
 * element of a netCDF-3 variable is stored: no chunk is ever missing.
 */
function asDataset(layout: VariableLayout, datatype: Hdf5Datatype, attributes: Hdf5Attribute[]): Hdf5Dataset {
  return {
    kind: "dataset",
    address: layout.variable.begin,
    path: `/${layout.variable.name}`,
    attributes,
    skippedAttributes: [],
    datatype,
    dataspace: layout.shape.length === 0 ? { kind: "scalar", shape: [], maxShape: [] } : { kind: "simple", shape: layout.shape, maxShape: layout.shape },
    fillValue: { state: "default", allocationTime: "early", writeTime: "on-alloc" },
    filters: [],
    layout: { kind: "contiguous", address: layout.variable.begin, size: layout.pieces.reduce((n, p) => n + p.length, 0) },
    external: [],
  };
}

/**
 * The `.zarray` fill_value: netCDF-4's rule (`zarrFillValue`), except for a char variable without
 * `_FillValue`: none, as kerchunk's NetCDF3ToZarr writes. netCDF-4's " " (kerchunk's
 * SingleHdf5ToZarr rule) makes xarray mask every space of a char array it does not join into
 * strings (a character dimension other variables use too), which the file does not.
 */
function fillValue(layout: VariableLayout, datatype: Hdf5Datatype, attributes: Hdf5Attribute[]): PyJsonValue {
  if (datatype.class === "string" && !attributes.some((a) => a.name === "_FillValue")) return null;
  return zarrFillValue(asDataset(layout, datatype, attributes), false);
}

/**
 * References for a netCDF-3 file (CDF-1, CDF-2, CDF-5) in the form `translateHdf5` gives a netCDF-4
 * file with the same content: one Zarr v2 group, every variable an uncompressed array of its
 * big-endian dtype, `_ARRAY_DIMENSIONS` the netCDF dimension names, attributes and fill values by the
 * same rules. Reads the header (one read of the file's head for most files) and the chunks below
 * the inline threshold (batched), never other data.
 */
export async function translateNetcdf3(source: ByteSource, options: Netcdf3TranslateOptions = {}): Promise<TranslateResult> {
  const inlineThreshold = options.inlineThreshold ?? 100;
  const url = options.url ?? referenceUrl(source.url);
  const header = await readHeader(source);
  const layout = layOut(header, source.url, await source.size(), options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES);

  const refs: Record<string, Reference> = {};
  refs[".zgroup"] = pyJson({ zarr_format: 2 });
  refs[".zattrs"] = pyJson(transferAttributes(header.attributes.map(hdf5Attribute)));
  const inline: { key: string; offset: number; length: number }[] = [];
  let chunkCount = 0;
  for (const variable of layout.variables) {
    const name = variable.variable.name;
    const datatype = hdf5Datatype(variable.variable.type);
    const attributes = variable.variable.attributes.map(hdf5Attribute);
    refs[`${name}/.zarray`] = pyJson({
      shape: variable.shape,
      chunks: variable.chunks,
      dtype: zarrDtype(datatype)!,
      fill_value: fillValue(variable, datatype, attributes),
      order: "C",
      filters: null,
      dimension_separator: ".",
      compressor: null,
      zarr_format: 2,
    });
    refs[`${name}/.zattrs`] = pyJson({ _ARRAY_DIMENSIONS: variable.dimensions.map((d) => d.name), ...transferAttributes(attributes, datatype) });
    for (const piece of variable.pieces) {
      const key = `${name}/${piece.coords.length === 0 ? "0" : piece.coords.join(".")}`;
      if (piece.length < inlineThreshold) inline.push({ key, offset: piece.offset, length: piece.length });
      else refs[key] = [url, piece.offset, piece.length];
      chunkCount++;
    }
  }
  // All small chunks read at once: a block cache fetches them in one batch (most lie in its head read).
  const bytes = await Promise.all(inline.map(({ offset, length }) => source.read(offset, length)));
  inline.forEach(({ key }, i) => (refs[key] = inlineReference(bytes[i]!)));
  return { refs: { version: 1, refs }, skipped: [], warnings: [], chunkCount };
}
