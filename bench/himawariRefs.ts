/**
 * The shape of a synthetic Himawari-8 L3C SST reference set (one file an hour, 9000 x 18000, the
 * twelve ACSPO variables), shared by the benchmarks that generate them (bench/combine,
 * bench/icechunk). Each generator decides what its references point at; the layout, the metadata
 * and the byte ranges of the data chunks are made here once.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PyFloat, pyJson } from "../lib/json/pyJson.js";
import type { Reference } from "../lib/model/kerchunkRefs.js";

export const GRID = { ny: 9000, nx: 18000 } as const;

export type AcspoDtype = "<i2" | "<i4" | "|i1";

/** The ACSPO L3C variables: name, dtype, fill, scale, offset, units. */
export const ACSPO_VARIABLES: [string, AcspoDtype, number, number | undefined, number | undefined, string | undefined][] = [
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

/** Bytes per element of an ACSPO dtype. */
export const elementSize = (dtype: string): 1 | 2 | 4 => Number(/\d+$/.exec(dtype)![0]) as 1 | 2 | 4;

/** A Zarr v2 `.zarray` as netCDF-C files translate: shuffle + zlib where the variable is filtered. */
export const zarray = (shape: number[], chunks: number[], dtype: string, fill: number | null, filters: boolean): string =>
  pyJson({
    shape,
    chunks,
    dtype,
    fill_value: fill,
    order: "C",
    filters: filters ? [{ id: "shuffle", elementsize: elementSize(dtype) }, { id: "zlib", level: 4 }] : null,
    dimension_separator: ".",
    compressor: null,
    zarr_format: 2,
  });

/** lat and lon as raw little-endian float32 in one shared file: lat at 0, lon after it. */
export async function writeLatLon(out: string): Promise<string> {
  const { ny, nx } = GRID;
  const latlon = new Float32Array(ny + nx);
  for (let i = 0; i < ny; i++) latlon[i] = 59.99 - (i * 119.98) / (ny - 1);
  for (let i = 0; i < nx; i++) latlon[ny + i] = 80.01 + (i * 239.98) / (nx - 1);
  await mkdir(out, { recursive: true });
  const path = join(out, "latlon.bin");
  await writeFile(path, new Uint8Array(latlon.buffer));
  return path;
}

/** The group, `time` (metadata only: its chunk is the generator's), lat and lon of one hour. */
export function coordinateRefs(latlonUrl: string, rootAttrs: Record<string, string | PyFloat>): Record<string, Reference> {
  const { ny, nx } = GRID;
  return {
    ".zgroup": pyJson({ zarr_format: 2 }),
    ".zattrs": pyJson({ Conventions: "CF-1.7, ACDD-1.3", title: "Himawari-8 L3C SST (synthetic refs)", ...rootAttrs, product_version: new PyFloat(2.8) }),
    "time/.zarray": zarray([1], [1024], "<i4", null, false),
    "time/.zattrs": pyJson({ _ARRAY_DIMENSIONS: ["time"], long_name: "reference time of sst file", standard_name: "time", axis: "T", units: "seconds since 1981-01-01 00:00:00", calendar: "Gregorian" }),
    "lat/.zarray": zarray([ny], [ny], "<f4", null, false),
    "lat/.zattrs": pyJson({ _ARRAY_DIMENSIONS: ["lat"], units: "degrees_north", standard_name: "latitude" }),
    "lat/0": [latlonUrl, 0, ny * 4],
    "lon/.zarray": zarray([nx], [nx], "<f4", null, false),
    "lon/.zattrs": pyJson({ _ARRAY_DIMENSIONS: ["lon"], units: "degrees_east", standard_name: "longitude" }),
    "lon/0": [latlonUrl, ny * 4, nx * 4],
  };
}

/**
 * The data variables of one hour into `refs`: metadata, then a reference per chunk at increasing
 * offsets of `url` from 40,000, each `lengthOf` long. Returns the end offset.
 */
export function dataVariableRefs(
  refs: Record<string, Reference>,
  url: string,
  [cy, cx]: [number, number],
  lengthOf: (variable: (typeof ACSPO_VARIABLES)[number], y: number, x: number, offset: number) => number,
): number {
  const { ny, nx } = GRID;
  let offset = 40_000;
  for (const variable of ACSPO_VARIABLES) {
    const [name, dtype, fill, scale, add, units] = variable;
    refs[`${name}/.zarray`] = zarray([1, ny, nx], [1, cy, cx], dtype, fill, true);
    const attrs: Record<string, string | number | PyFloat | string[]> = { _ARRAY_DIMENSIONS: ["time", "lat", "lon"], long_name: name.replace(/_/g, " ") };
    if (units) attrs.units = units;
    if (scale !== undefined) attrs.scale_factor = new PyFloat(scale);
    if (add !== undefined) attrs.add_offset = new PyFloat(add);
    refs[`${name}/.zattrs`] = pyJson(attrs);
    for (let y = 0; y * cy < ny; y++) {
      for (let x = 0; x * cx < nx; x++) {
        const length = lengthOf(variable, y, x, offset);
        refs[`${name}/0.${y}.${x}`] = [url, offset, length];
        offset += length;
      }
    }
  }
  return offset;
}
