import type { Client, Connection } from "@temporalio/client";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { combineRefs } from "../lib/combine/index.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { CombineError } from "../lib/errors.js";
import type { DatasetSpec } from "../lib/datasets/spec.js";
import { serializeRefs } from "../lib/refs/serialize.js";
import type { KerchunkRefs } from "../lib/refs/types.js";
import { BlockCache } from "../lib/source/blockCache.js";
import { LocalFileSource } from "../lib/source/localFile.js";
import { translateFile } from "../lib/translateFile.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import type { BackfillInput, BackfillSummary } from "../workflows/types.js";
import { makeArchive, testDataset, uploadArchive } from "./harness/archive.js";
import { testDir } from "./harness/env.js";
import { python } from "./harness/python.js";
import { clientFor, workerConnection } from "./harness/temporal.js";

let client: Client;
let connection: Connection;
let dir = "";
let bucket = "";
/** Keys by day: 2022-05-01..03 netCDF-3 (64-bit offset), 2022-05-04 netCDF-4, 24 hourly files each. */
const keysByDay = new Map<string, string[]>();
const NETCDF3_DAYS = ["2022-05-01", "2022-05-02", "2022-05-03"];
const NETCDF4_DAY = "2022-05-04";
const KERCHUNK_OPTIONS = JSON.stringify({ concat_dims: ["time"], coo_map: { time: "data:time" }, identical_dims: ["lat", "lon"] });

interface CombinedReport {
  errors: string[];
  checked: Record<string, number>;
  mismatches: string[];
}

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("netcdf3-backfill");
  const archive = join(dir, "archive");
  const grid: [number, number] = [20, 40];
  const netcdf3 = await makeArchive(archive, NETCDF3_DAYS[0]!, 3, { hours: 24, grid, format: "NETCDF3_64BIT_OFFSET" });
  const netcdf4 = await makeArchive(archive, NETCDF4_DAY, 1, { hours: 24, grid });
  for (const key of [...netcdf3, ...netcdf4]) {
    const day = key.split("/").slice(1, 4).join("-");
    keysByDay.set(day, [...(keysByDay.get(day) ?? []), key]);
  }
  bucket = await uploadArchive(archive, [...netcdf3, ...netcdf4], "netcdf3");
});
after(async () => {
  await connection?.close();
});

async function runBackfill(spec: DatasetSpec, input: BackfillInput): Promise<BackfillSummary> {
  const taskQueue = `nc3-${spec.name}`;
  const worker = await createWorker({ connection: await workerConnection(), datasets: new DatasetRegistry([spec]), taskQueue });
  return worker.runUntil(client.workflow.execute(backfillV3, { ...backfillOptions(input), taskQueue }));
}

describe("a backfill over netCDF-3 files", () => {
  test("days of hourly netCDF-3 files (and a netCDF-4 day beside them) backfill on the dev server; day outputs equal kerchunk's MultiZarrToZarr and read the files' values", async () => {
    const out = join(dir, "out");
    const spec = testDataset("nc3-days", { kind: "s3", bucket }, { kind: "local", path: out }, "day");
    const summary = await runBackfill(spec, { dataset: spec.name, start: NETCDF3_DAYS[0]!, end: NETCDF4_DAY, maxConcurrentDays: 2 });
    assert.equal(summary.status, "completed");
    assert.deepEqual(summary.days, { total: 4, written: 4, existing: 0, failed: 0, noFiles: 0 });
    assert.equal(summary.files.extracted, 96);

    for (const day of [...NETCDF3_DAYS, NETCDF4_DAY]) {
      const keys = keysByDay.get(day)!;
      const output = join(out, "refs/AHI-L2-FLDK-SST", `${day.replaceAll("-", "")}.json`);
      const refs = JSON.parse(await readFile(output, "utf8")) as { refs: Record<string, unknown> };
      // netCDF-3: uncompressed big-endian records, one chunk per file along time.
      const sst = JSON.parse(refs.refs["sea_surface_temperature/.zarray"] as string) as { dtype: string; shape: number[]; compressor: unknown; filters: unknown };
      assert.equal(sst.dtype, day === NETCDF4_DAY ? "<i2" : ">i2", day);
      assert.deepEqual(sst.shape, [24, 20, 40]);
      if (day !== NETCDF4_DAY) assert.equal(sst.filters, null);

      // kerchunk's MultiZarrToZarr over the per-file references (ours: kerchunk's NetCDF3ToZarr does
      // not read CDF-1/2 record files right, see test/netcdf3.test.ts), local URLs on both sides.
      const perFile: string[] = [];
      for (const key of keys) {
        const origin = new LocalFileSource(join(dir, "archive", key));
        const { refs: one } = await translateFile(new BlockCache(origin), { inlineThreshold: 100 });
        await origin.close();
        const path = join(dir, `${key.replaceAll("/", "_")}.json`);
        await writeFile(path, serializeRefs(one));
        perFile.push(path);
      }
      const theirs = join(dir, `${day}.kerchunk.json`);
      const run = await python<{ ok: boolean; error: string | null }>("combine_kerchunk.py", [theirs, KERCHUNK_OPTIONS, ...perFile]);
      assert.ok(run.ok, `${day}: kerchunk failed: ${run.error}`);
      // Our day output with the local URLs of the same objects.
      const local = async (path: string): Promise<string> => {
        const copy = `${path}.local.json`;
        await writeFile(copy, (await readFile(path, "utf8")).replaceAll(`s3://${bucket}/`, pathToFileURL(join(dir, "archive")).href + "/"));
        return copy;
      };
      const parity = await python<{ differences: Record<string, string[]> }>("combine_parity.py", [await local(output), theirs, "time"]);
      // As for netCDF-4 (test/combine.test.ts): kerchunk gives the scalar crs the time dimension.
      // And the combined time of big-endian inputs: ours keeps their byte order, kerchunk writes
      // native order (the values are compared, and equal).
      const byteOrder = (key: string, d: string[]): boolean => key === "time" && d.join() === "dtype ours >i4 != kerchunk int32";
      const unexpected = Object.entries(parity.differences).filter(
        ([key, d]) => !/^crs\/\.(zarray|zattrs)$/.test(key) && !(/^crs\/[1-9]\d*$/.test(key) && d.join() === "missing from ours") && !(day !== NETCDF4_DAY && byteOrder(key, d)),
      );
      assert.deepEqual(unexpected, [], `${day}: ${unexpected.map(([k, d]) => `${k}: ${d.join("; ")}`).join("\n")}`);
      assert.ok(parity.differences["crs/.zarray"], `${day}: the crs deviation should show (the comparison can tell)`);

      const report = await python<CombinedReport>("combine_xarray.py", [output, ...keys.map((k) => join(dir, "archive", k)), "--s3-endpoint", process.env.AWS_ENDPOINT_URL!]);
      assert.deepEqual(report.errors, [], `${day}: ${report.errors.join("; ")}`);
      assert.deepEqual(report.mismatches, [], `${day}: ${report.mismatches.join("; ")}`);
      assert.equal(report.checked["sea_surface_temperature (decoded)"], 24, day);
    }

    // A netCDF-3 day and a netCDF-4 day do not share an aggregate: their arrays differ in dtype
    // (byte order) and codecs, and the combine refuses them naming the variable, never mixing chunks.
    const dayRefs = async (day: string): Promise<KerchunkRefs> =>
      JSON.parse(await readFile(join(out, "refs/AHI-L2-FLDK-SST", `${day.replaceAll("-", "")}.json`), "utf8")) as KerchunkRefs;
    const mixed = await combineRefs([await dayRefs(NETCDF3_DAYS[2]!), await dayRefs(NETCDF4_DAY)], { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"], labels: [NETCDF3_DAYS[2]!, NETCDF4_DAY] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(mixed instanceof CombineError, String(mixed));
    assert.match(mixed.message, new RegExp(`^${NETCDF4_DAY}: variable \\w+: dtype "<i[12]" differs from ">i[12]" in ${NETCDF3_DAYS[2]}`));
  });
});
