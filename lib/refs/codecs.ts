import type { Hdf5Filter } from "../hdf5/model.js";
import { UnsupportedFeatureError } from "../errors.js";
import type { PyJsonValue } from "./pyJson.js";

export const FILTER_DEFLATE = 1;
export const FILTER_SHUFFLE = 2;
export const FILTER_FLETCHER32 = 3;
export const FILTER_SZIP = 4;
export const FILTER_NBIT = 5;
export const FILTER_SCALEOFFSET = 6;

const unsupportedNames: Record<number, string> = {
  [FILTER_SZIP]: "szip compression (filter 4)",
  [FILTER_NBIT]: "nbit filter (filter 5)",
  [FILTER_SCALEOFFSET]: "scaleoffset filter (filter 6)",
  32000: "lzf compression (filter 32000)",
  32004: "lz4 compression (filter 32004)",
  32008: "bitshuffle (filter 32008)",
};

/** How a dataset's HDF5 filter pipeline reads through Zarr. */
export interface ZarrCodecs {
  /** numcodecs configs in encode order (Zarr applies them in reverse to decode). */
  filters: PyJsonValue[];
  /**
   * Bytes to drop from the end of every stored chunk: a trailing fletcher32 checksum, which
   * kerchunk cuts off instead of decoding (only valid when fletcher32 is the last filter).
   */
  trailingChecksumBytes: number;
}

/**
 * Map the pipeline (in HDF5's encode order) to numcodecs, bit i of `filterMask` meaning filter i
 * was skipped for the chunks. Fletcher32 last in the pipeline (h5py's order) is cut off like
 * kerchunk does; fletcher32 earlier (netCDF-C puts it first) cannot be cut off, because the
 * checksum is inside the compressed stream, so it becomes numcodecs' HDF5-compatible
 * "fletcher32" codec at its place.
 */
export function zarrCodecs(url: string, variable: string, pipeline: Hdf5Filter[], elementSize: number, filterMask = 0): ZarrCodecs {
  const filters: PyJsonValue[] = [];
  let trailingChecksumBytes = 0;
  pipeline.forEach((filter, position) => {
    if (filterMask & (1 << position)) return;
    switch (filter.id) {
      case FILTER_DEFLATE:
        filters.push({ id: "zlib", level: filter.clientData[0] ?? 4 });
        break;
      case FILTER_SHUFFLE:
        // HDF5 shuffles whole elements and leaves a remainder in place; numcodecs' shuffle refuses
        // a buffer that is not whole elements. After a compressor the length is arbitrary; after
        // fletcher32 (netCDF-C's order) it is the chunk plus 4 bytes per checksum.
        if (filters.some((f) => (f as { id?: string }).id !== "fletcher32") || (4 * filters.length) % elementSize !== 0) {
          throw new UnsupportedFeatureError(url, variable, "shuffle after a filter that leaves partial elements (numcodecs' shuffle reads whole elements only)");
        }
        filters.push({ id: "shuffle", elementsize: elementSize });
        break;
      case FILTER_FLETCHER32:
        if (position === pipeline.length - 1) trailingChecksumBytes = 4;
        else filters.push({ id: "fletcher32" });
        break;
      case 32015:
        filters.push({ id: "zstd", level: filter.clientData[0] ?? 0 });
        break;
      default:
        throw new UnsupportedFeatureError(
          url,
          variable,
          unsupportedNames[filter.id] ?? `filter id ${filter.id}${filter.name ? ` (${filter.name})` : ""}`,
        );
    }
  });
  return { filters, trailingChecksumBytes };
}
