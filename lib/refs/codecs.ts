import type { Hdf5Filter } from "../hdf5/model.js";
import { UnsupportedFeatureError } from "../errors.js";
import type { PyJsonValue } from "./pyJson.js";

export const FILTER_DEFLATE = 1;
export const FILTER_SHUFFLE = 2;
export const FILTER_FLETCHER32 = 3;
export const FILTER_SZIP = 4;
export const FILTER_NBIT = 5;
export const FILTER_SCALEOFFSET = 6;
export const FILTER_BZIP2 = 307;
export const FILTER_LZF = 32000;
export const FILTER_BLOSC = 32001;
export const FILTER_LZ4 = 32004;
export const FILTER_BITSHUFFLE = 32008;
export const FILTER_ZSTD = 32015;
export const FILTER_BITGROOM = 32022;
export const FILTER_GRANULAR_BITROUND = 32023;
export const FILTER_BLOSC2 = 32026;

const unsupportedNames: Record<number, string> = {
  [FILTER_NBIT]: "nbit filter (filter 5)",
  [FILTER_SCALEOFFSET]: "scaleoffset filter (filter 6)",
  [FILTER_BLOSC2]: "blosc2 filter (32026): its chunks are Blosc2 frames, which no numcodecs/imagecodecs codec reads",
};

/** Blosc's compressor codes (the HDF5 blosc filter's 7th parameter) as numcodecs' `cname`. */
const bloscCompressors = ["blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"];

/**
 * imagecodecs' LZF decoder, without a size header (HDF5's LZF filter writes none), sizes its output
 * at 8 times its input: a chunk compressed further does not decode through the references.
 */
const LZF_MAX_RATIO = 8;

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

const idOf = (codec: PyJsonValue): string | undefined => (codec as { id?: string } | null)?.id;

/**
 * Map the pipeline (in HDF5's encode order) to numcodecs, bit i of `filterMask` meaning filter i
 * was skipped for the chunks. Fletcher32 last in the pipeline (h5py's order) is cut off like
 * kerchunk does; fletcher32 earlier (netCDF-C puts it first) cannot be cut off, because the
 * checksum is inside the compressed stream, so it becomes numcodecs' HDF5-compatible
 * "fletcher32" codec at its place. Third-party filters map to the codec that reads the bytes the
 * HDF5 plugin writes (its framing checked against real chunks in test/hdf5/fidelity.test.ts):
 * numcodecs' own where it has one, else imagecodecs' (registered with numcodecs by the
 * `imagecodecs-numcodecs` package); a filter no codec reads costs the variable, with the reason.
 */
export function zarrCodecs(url: string, variable: string, pipeline: Hdf5Filter[], elementSize: number, filterMask = 0): ZarrCodecs {
  const filters: PyJsonValue[] = [];
  let trailingChecksumBytes = 0;
  const unsupported = (feature: string): never => {
    throw new UnsupportedFeatureError(url, variable, feature);
  };
  pipeline.forEach((filter, position) => {
    if (filterMask & (1 << position)) return;
    const cd = filter.clientData;
    switch (filter.id) {
      case FILTER_DEFLATE:
        filters.push({ id: "zlib", level: cd[0] ?? 4 });
        break;
      case FILTER_SHUFFLE:
        // HDF5 shuffles whole elements and leaves a remainder in place; numcodecs' shuffle refuses
        // a buffer that is not whole elements. After a compressor the length is arbitrary; after
        // fletcher32 (netCDF-C's order) it is the chunk plus 4 bytes per checksum.
        if (filters.some((f) => idOf(f) !== "fletcher32") || (4 * filters.length) % elementSize !== 0) {
          unsupported("shuffle after a filter that leaves partial elements (numcodecs' shuffle reads whole elements only)");
        }
        filters.push({ id: "shuffle", elementsize: elementSize });
        break;
      case FILTER_FLETCHER32:
        if (position === pipeline.length - 1) trailingChecksumBytes = 4;
        else filters.push({ id: "fletcher32" });
        break;
      case FILTER_SZIP:
        // H5Zszip's parameters after set_local: options mask, pixels per block, bits per pixel,
        // pixels per scanline; each chunk starts with its uncompressed size (4 bytes, little-endian).
        if (cd.length < 4) unsupported(`szip filter with ${cd.length} parameters (4 expected)`);
        filters.push({ id: "imagecodecs_szip", options_mask: cd[0]!, pixels_per_block: cd[1]!, bits_per_pixel: cd[2]!, pixels_per_scanline: cd[3]!, header: true });
        break;
      case FILTER_BZIP2:
        filters.push({ id: "bz2", level: Math.min(9, Math.max(1, cd[0] ?? 9)) });
        break;
      case FILTER_LZF:
        filters.push({ id: "imagecodecs_lzf", header: false });
        break;
      case FILTER_BLOSC: {
        // A blosc frame carries its own sizes and options; cname/clevel/shuffle only say how to encode.
        const cname = bloscCompressors[cd[6] ?? 0];
        if (cname === undefined) unsupported(`blosc filter with compressor code ${cd[6]}`);
        filters.push({ id: "blosc", cname: cname!, clevel: cd[4] ?? 5, shuffle: cd[5] ?? 1, blocksize: 0 });
        break;
      }
      case FILTER_LZ4:
        // HDF5's LZ4 framing: total size (8 bytes, big-endian), block size (4), then per block its
        // compressed size (4) and the LZ4 block, or the raw block when that size equals the block's.
        filters.push({ id: "imagecodecs_lz4h5" });
        break;
      case FILTER_BITSHUFFLE:
        // imagecodecs_bitshuffle would read the plain form (no LZ4/zstd), but it takes the element
        // size from the buffer it is handed, and zarr hands it bytes as a uint8 array: every value
        // comes back wrong, silently (checked with zarr 3.4 / imagecodecs 2026.3). Nothing reads the
        // LZ4/zstd forms' block framing.
        // (Reasons stay short: a file of many such variables prints one line each.)
        unsupported(`bitshuffle filter (32008${(cd[4] ?? 0) === 2 ? ", LZ4" : (cd[4] ?? 0) === 3 ? ", zstd" : ""}): no codec reads it right`);
        break;
      case FILTER_ZSTD:
        filters.push({ id: "zstd", level: cd[0] ?? 0 });
        break;
      case FILTER_BITGROOM:
      case FILTER_GRANULAR_BITROUND:
        // Quantization filters (CCR): they zero mantissa bits when writing and store the values as
        // they are; reading them is the identity, so they add no codec.
        break;
      default:
        unsupported(unsupportedNames[filter.id] ?? `filter id ${filter.id}${filter.name ? ` (${filter.name})` : ""}`);
    }
  });
  return { filters, trailingChecksumBytes };
}

/**
 * Whether a stored chunk of `storedLength` bytes reads back through `codecs` as `rawLength` bytes
 * without help: false where a decoder cannot size its output (imagecodecs' header-less LZF beyond
 * 8:1), so that the chunk is re-encoded instead (bounded, like edge chunks).
 */
export function readsAsStored(codecs: ZarrCodecs, storedLength: number, rawLength: number): boolean {
  const lzf = codecs.filters.findIndex((f) => idOf(f) === "imagecodecs_lzf");
  if (lzf < 0) return true;
  // Only the outermost codec reads the stored chunk and yields the raw one: the size of an LZF
  // stream inside other codecs is unknown here, so such chunks never count as readable.
  const sizePreserving = codecs.filters.slice(0, lzf).every((f) => ["shuffle", "imagecodecs_bitshuffle"].includes(idOf(f) ?? ""));
  return lzf === codecs.filters.length - 1 && sizePreserving && rawLength <= LZF_MAX_RATIO * storedLength;
}
