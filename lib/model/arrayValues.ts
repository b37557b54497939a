/**
 * The values behind an array's references: its chunks read (lib/model/chunkBytes.ts) and decoded
 * through its codecs, and the numbers of a 0-d or 1-d numeric array (a concat coordinate).
 */
import { CodecError, decodeChunk } from "../codecs/decode.js";
import { CombineError } from "../errors.js";
import { PyFloat } from "../json/pyJson.js";
import type { ReferenceReader } from "./chunkBytes.js";
import type { ArrayReferences } from "./referenceSet.js";
import { arrayMetadata } from "./arrayMetadata.js";
import { decodePipeline, numericDtype, readNumbers, type ZarrArrayMeta } from "./zarrMeta.js";

/** Decode and return every chunk of an array as bytes, keyed by chunk leaf ("0", "0.1"). */
export async function readDecodedChunks(
  entry: ArrayReferences,
  meta: ZarrArrayMeta,
  reader: ReferenceReader,
  label: string,
): Promise<Map<string, Uint8Array>> {
  const pipeline = decodePipeline(meta);
  const decoded = await Promise.all(
    entry.chunkKeys.map(async (key, i) => {
      const leaf = key.slice(entry.path.length + 1);
      const stored = await reader.read(entry.chunkRefs[i]!);
      try {
        return [leaf, decodeChunk(stored, pipeline)] as const;
      } catch (error) {
        if (error instanceof CodecError) {
          throw new CombineError("undecodable-chunk", label, entry.path, `chunk ${leaf} does not decode: ${error.message}`);
        }
        throw error;
      }
    }),
  );
  return new Map(decoded);
}

/**
 * The values of a 0-d or 1-d numeric array. A chunk may hold more elements than the array (netCDF-C
 * gives a one-value unlimited `time` a chunk of 1024, kerchunk #394): only the first `shape`
 * elements count, the rest of the chunk is padding.
 */
export async function readArrayNumbers(entry: ArrayReferences, reader: ReferenceReader, label: string, setting: string): Promise<number[]> {
  const meta = arrayMetadata(entry).zarray;
  const dtype = numericDtype(meta.dtype);
  if (!dtype) throw new CombineError("unsupported-coordinate", label, entry.path, `dtype ${meta.dtype} is not numeric: cannot be a concat coordinate`, setting);
  if (meta.shape.length > 1) {
    throw new CombineError("unsupported-coordinate", label, entry.path, `has ${meta.shape.length} dimensions; a concat coordinate has one`, setting);
  }
  const length = meta.shape.length === 0 ? 1 : meta.shape[0]!;
  const chunk = meta.shape.length === 0 ? 1 : meta.chunks[0]!;
  const decoded = await readDecodedChunks(entry, meta, reader, label);
  const values: number[] = [];
  for (let i = 0; i * chunk < length; i++) {
    const count = Math.min(chunk, length - i * chunk);
    const bytes = decoded.get(String(i));
    if (!bytes) {
      const fill = meta.fill_value instanceof PyFloat ? meta.fill_value.value : meta.fill_value;
      if (typeof fill !== "number") throw new CombineError("missing-coordinate", label, entry.path, `chunk ${i} has no reference and no fill value`, setting);
      for (let k = 0; k < count; k++) values.push(fill);
      continue;
    }
    if (bytes.length < count * dtype.size) {
      throw new CombineError("undecodable-chunk", label, entry.path, `chunk ${i} decodes to ${bytes.length} bytes, fewer than its ${count} values`);
    }
    for (const value of readNumbers(bytes, dtype, count)) values.push(value);
  }
  return values;
}
