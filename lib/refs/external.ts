import { UnsupportedFeatureError } from "../errors.js";
import type { ExternalFileSlot, Hdf5Dataset } from "../hdf5/model.js";
import { product, wholeArrayChunk } from "../shape.js";

/** One chunk of an externally stored dataset: a byte range of one external file. */
export interface ExternalChunk {
  coords: number[];
  url: string;
  offset: number;
  length: number;
}

/** More chunks than this for one external dataset: refused rather than a huge reference set. */
const MAX_EXTERNAL_CHUNKS = 100_000;

const hasScheme = (url: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(url);

/**
 * Where an external data file named in an HDF5 file is: relative names against the directory of the
 * HDF5 file's own URL (what HDF5 does with HDF5_EXTFILE_PREFIX="${ORIGIN}"; HDF5's default, the
 * reading process's working directory, means nothing for a file in object storage), "." and ".."
 * segments resolved; absolute names as they are, for local files only.
 */
export function resolveExternalUrl(fileUrl: string, name: string, variable: string): string {
  if (name.length === 0) throw new UnsupportedFeatureError(fileUrl, variable, "external data file with an empty name");
  if (name.startsWith("/")) {
    if (hasScheme(fileUrl) && !fileUrl.startsWith("file://")) {
      throw new UnsupportedFeatureError(fileUrl, variable, `external data file with the absolute local path ${name}, next to a remote file`);
    }
    return fileUrl.startsWith("file://") ? `file://${name}` : name;
  }
  // Split "scheme://authority" (never climbed above) from the path.
  const root = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(fileUrl)?.[0] ?? "";
  const path = fileUrl.slice(root.length);
  const segments = path.split("/").slice(0, -1);
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (segments.length > (path.startsWith("/") ? 1 : 0)) segments.pop();
      else if (root || path.startsWith("/")) throw new UnsupportedFeatureError(fileUrl, variable, `external data file ${name} lies above the root`);
      else segments.push("..");
      continue;
    }
    segments.push(part);
  }
  return root + segments.join("/");
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * References for a dataset stored in external files (H5Pset_external): the dataset's bytes, in
 * row-major order, are the slots' byte ranges one after the other. One slot: one chunk of the whole
 * array. Several: chunks along the first axis, of as many rows as the greatest common divisor of
 * the slots' row counts, so every chunk lies in one slot. A slot boundary inside a row, or slots
 * that hold less than the dataset, is refused with the reason.
 */
export function externalChunks(
  url: string,
  dataset: Hdf5Dataset,
  shape: number[],
): { chunkShape: number[]; chunks: ExternalChunk[] } {
  const variable = dataset.path;
  const elementSize = dataset.datatype.size;
  const total = product(shape) * elementSize;
  const fail = (detail: string): never => {
    throw new UnsupportedFeatureError(url, variable, `external data files: ${detail}`);
  };
  // The part of each slot the dataset uses, in order.
  const used: { slot: ExternalFileSlot; bytes: number }[] = [];
  let covered = 0;
  for (const slot of dataset.external) {
    if (covered >= total) break;
    const bytes = Math.min(slot.size ?? total - covered, total - covered);
    if (bytes > 0) used.push({ slot, bytes });
    covered += bytes;
  }
  if (covered < total) fail(`the slots hold ${covered} bytes of the dataset's ${total}`);
  if (total === 0) return { chunkShape: wholeArrayChunk(shape), chunks: [] };
  const chunkAt = (coords: number[], slot: ExternalFileSlot, start: number, length: number): ExternalChunk => ({
    coords,
    url: resolveExternalUrl(url, slot.name, variable),
    offset: slot.offset + start,
    length,
  });
  if (used.length === 1) {
    const coords = shape.length === 0 ? [0] : shape.map(() => 0);
    return { chunkShape: shape.slice(), chunks: [chunkAt(coords, used[0]!.slot, 0, total)] };
  }
  if (shape.length === 0) fail("a scalar split over several files");
  const rowBytes = total / shape[0]!;
  let rows = 0;
  for (const { bytes } of used) {
    if (bytes % rowBytes !== 0) fail(`a slot boundary falls inside a row of ${rowBytes} bytes`);
    rows = gcd(rows, bytes / rowBytes);
  }
  const chunkCount = shape[0]! / rows;
  if (chunkCount > MAX_EXTERNAL_CHUNKS) fail(`${chunkCount} chunks of ${rows} row(s) would be needed`);
  const chunkBytes = rows * rowBytes;
  const chunks: ExternalChunk[] = [];
  let index = 0;
  for (const { slot, bytes } of used) {
    for (let start = 0; start < bytes; start += chunkBytes) {
      chunks.push(chunkAt([index++, ...shape.slice(1).map(() => 0)], slot, start, chunkBytes));
    }
  }
  return { chunkShape: [rows, ...shape.slice(1)], chunks };
}
