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
import { inlineReference } from "../../lib/refs/inline.js";
import { PyFloat, pyJson } from "../../lib/refs/pyJson.js";
import { serializeRefs } from "../../lib/refs/serialize.js";
import type { Reference } from "../../lib/refs/types.js";

const [outArg, readHourArg] = process.argv.slice(2);
if (!outArg) {
  console.error("usage: generate.ts OUT_DIR [READ_HOUR]");
  process.exit(2);
}
const out = resolve(outArg);
const readHour = Number(readHourArg ?? 348);
const hours = 744;
const [ny, nx, cy, cx] = [9000, 18000, 1125, 2250];

/** The ACSPO L3C variables (the table of bench/combine/generate.ts): name, dtype, fill, scale, offset, units. */
const variables: [string, "<i2" | "<i4" | "|i1", number, number | undefined, number | undefined, string | undefined][] = [
  ["sea_surface_temperature", "<i2", -32768, 0.01, 273.15, "kelvin"],
  ["sst_dtime", "<i4", -2147483648, 1, 0, "second"],
  ["sses_bias", "|i1", -128, 0.016, 0, "kelvin"],
  ["sses_standard_deviation", "|i1", -128, 0.02, 1.0, "kelvin"],
  ["dt_analysis", "|i1", -128, 0.1, 0, "kelvin"],
  ["wind_speed", "|i1", -128, 0.1, 0, "m s-1"],
  ["sea_ice_fraction", "|i1", -128, 0.01, 0, "1"],
  ["aerosol_dynamic_indicator", "|i1", -128, 0.1, 0, undefined],
  ["satellite_zenith_angle", "|i1", -128, 1, 0, "angular_degree"],
  ["quality_level", "|i1", -128, undefined, undefined, undefined],
  ["l2p_flags", "<i2", -32768, undefined, undefined, undefined],
  ["sst_gradient_magnitude", "<i2", -32768, 0.0001, 0, "K km-1"],
];

const zarray = (shape: number[], chunks: number[], dtype: string, fill: number | null, filters: boolean): string =>
  pyJson({
    shape,
    chunks,
    dtype,
    fill_value: fill,
    order: "C",
    filters: filters ? [{ id: "shuffle", elementsize: Number(/\d+$/.exec(dtype)![0]) }, { id: "zlib", level: 4 }] : null,
    dimension_separator: ".",
    compressor: null,
    zarr_format: 2,
  });

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
const latlon = new Float32Array(ny + nx);
for (let i = 0; i < ny; i++) latlon[i] = 59.99 - (i * 119.98) / (ny - 1);
for (let i = 0; i < nx; i++) latlon[ny + i] = 80.01 + (i * 239.98) / (nx - 1);
const latlonPath = join(out, "latlon.bin");
await writeFile(latlonPath, new Uint8Array(latlon.buffer));
const latlonUrl = pathToFileURL(latlonPath).href;

const chunks = new Map<string, Buffer>();
for (const [, dtype, fill] of variables) if (!chunks.has(dtype)) chunks.set(dtype, storedChunk(Number(/\d+$/.exec(dtype)![0]) as 1 | 2 | 4, fill));

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
  const refs: Record<string, Reference> = {
    ".zgroup": pyJson({ zarr_format: 2 }),
    ".zattrs": pyJson({ Conventions: "CF-1.7, ACDD-1.3", title: "Himawari-8 L3C SST (synthetic refs)", product_version: new PyFloat(2.8) }),
    "time/.zarray": zarray([1], [1024], "<i4", null, false),
    "time/.zattrs": pyJson({ _ARRAY_DIMENSIONS: ["time"], long_name: "reference time of sst file", standard_name: "time", axis: "T", units: "seconds since 1981-01-01 00:00:00", calendar: "Gregorian" }),
    "time/0": inlineReference(new Uint8Array(time.buffer)),
    "lat/.zarray": zarray([ny], [ny], "<f4", null, false),
    "lat/.zattrs": pyJson({ _ARRAY_DIMENSIONS: ["lat"], units: "degrees_north", standard_name: "latitude" }),
    "lat/0": [latlonUrl, 0, ny * 4],
    "lon/.zarray": zarray([nx], [nx], "<f4", null, false),
    "lon/.zattrs": pyJson({ _ARRAY_DIMENSIONS: ["lon"], units: "degrees_east", standard_name: "longitude" }),
    "lon/0": [latlonUrl, ny * 4, nx * 4],
  };
  const layout: [number, Buffer][] = [];
  let offset = 40_000;
  for (const [name, dtype, fill, scale, add, units] of variables) {
    refs[`${name}/.zarray`] = zarray([1, ny, nx], [1, cy, cx], dtype, fill, true);
    const attrs: Record<string, string | number | PyFloat | string[]> = { _ARRAY_DIMENSIONS: ["time", "lat", "lon"], long_name: name.replace(/_/g, " ") };
    if (units) attrs.units = units;
    if (scale !== undefined) attrs.scale_factor = new PyFloat(scale);
    if (add !== undefined) attrs.add_offset = new PyFloat(add);
    refs[`${name}/.zattrs`] = pyJson(attrs);
    const chunk = chunks.get(dtype)!;
    for (let y = 0; y * cy < ny; y++) {
      for (let x = 0; x * cx < nx; x++) {
        // Lengths vary as real chunks' do (zlib ignores the bytes after its stream), so offsets and
        // lengths compress in manifests and Parquet as real ones would, not as a regular pattern.
        const length = chunk.length + ((h * 7919 + y * 104729 + x * 1299709 + offset) % 20_000);
        refs[`${name}/0.${y}.${x}`] = [url, offset, length];
        if (h === readHour) layout.push([offset, chunk]);
        offset += length;
      }
    }
  }
  if (h === readHour) {
    const file = Buffer.alloc(offset);
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
