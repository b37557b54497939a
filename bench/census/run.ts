/**
 * The census (issue 17) over a decade of hourly files with three eras, sampled with bisection
 * against exhaustive, side by side in one run: files read, bytes read, wall time, and whether both
 * found the same eras at the expected first files.
 *
 *   npx tsx bench/census/run.ts [--start 2013-01-01] [--years 10] [--stride 24] [--grid 12x24] [--temporal] [--json out.json]
 *
 * --temporal also runs censusV1 both ways on a dev server of its own with one in-process worker:
 * wall time and the workflow's history length.
 *
 * The archive (local files, written once under .work/bench/census/ and reused): a small grid so
 * that a decade (87,648 files) is feasible on one disk. python/make_drift_archive.py writes the
 * first day and the two days around each boundary (era 2: sea_surface_temperature's scale_factor
 * halves from 2016-03-07 13:00; era 3: wind_speed appears and the chunks change from 2019-09-21
 * 05:00); every other day's files are hard links to its era's written day, hour by hour. So every
 * file is a real netCDF-4 file of its era, but the time values inside the linked ones are their
 * template day's: the census reads metadata only, never values, so its work is the same.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { link, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { DateTime } from "luxon";
import { censusDirect, listCensusFiles } from "../../lib/census/census.js";
import { loadavg } from "node:os";
import type { CensusSummary } from "../../lib/census/model/index.js";
import { resolveDatasetSpec } from "../../lib/datasets/spec.js";
import { repositoryRoot } from "../../lib/servers/process.js";
import { testDataset } from "../../test/harness/archive.js";
import { Client, Connection } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime } from "@temporalio/worker";
import { DatasetRegistry } from "../../lib/datasets/config.js";
import { TemporalDevServer } from "../../worker/devServer.js";
import { createWorker } from "../../worker/worker.js";
import { censusOptions, censusV1 } from "../../workflows/census.js";
import { searchAttributeRegistrations } from "../../workflows/searchAttributes.js";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    start: { type: "string", default: "2013-01-01" },
    years: { type: "string", default: "10" },
    stride: { type: "string", default: "24" },
    grid: { type: "string", default: "12x24" },
    json: { type: "string" },
    temporal: { type: "boolean", default: false },
  },
});
const python = resolve(repositoryRoot, ".venv/bin/python");
const [ny, nx] = values.grid.split("x").map(Number) as [number, number];
const first = DateTime.fromISO(values.start, { zone: "utc" });
const last = first.plus({ years: Number(values.years) }).minus({ days: 1 });
const boundaries = [
  { at: "2016-03-07T13", set: { scale_factor: 0.005 } },
  { at: "2019-09-21T05", set: { wind_speed: true, chunks: [1, 6, 6] } },
];
const keyOf = (t: DateTime): string =>
  `AHI-L2-FLDK-SST/${t.toFormat("yyyy/MM/dd/HH")}00/${t.toFormat("yyyyMMddHH")}0000-NCCF-L3C_GHRSST-SSTsubskin-AHI_H08-ACSPO_V2.80-v02.0-fv01.0.nc`;

const dir = resolve(repositoryRoot, ".work/bench/census", `${values.start}-${values.years}y-${values.grid}`);
const archive = join(dir, "archive");

async function writeArchive(): Promise<void> {
  const marker = join(dir, "complete");
  if (existsSync(marker)) return;
  const began = Date.now();
  const write = async (day: string, days: number): Promise<void> => {
    await run(python, [resolve(repositoryRoot, "python/make_drift_archive.py"), archive, day, String(days), "--grid", String(ny), String(nx), "--changes", JSON.stringify(boundaries)], { maxBuffer: 64 << 20 });
  };
  const b1 = DateTime.fromISO(boundaries[0]!.at.slice(0, 10), { zone: "utc" });
  const b2 = DateTime.fromISO(boundaries[1]!.at.slice(0, 10), { zone: "utc" });
  await write(first.toISODate()!, 1);
  await write(b1.toISODate()!, 2);
  await write(b2.toISODate()!, 2);
  const written = new Set([first, b1, b1.plus({ days: 1 }), b2, b2.plus({ days: 1 })].map((d) => d.toISODate()));
  // Each other day links its era's written day: before b1 the first day, then b1+1, then b2+1.
  const template = (day: DateTime): DateTime => (day < b1 ? first : day < b2 ? b1.plus({ days: 1 }) : b2.plus({ days: 1 }));
  let links = 0;
  for (let day = first; day <= last; day = day.plus({ days: 1 })) {
    if (written.has(day.toISODate())) continue;
    for (let hour = 0; hour < 24; hour++) {
      const target = join(archive, keyOf(day.plus({ hours: hour })));
      if (existsSync(target)) continue;
      await mkdir(dirname(target), { recursive: true });
      await link(join(archive, keyOf(template(day).plus({ hours: hour }))), target);
      links++;
    }
  }
  await writeFile(marker, "");
  console.error(`archive written in ${((Date.now() - began) / 1000).toFixed(0)} s (${links} links) at ${archive}`);
}

await writeArchive();
const spec = (mode: string) => resolveDatasetSpec(testDataset("census-bench", { kind: "local", path: archive }, { kind: "local", path: join(dir, `out-${mode}`) }));
const start = first.toISODate()!;
const end = last.toISODate()!;
// The listing alone (every day of the range, through the template), which both modes do first.
const listingBegan = Date.now();
await listCensusFiles(spec("listing"), first.toISODate()!, last.toISODate()!, { reuseOutputs: false });
const listingSeconds = (Date.now() - listingBegan) / 1000;
const results: Record<string, CensusSummary> = {};
for (const mode of ["sampled", "exhaustive"] as const) {
  results[mode] = await censusDirect(spec(mode), start, end, { exhaustive: mode === "exhaustive", stride: Number(values.stride), reuseOutputs: false });
  console.error(`${mode}: ${(results[mode].wallMs / 1000).toFixed(1)} s`);
}
const boundaryTimes = boundaries.map((b) => DateTime.fromFormat(b.at, "yyyy-MM-dd'T'HH", { zone: "utc" })).filter((t) => t > first && t <= last.endOf("day"));
/** censusV1 on a dev server of our own, with one in-process worker: its result and history length. */
async function viaTemporal(): Promise<Record<string, { summary: CensusSummary; events: number; seconds: number }>> {
  const server = await new TemporalDevServer({ searchAttributes: searchAttributeRegistrations, dbFile: join(dir, "temporal.db"), logFile: join(dir, "temporal.log") }).start();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const out: Record<string, { summary: CensusSummary; events: number; seconds: number }> = {};
  try {
    for (const mode of ["sampled", "exhaustive"] as const) {
      const name = `census-bench-${mode}`;
      const datasets = new DatasetRegistry([testDataset(name, { kind: "local", path: archive }, { kind: "local", path: join(dir, `out-temporal-${mode}`) })]);
      const worker = await createWorker({ connection: await NativeConnection.connect({ address: server.address }), datasets, taskQueue: name });
      const input = { dataset: name, start, end, exhaustive: mode === "exhaustive", stride: Number(values.stride) };
      const began = Date.now();
      const options = censusOptions(input, `${name}-${Date.now()}`);
      const summary = await worker.runUntil(client.workflow.execute(censusV1, { ...options, taskQueue: name }));
      const seconds = (Date.now() - began) / 1000;
      const events = (await client.workflow.getHandle(options.workflowId).describe()).historyLength;
      out[mode] = { summary, events, seconds };
      console.error(`censusV1 ${mode}: ${seconds.toFixed(1)} s, ${events} events`);
    }
  } finally {
    await connection.close();
    await server.stop();
  }
  return out;
}

const expectedFirsts = [keyOf(first), ...boundaryTimes.map(keyOf)];
const rows = Object.entries(results).map(([mode, s]) => ({
  mode,
  files: s.files,
  eras: s.eras.length,
  exact: JSON.stringify(s.eras.map((e) => e.first)) === JSON.stringify(expectedFirsts),
  filesRead: s.counts.filesRead,
  megabytesRead: Number((s.counts.bytesRead / 1e6).toFixed(1)),
  requests: s.counts.requests,
  wallSeconds: Number((s.wallMs / 1000).toFixed(1)),
  changes: s.eras.slice(1).map((e) => e.changes.join("; ")),
}));
console.log(`census of ${start}..${end}, ${rows[0]!.files} hourly files, grid ${values.grid}, local files, stride ${values.stride}`);
console.log("| mode | files | eras | boundaries exact | files read | MB read | requests | wall time |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r.mode} | ${r.files} | ${r.eras} | ${r.exact ? "yes" : "NO"} | ${r.filesRead} | ${r.megabytesRead} | ${r.requests} | ${r.wallSeconds} s |`);
console.log(`changes found: ${rows[0]!.changes.join(" | ")}`);
console.log(`listing the ${rows[0]!.files} files alone (included in both wall times): ${listingSeconds.toFixed(1)} s; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(", ")}`);
if (values.temporal) {
  Runtime.install({ logger: new DefaultLogger("WARN") });
  const temporal = await viaTemporal();
  console.log("| censusV1 (dev server, one worker) | files read | eras | same eras as the library | wall time | history events |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const [mode, { summary, events, seconds }] of Object.entries(temporal)) {
    const same = JSON.stringify(summary.eras) === JSON.stringify(results[mode]!.eras);
    console.log(`| ${mode} | ${summary.counts.filesRead} | ${summary.eras.length} | ${same ? "yes" : "NO"} | ${seconds.toFixed(1)} s | ${events} |`);
    if (!same) process.exitCode = 1;
  }
}
if (values.json) await writeFile(values.json, JSON.stringify(rows, null, 2));
if (rows.some((r) => !r.exact)) process.exitCode = 1;
