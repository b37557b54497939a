/**
 * Issue 5's benchmark: a backfill of small Himawari-like hourly files end to end on Temporal (dev
 * server + a worker process), and the same extraction and combine without Temporal, on the same
 * archive. Reports wall time, files per second, the worker's peak memory and the largest history.
 *
 *   npx tsx bench/backfill/run.ts [--start 2022-01-01] [--days 31] [--hours 24] [--grid 30 60]
 *                                 [--max-days 4] [--max-files 4] [--files-per-activity 1]
 *
 * The archive is written once per (start, days, hours, grid) under .work/bench/ and reused.
 */
import { Client, Connection } from "@temporalio/client";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { backfillDirect } from "../../lib/backfill/direct.js";
import { resolveDatasetSpec, type DatasetSpec } from "../../lib/datasets/spec.js";
import { ManagedProcess, repositoryRoot, sleep } from "../../lib/servers/process.js";
import { TemporalDevServer } from "../../worker/devServer.js";
import { searchAttributeRegistrations } from "../../workflows/searchAttributes.js";
import { backfillV3 } from "../../workflows/backfill.js";
import { backfillOptions } from "../../workflows/options.js";
import type { BackfillInput } from "../../workflows/types.js";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    start: { type: "string", default: "2022-01-01" },
    days: { type: "string", default: "31" },
    hours: { type: "string", default: "24" },
    grid: { type: "string", multiple: true },
    "max-days": { type: "string", default: "4" },
    "max-files": { type: "string", default: "4" },
    "files-per-activity": { type: "string", default: "1" },
  },
});
const days = Number(values.days);
const hours = Number(values.hours);
const grid = values.grid?.length === 2 ? values.grid.map(Number) : [30, 60];
const end = new Date(Date.parse(`${values.start}T00:00:00Z`) + (days - 1) * 86_400_000).toISOString().slice(0, 10);

const benchDir = resolve(repositoryRoot, ".work/bench/backfill");
const archive = join(benchDir, `archive-${values.start}-${days}d-${hours}h-${grid.join("x")}`);

function dataset(output: string): DatasetSpec {
  return {
    name: "bench",
    source: { storage: { kind: "local", path: archive }, root: "AHI-L2-FLDK-SST", template: "{year}/{month}/{day}/*/{year}{month}{day}*", extension: ".nc" },
    output: { storage: { kind: "local", path: output }, prefix: "", suffix: "" },
    combine: { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] },
    aggregation: "day",
  };
}

/** Peak resident memory of a process so far (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  await mkdir(benchDir, { recursive: true });
  if (!existsSync(join(archive, ".complete"))) {
    console.error(`writing ${days} days x ${hours} files (${grid.join("x")}) under ${archive} ...`);
    await run(resolve(repositoryRoot, ".venv/bin/python"), [resolve(repositoryRoot, "python/make_archive.py"), archive, values.start!, String(days), "--hours", String(hours), "--grid", String(grid[0]), String(grid[1])], { maxBuffer: 256 * 1024 * 1024 });
    await writeFile(join(archive, ".complete"), "");
  }
  const files = days * hours;

  // Without Temporal.
  const directOut = join(benchDir, "out-direct");
  await rm(directOut, { recursive: true, force: true });
  let started = performance.now();
  await backfillDirect(resolveDatasetSpec(dataset(directOut)), values.start!, end, Number(values["max-files"]));
  const directMs = performance.now() - started;
  console.error(`direct: ${(directMs / 1000).toFixed(1)} s`);

  // On Temporal: dev server, worker process, backfill through the client.
  const temporalOut = join(benchDir, "out-temporal");
  await rm(temporalOut, { recursive: true, force: true });
  const serverDir = join(benchDir, `server-${Date.now()}`);
  const server = await new TemporalDevServer({ searchAttributes: searchAttributeRegistrations, dbFile: join(serverDir, "temporal.db"), logFile: join(serverDir, "temporal.log") }).start();
  const config = join(serverDir, "datasets.json");
  await writeFile(config, JSON.stringify({ datasets: [dataset(temporalOut)] }));
  const worker = new ManagedProcess("worker", process.execPath, ["--import", "tsx", resolve(repositoryRoot, "cli/main.ts"), "worker", "--address", server.address, "--task-queue", "bench", "--config", config], join(serverDir, "worker.log"), { ...process.env, TK_LOG_LEVEL: "WARN" });
  await worker.start();
  await sleep(3000); // worker start-up is not part of the backfill
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const input: BackfillInput = { dataset: "bench", start: values.start!, end, maxConcurrentDays: Number(values["max-days"]), maxConcurrentFiles: Number(values["max-files"]), filesPerActivity: Number(values["files-per-activity"]) };
  started = performance.now();
  const summary = await client.workflow.execute(backfillV3, { ...backfillOptions(input, "bench/backfill"), taskQueue: "bench" });
  const temporalMs = performance.now() - started;
  const workerPeak = peakRssMiB(worker.pid!);
  let largestEvents = 0;
  let largestBytes = 0;
  let workflows = 0;
  for await (const execution of client.workflow.list({ query: "TkDataset = 'bench'" })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    workflows++;
    largestEvents = Math.max(largestEvents, history.events?.length ?? 0);
    largestBytes = Math.max(largestBytes, JSON.stringify(history).length);
  }
  await connection.close();
  await worker.stop();
  await server.stop();

  const identical = (await run("diff", ["-r", join(directOut, "AHI-L2-FLDK-SST"), join(temporalOut, "AHI-L2-FLDK-SST")]).then(() => true, () => false));
  const result = {
    files,
    days,
    written: summary.days.written,
    directSeconds: +(directMs / 1000).toFixed(1),
    temporalSeconds: +(temporalMs / 1000).toFixed(1),
    overhead: +(temporalMs / directMs).toFixed(2),
    filesPerSecondTemporal: +(files / (temporalMs / 1000)).toFixed(1),
    filesPerSecondDirect: +(files / (directMs / 1000)).toFixed(1),
    workerPeakRssMiB: Math.round(workerPeak),
    workflows,
    largestHistoryEvents: largestEvents,
    largestHistoryKiB: Math.round(largestBytes / 1024),
    outputsIdentical: identical,
  };
  console.log(JSON.stringify(result, null, 2));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
