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
import { pyJson } from "../../lib/json/pyJson.js";
import { serializeRefs } from "../../lib/model/kerchunkJson.js";
import type { Reference } from "../../lib/model/kerchunkRefs.js";
import { ACSPO_VARIABLES, coordinateRefs, dataVariableRefs, writeLatLon, zarray } from "../himawariRefs.js";

const [outArg, hoursArg, cyArg, cxArg] = process.argv.slice(2);
if (!outArg || !hoursArg) {
  console.error("usage: generate.ts OUT_DIR HOURS [CHUNK_Y CHUNK_X]");
  process.exit(2);
}
const out = resolve(outArg);
const hours = Number(hoursArg);
const chunkShape: [number, number] = [Number(cyArg ?? 1125), Number(cxArg ?? 2250)];

await mkdir(join(out, "refs"), { recursive: true });
await mkdir(join(out, "time"), { recursive: true });
const latlonPath = await writeLatLon(out);

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
    ...coordinateRefs(latlonPath, { time_coverage_start: stamp }),
    "time/0": [timePath, 0, 4096],
    "crs/.zarray": zarray([], [], "<i4", -2147483647, false),
    "crs/.zattrs": pyJson({ _ARRAY_DIMENSIONS: [], grid_mapping_name: "latitude_longitude" }),
  };
  dataVariableRefs(refs, url, chunkShape, (_variable, y, x) => 200_000 + ((h * 7919 + y * 104729 + x * 1299709) % 150_000));
  const path = join(out, "refs", `${stamp}.json`);
  await writeFile(path, serializeRefs({ version: 1, refs }));
  list.push(path);
}
await writeFile(join(out, "list.txt"), `${list.join("\n")}\n`);
console.log(`${hours} reference sets in ${out}/refs (${ACSPO_VARIABLES.length} variables, chunks ${chunkShape[0]} x ${chunkShape[1]})`);
