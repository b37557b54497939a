/**
 * A month of Himawari-sized single-file references (744 hourly files, 9000 x 18000, the twelve ACSPO
 * L3C variables in 1 x 1125 x 2250 chunks, as bench/combine/generate.ts assumes) that point at
 * local source files, for the Icechunk benchmark. Only one hour's source file exists on disk (the
 * one the read measurement opens): it holds real shuffle + zlib chunks at the offsets its references
 * name, so reading that time step decompresses real data; the other 743 files are never read.
 * `time` is inline (the combine reads no file), `lat`/`lon` point at one shared raw file.
 *
 * usage: tsx bench/icechunk/generate.ts OUT_DIR [READ_HOUR]   (default hour 348: 2022-01-15 12:00)
 * Writes OUT_DIR/refs/<YYYYMMDDHH>.json, OUT_DIR/src/<YYYYMMDDHH>.nc (the read hour only),
 * OUT_DIR/latlon.bin and OUT_DIR/manifest.json ({days: {day: [ref files]}, readHour, readFile}).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { deflateSync } from "node:zlib";
import { inlineReference } from "../../lib/model/chunkBytes.js";
import { serializeRefs } from "../../lib/model/kerchunkJson.js";
import type { Reference } from "../../lib/model/kerchunkRefs.js";
import { ACSPO_VARIABLES, coordinateRefs, dataVariableRefs, elementSize, writeLatLon } from "../himawariRefs.js";

const [outArg, readHourArg] = process.argv.slice(2);
if (!outArg) {
  console.error("usage: generate.ts OUT_DIR [READ_HOUR]");
  process.exit(2);
}
const out = resolve(outArg);
const readHour = Number(readHourArg ?? 348);
const hours = 744;
const [cy, cx] = [1125, 2250];

/** One stored chunk per dtype: mostly fill (land, cloud), a band of noisy data; HDF5 shuffle then zlib. */
function storedChunk(size: 1 | 2 | 4, fill: number): Buffer {
  const count = cy * cx;
  const raw = Buffer.alloc(count * size);
  let seed = 12345;
  for (let i = 0; i < count; i++) {
    const noisy = i < 40 * cx;
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const value = noisy ? (seed % 2000) - 200 : fill;
    if (size === 1) raw.writeInt8(Math.max(-128, Math.min(127, noisy ? (seed % 200) - 100 : fill)), i);
    else if (size === 2) raw.writeInt16LE(value, i * 2);
    else raw.writeInt32LE(value, i * 4);
  }
  const shuffled = Buffer.alloc(raw.length);
  for (let byte = 0; byte < size; byte++) for (let i = 0; i < count; i++) shuffled[byte * count + i] = raw[i * size + byte]!;
  return deflateSync(shuffled, { level: 4 });
}

await mkdir(join(out, "refs"), { recursive: true });
await mkdir(join(out, "src"), { recursive: true });
const latlonPath = await writeLatLon(out);
const latlonUrl = pathToFileURL(latlonPath).href;

const chunks = new Map<string, Buffer>();
for (const [, dtype, fill] of ACSPO_VARIABLES) if (!chunks.has(dtype)) chunks.set(dtype, storedChunk(elementSize(dtype), fill));

const epoch1981 = Date.UTC(1981, 0, 1) / 1000;
const days: Record<string, string[]> = {};
let readFile = "";
for (let h = 0; h < hours; h++) {
  const seconds = Date.UTC(2022, 0, 1) / 1000 + h * 3600;
  const stamp = new Date(seconds * 1000).toISOString().replace(/[-:T]/g, "").slice(0, 10);
  const sourcePath = join(out, "src", `${stamp}.nc`);
  const url = pathToFileURL(sourcePath).href;
  const time = new Int32Array(1024).fill(-2147483647);
  time[0] = seconds - epoch1981;
  const refs: Record<string, Reference> = { ...coordinateRefs(latlonUrl, {}), "time/0": inlineReference(new Uint8Array(time.buffer)) };
  const layout: [number, Buffer][] = [];
  const end = dataVariableRefs(refs, url, [cy, cx], ([, dtype], y, x, offset) => {
    const chunk = chunks.get(dtype)!;
    if (h === readHour) layout.push([offset, chunk]);
    // Lengths vary as real chunks' do (zlib ignores the bytes after its stream), so offsets and
    // lengths compress in manifests and Parquet as real ones would, not as a regular pattern.
    return chunk.length + ((h * 7919 + y * 104729 + x * 1299709 + offset) % 20_000);
  });
  if (h === readHour) {
    const file = Buffer.alloc(end);
    for (const [at, chunk] of layout) chunk.copy(file, at);
    await writeFile(sourcePath, file);
    readFile = sourcePath;
  }
  const path = join(out, "refs", `${stamp}.json`);
  await writeFile(path, serializeRefs({ version: 1, refs }));
  const day = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}`;
  (days[day] ??= []).push(path);
}
await writeFile(join(out, "manifest.json"), JSON.stringify({ days, readHour, readFile, latlon: latlonPath }));
console.log(`${hours} reference sets in ${out}/refs; the read hour's source ${readFile}`);
