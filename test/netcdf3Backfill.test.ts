import type { Client, Connection } from "@temporalio/client";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { backfillDirect } from "../lib/backfill/direct.js";
import { combineRefs } from "../lib/combine/index.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { CombineError } from "../lib/errors.js";
import { resolveDatasetSpec, type DatasetSpec } from "../lib/datasets/spec.js";
import { serializeRefs } from "../lib/model/kerchunkJson.js";
import type { KerchunkRefs } from "../lib/model/kerchunkRefs.js";
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
/** Keys by day: July 2022 netCDF-3 (64-bit offset), 2022-08-01 netCDF-4; FILES_A_DAY files a day. */
const keysByDay = new Map<string, string[]>();
const MONTH = { start: "2022-07-01", end: "2022-07-31" };
const NETCDF4_DAY = "2022-08-01";
/** Several files a day (a day combines files), few enough that the month's 31 days stay quick to write and read back. */
const FILES_A_DAY = 4;
const KERCHUNK_OPTIONS = JSON.stringify({ concat_dims: ["time"], coo_map: { time: "data:time" }, identical_dims: ["lat", "lon"] });
const COMBINE = { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] };

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
  const netcdf3 = await makeArchive(archive, MONTH.start, 31, { hours: FILES_A_DAY, grid, format: "NETCDF3_64BIT_OFFSET" });
  const netcdf4 = await makeArchive(archive, NETCDF4_DAY, 1, { hours: FILES_A_DAY, grid });
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

const dayOutput = (out: string, day: string): string => join(out, "refs/AHI-L2-FLDK-SST", `${day.replaceAll("-", "")}.json`);
const localFile = (key: string): string => join(dir, "archive", key);

/** xarray through `refs` reads every given file's values, raw and decoded (combine_xarray.py). */
async function assertReadsFiles(refs: string, keys: string[], what: string): Promise<void> {
  const report = await python<CombinedReport>("combine_xarray.py", [refs, ...keys.map(localFile), "--s3-endpoint", process.env.AWS_ENDPOINT_URL!]);
  assert.deepEqual(report.errors, [], `${what}: ${report.errors.join("; ")}`);
  assert.deepEqual(report.mismatches, [], `${what}: ${report.mismatches.join("; ")}`);
  assert.equal(report.checked["sea_surface_temperature (decoded)"], keys.length, what);
}

/**
 * A day output equals kerchunk's MultiZarrToZarr over the per-file references (ours: kerchunk's
 * NetCDF3ToZarr does not read CDF-1/2 record files right, see test/netcdf3.test.ts), compared with
 * local URLs on both sides, except as for netCDF-4 (test/combine.test.ts: kerchunk gives the scalar
 * crs the time dimension) and, for netCDF-3, the combined time's byte order (ours keeps the inputs'
 * `>i4`, kerchunk writes native order; the values are compared, and equal).
 */
async function assertEqualsKerchunk(output: string, day: string): Promise<void> {
  const perFile: string[] = [];
  for (const key of keysByDay.get(day)!) {
    const origin = new LocalFileSource(localFile(key));
    const { refs: one } = await translateFile(new BlockCache(origin), { inlineThreshold: 100 });
    await origin.close();
    const path = join(dir, `${key.replaceAll("/", "_")}.json`);
    await writeFile(path, serializeRefs(one));
    perFile.push(path);
  }
  const theirs = join(dir, `${day}.kerchunk.json`);
  const run = await python<{ ok: boolean; error: string | null }>("combine_kerchunk.py", [theirs, KERCHUNK_OPTIONS, ...perFile]);
  assert.ok(run.ok, `${day}: kerchunk failed: ${run.error}`);
  const ours = `${output}.local.json`;
  await writeFile(ours, (await readFile(output, "utf8")).replaceAll(`s3://${bucket}/`, `${pathToFileURL(join(dir, "archive")).href}/`));
  const parity = await python<{ differences: Record<string, string[]> }>("combine_parity.py", [ours, theirs, "time"]);
  const netcdf3 = day !== NETCDF4_DAY;
  const unexpected = Object.entries(parity.differences).filter(
    ([key, d]) =>
      !/^crs\/\.(zarray|zattrs)$/.test(key) &&
      !(/^crs\/[1-9]\d*$/.test(key) && d.join() === "missing from ours") &&
      !(netcdf3 && key === "time" && d.join() === "dtype ours >i4 != kerchunk int32"),
  );
  assert.deepEqual(unexpected, [], `${day}: ${unexpected.map(([k, d]) => `${k}: ${d.join("; ")}`).join("\n")}`);
  assert.ok(parity.differences["crs/.zarray"], `${day}: the crs deviation should show (the comparison can tell)`);
  if (netcdf3) assert.ok(parity.differences.time, `${day}: the time dtype deviation should show`);
}

describe("a backfill over netCDF-3 files", () => {
  test("a month of netCDF-3 files, several a day, backfills on the dev server: every day and the month written, read back as the files' values, days equal to kerchunk's MultiZarrToZarr", async () => {
    const out = join(dir, "out");
    const spec = testDataset("nc3-month", { kind: "s3", bucket }, { kind: "local", path: out }, "month");
    const summary = await runBackfill(spec, { dataset: spec.name, ...MONTH });
    assert.equal(summary.status, "completed");
    assert.deepEqual(summary.days, { total: 31, written: 31, existing: 0, failed: 0, noFiles: 0 });
    assert.equal(summary.rollups.written, 1);
    assert.equal(summary.files.extracted, 31 * FILES_A_DAY);

    // netCDF-3 in the outputs: uncompressed big-endian records, one chunk a file along time.
    const month = summary.report["2022-07"]!;
    assert.match(month, /202207\.json$/);
    const sst = JSON.parse((JSON.parse(await readFile(month, "utf8")) as KerchunkRefs).refs["sea_surface_temperature/.zarray"] as string) as Record<string, unknown>;
    assert.deepEqual([sst.dtype, sst.shape, sst.chunks, sst.filters], [">i2", [31 * FILES_A_DAY, 20, 40], [1, 20, 40], null]);

    // The month through xarray: its time axis is the month's files' times, each step their values.
    const keys = [...keysByDay.entries()].filter(([day]) => day.startsWith("2022-07")).flatMap(([, k]) => k);
    await assertReadsFiles(month, keys, "2022-07");
    for (const day of [MONTH.start, MONTH.end]) {
      await assertEqualsKerchunk(dayOutput(out, day), day);
      await assertReadsFiles(dayOutput(out, day), keysByDay.get(day)!, day);
    }
  });

  test("Icechunk output: netCDF-3 days commit to a store that xarray reads as the files, raw and decoded", async () => {
    const base = testDataset("nc3-icechunk", { kind: "local", path: join(dir, "archive") }, { kind: "local", path: join(dir, "out-icechunk") }, "day");
    const spec = resolveDatasetSpec({ ...base, output: { ...base.output, format: "icechunk" } });
    const { report } = await backfillDirect(spec, MONTH.start, "2022-07-02");
    const store = report[MONTH.start]!.split("@")[0]!;
    assert.match(store, /AHI-L2-FLDK-SST\.icechunk$/);
    const plan = join(dir, "icechunk-plan.json");
    const files = ["2022-07-01", "2022-07-02"].flatMap((day) => keysByDay.get(day)!).map(localFile);
    await writeFile(
      plan,
      JSON.stringify({
        cases: [{ id: "netcdf3", store: { kind: "local", path: store }, container: { prefix: `${pathToFileURL(join(dir, "archive")).href}/`, kind: "local" }, ref: { branch: "main" }, files }],
      }),
    );
    const read = await python<{ cases: Record<string, { raw: string[]; decoded: string[] }> }>("icechunk_read.py", [plan]);
    assert.deepEqual(read.cases.netcdf3, { raw: [], decoded: [], attributes: [] });
  });

  test("a netCDF-4 day beside them backfills the same way, and does not share an aggregate with a netCDF-3 day", async () => {
    const out = join(dir, "out-netcdf4");
    const spec = testDataset("nc3-then-nc4", { kind: "s3", bucket }, { kind: "local", path: out }, "day");
    const summary = await runBackfill(spec, { dataset: spec.name, start: NETCDF4_DAY, end: NETCDF4_DAY });
    assert.deepEqual(summary.days, { total: 1, written: 1, existing: 0, failed: 0, noFiles: 0 });
    const output = dayOutput(out, NETCDF4_DAY);
    await assertEqualsKerchunk(output, NETCDF4_DAY);
    await assertReadsFiles(output, keysByDay.get(NETCDF4_DAY)!, NETCDF4_DAY);

    // Their arrays differ in byte order and codecs: the combine refuses them naming the variable,
    // never putting chunks of two encodings under one array.
    const read = async (path: string): Promise<KerchunkRefs> => JSON.parse(await readFile(path, "utf8")) as KerchunkRefs;
    const netcdf3Day = dayOutput(join(dir, "out"), MONTH.end);
    const mixed = await combineRefs([await read(netcdf3Day), await read(output)], { ...COMBINE, labels: [MONTH.end, NETCDF4_DAY] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(mixed instanceof CombineError, String(mixed));
    assert.match(mixed.message, new RegExp(`^${NETCDF4_DAY}: variable \\w+: dtype "<i[12]" differs from ">i[12]" in ${MONTH.end}`));
  });
});
