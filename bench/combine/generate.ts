/**
 * Synthetic single-file reference sets shaped like NOAA's Himawari-8 L3C SST archive (one file an
 * hour, 9000 x 18000, the ACSPO variable set), for the combine benchmark. Only what the combine
 * reads is real: each hour's `time` is a 4096-byte file holding netCDF-C's 1024-element unlimited
 * chunk (referenced, not inline, as our refs translator leaves it), and lat/lon point at one shared
 * raw file. Data chunk references are plausible byte ranges of s3:// files that are never read.
 *
 * usage: tsx bench/combine/generate.ts OUT_DIR HOURS [CHUNK_Y CHUNK_X]   (default chunks 1125 x 2250)
 * Writes OUT_DIR/refs/<YYYYMMDDHH>.json and OUT_DIR/list.txt (the reference files, one a line).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pyJson, PyFloat } from "../../lib/refs/pyJson.js";
import { serializeRefs } from "../../lib/refs/serialize.js";
import type { Reference } from "../../lib/refs/types.js";

const [outArg, hoursArg, cyArg, cxArg] = process.argv.slice(2);
if (!outArg || !hoursArg) {
  console.error("usage: generate.ts OUT_DIR HOURS [CHUNK_Y CHUNK_X]");
  process.exit(2);
}
const out = resolve(outArg);
const hours = Number(hoursArg);
const [ny, nx] = [9000, 18000];
const [cy, cx] = [Number(cyArg ?? 1125), Number(cxArg ?? 2250)];

/** The ACSPO L3C variables: name, dtype, fill, scale, offset, units. */
const variables: [string, string, number, number | undefined, number | undefined, string | undefined][] = [
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

await mkdir(join(out, "refs"), { recursive: true });
await mkdir(join(out, "time"), { recursive: true });
// lat and lon as raw little-endian float32 in one shared file: lat at 0, lon after it.
const latlon = new Float32Array(ny + nx);
for (let i = 0; i < ny; i++) latlon[i] = 59.99 - (i * 119.98) / (ny - 1);
for (let i = 0; i < nx; i++) latlon[ny + i] = 80.01 + (i * 239.98) / (nx - 1);
const latlonPath = join(out, "latlon.bin");
await writeFile(latlonPath, new Uint8Array(latlon.buffer));

const base = Date.UTC(2022, 0, 1) / 1000 - Date.UTC(1981, 0, 1) / 1000;
const list: string[] = [];
for (let h = 0; h < hours; h++) {
  const stamp = new Date((base + Date.UTC(1981, 0, 1) / 1000 + h * 3600) * 1000).toISOString().replace(/[-:T]/g, "").slice(0, 10);
  const timePath = join(out, "time", `${stamp}.bin`);
  const time = new Int32Array(1024);
  time[0] = base + h * 3600;
  time.fill(-2147483647, 1); // netCDF-C's fill for the unused part of the chunk
  await writeFile(timePath, new Uint8Array(time.buffer));
  const url = `s3://noaa-himawari8/AHI-L2-FLDK-SST/2022/${stamp.slice(4, 6)}/${stamp.slice(6, 8)}/${stamp.slice(8, 10)}00/${stamp}0000-STAR-L3C_GHRSST-SSTsubskin-AHI_H08-ACSPO_V2.80-v02.0-fv01.0.nc`;
  const refs: Record<string, Reference> = {
    ".zgroup": pyJson({ zarr_format: 2 }),
    ".zattrs": pyJson({ Conventions: "CF-1.7, ACDD-1.3", title: "Himawari-8 L3C SST (synthetic refs)", time_coverage_start: stamp, product_version: new PyFloat(2.8) }),
    "time/.zarray": zarray([1], [1024], "<i4", null, false),
    "time/.zattrs": pyJson({ _ARRAY_DIMENSIONS: ["time"], long_name: "reference time of sst file", standard_name: "time", axis: "T", units: "seconds since 1981-01-01 00:00:00", calendar: "Gregorian" }),
    "time/0": [timePath, 0, 4096],
    "lat/.zarray": zarray([ny], [ny], "<f4", null, false),
    "lat/.zattrs": pyJson({ _ARRAY_DIMENSIONS: ["lat"], units: "degrees_north", standard_name: "latitude" }),
    "lat/0": [latlonPath, 0, ny * 4],
    "lon/.zarray": zarray([nx], [nx], "<f4", null, false),
    "lon/.zattrs": pyJson({ _ARRAY_DIMENSIONS: ["lon"], units: "degrees_east", standard_name: "longitude" }),
    "lon/0": [latlonPath, ny * 4, nx * 4],
    "crs/.zarray": zarray([], [], "<i4", -2147483647, false),
    "crs/.zattrs": pyJson({ _ARRAY_DIMENSIONS: [], grid_mapping_name: "latitude_longitude" }),
  };
  let offset = 40_000;
  for (const [name, dtype, fill, scale, add, units] of variables) {
    refs[`${name}/.zarray`] = zarray([1, ny, nx], [1, cy, cx], dtype, fill, true);
    const attrs: Record<string, string | number | PyFloat | string[]> = { _ARRAY_DIMENSIONS: ["time", "lat", "lon"], long_name: name.replace(/_/g, " ") };
    if (units) attrs.units = units;
    if (scale !== undefined) attrs.scale_factor = new PyFloat(scale);
    if (add !== undefined) attrs.add_offset = new PyFloat(add);
    refs[`${name}/.zattrs`] = pyJson(attrs);
    for (let y = 0; y * cy < ny; y++) {
      for (let x = 0; x * cx < nx; x++) {
        const length = 200_000 + ((h * 7919 + y * 104729 + x * 1299709) % 150_000);
        refs[`${name}/0.${y}.${x}`] = [url, offset, length];
        offset += length;
      }
    }
  }
  const path = join(out, "refs", `${stamp}.json`);
  await writeFile(path, serializeRefs({ version: 1, refs }));
  list.push(path);
}
await writeFile(join(out, "list.txt"), `${list.join("\n")}\n`);
console.log(`${hours} reference sets in ${out}/refs (${variables.length} variables, chunks ${cy} x ${cx})`);
