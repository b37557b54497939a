/**
 * The same month through the production-shaped cluster (Temporal server on PostgreSQL, mTLS;
 * test/harness/servers/temporalCluster.ts) with 1, 2 and 4 worker processes, beside the dev server
 * with one, in one run (issue 21): files/s, and the CPU of the server (Temporal server + PostgreSQL,
 * or the dev server) and of the workers. Every run starts from an empty output folder with a
 * backfill of its own; the archive is on MinIO behind Toxiproxy (+latency) as in docs/benchmarks.md.
 *
 *   npx tsx bench/cluster/run.ts [--days 31] [--hours 24] [--grid 300x600] [--latency-ms 20]
 *       [--workers 1,2,4] [--max-days N] [--json out.json]
 */
import { Client, Connection } from "@temporalio/client";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { DatasetSpec } from "../../lib/datasets/spec.js";
import { ManagedProcess, repositoryRoot, sleep } from "../../lib/servers/process.js";
import { uploadArchive } from "../../test/harness/archive.js";
import { MinioServer } from "../../test/harness/servers/minio.js";
import { TemporalCluster, clusterPrerequisites } from "../../test/harness/servers/temporalCluster.js";
import { ToxiproxyServer } from "../../test/harness/servers/toxiproxy.js";
import { TemporalDevServer } from "../../worker/devServer.js";
import { backfillV3 } from "../../workflows/backfill.js";
import { backfillOptions } from "../../workflows/options.js";
import { searchAttributeRegistrations } from "../../workflows/searchAttributes.js";
import { benchArchive, benchDir, cpuSeconds, lastDayOf } from "../archive.js";
import { useMinio } from "../servers.js";

const { values } = parseArgs({
  options: {
    start: { type: "string", default: "2022-01-01" },
    days: { type: "string", default: "31" },
    hours: { type: "string", default: "24" },
    grid: { type: "string", default: "300x600" },
    "latency-ms": { type: "string", default: "20" },
    workers: { type: "string", default: "1,2,4" },
    "max-days": { type: "string" },
    json: { type: "string" },
  },
});
const days = Number(values.days);
const hours = Number(values.hours);
const grid = values.grid!.split("x").map(Number);
const end = lastDayOf(values.start!, days);
const log = (message: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

interface Target {
  label: string;
  address: string;
  env: (worker: string) => NodeJS.ProcessEnv;
  connect: () => Promise<Connection>;
  serverCpu: () => number;
}

async function main(): Promise<void> {
  const prerequisites = await clusterPrerequisites();
  if (prerequisites.missing) throw new Error(`no production-shaped cluster here: ${prerequisites.missing}`);
  const { archive, keys } = await benchArchive(values.start!, days, hours, grid, log);
  const runDir = join(benchDir, `cluster-${Date.now()}`);
  await mkdir(runDir, { recursive: true });
  const minio = new MinioServer({ dataDir: join(runDir, "minio-data"), logFile: join(runDir, "minio.log") });
  const toxiproxy = new ToxiproxyServer({ logFile: join(runDir, "toxiproxy.log") });
  const workerCounts = values.workers!.split(",").map(Number);
  const maxWorkers = Math.max(...workerCounts);
  const dev = new TemporalDevServer({ searchAttributes: searchAttributeRegistrations, dbFile: join(runDir, "temporal.db"), logFile: join(runDir, "temporal.log") });
  const cluster = new TemporalCluster(join(runDir, "cluster"), prerequisites.pgBinDir!, Array.from({ length: maxWorkers + 1 }, (_, i) => (i === 0 ? "operator" : `worker-${i}`)));
  const results: Record<string, unknown>[] = [];
  try {
    await Promise.all([minio.start(), toxiproxy.start()]);
    useMinio(minio);
    const bucket = await uploadArchive(archive, keys, "bench");
    const proxy = await toxiproxy.createProxy("bench", minio.endpoint);
    await proxy.latency(Number(values["latency-ms"]));
    log(`${keys.length} files on MinIO behind Toxiproxy +${values["latency-ms"]} ms`);
    await Promise.all([dev.start(), cluster.start()]);
    const devPid = (dev as unknown as { process?: { pid?: number } }).process?.pid;
    const targets: [Target, number][] = [
      [{ label: "dev server (SQLite WAL)", address: dev.address, env: () => ({}), connect: () => Connection.connect({ address: dev.address }), serverCpu: () => cpuSeconds(devPid) }, 1],
      ...workerCounts.map((n): [Target, number] => [
        {
          label: "cluster (Temporal server + PostgreSQL, mTLS)",
          address: cluster.address,
          env: (worker) => cluster.clientEnv(worker),
          connect: () => cluster.connect("operator"),
          serverCpu: () => cpuSeconds(cluster.serverPid) + cpuSeconds(cluster.postgres.pid, true),
        },
        n,
      ]),
    ];
    for (const [index, [target, workerCount]] of targets.entries()) {
      const name = `run${index + 1}`;
      const out = join(runDir, `out-${name}`);
      const dataset: DatasetSpec = {
        name,
        source: { storage: { kind: "s3", bucket, endpoint: proxy.url }, root: "AHI-L2-FLDK-SST", template: "{year}/{month}/{day}/*/{year}{month}{day}*", extension: ".nc" },
        output: { storage: { kind: "local", path: out }, prefix: "", suffix: "" },
        combine: { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] },
        aggregation: "day",
      };
      const config = join(runDir, `${name}.json`);
      await writeFile(config, JSON.stringify({ datasets: [dataset] }));
      const workers: ManagedProcess[] = [];
      for (let i = 1; i <= workerCount; i++) {
        const worker = new ManagedProcess(
          `worker-${i}`,
          process.execPath,
          ["--import", "tsx", resolve(repositoryRoot, "cli/main.ts"), "worker", "--address", target.address, "--task-queue", name, "--config", config],
          join(runDir, `${name}-worker-${i}.log`),
          { ...process.env, TK_LOG_LEVEL: "WARN", ...target.env(`worker-${i}`) },
        );
        await worker.start();
        workers.push(worker);
      }
      await sleep(5000); // worker start-up is not part of the backfill
      const connection = await target.connect();
      try {
        const client = new Client({ connection });
        const load = [loadavg()[0]!];
        const before = { server: target.serverCpu(), workers: workers.map((w) => cpuSeconds(w.pid)) };
        const t = performance.now();
        const input = { dataset: name, start: values.start!, end, ...(values["max-days"] ? { maxConcurrentDays: Number(values["max-days"]) } : {}) };
        const summary = await client.workflow.execute(backfillV3, { ...backfillOptions(input), taskQueue: name });
        const wallSeconds = (performance.now() - t) / 1000;
        load.push(loadavg()[0]!);
        const result = {
          target: target.label,
          workers: workerCount,
          seconds: +wallSeconds.toFixed(1),
          filesPerSecond: +(keys.length / wallSeconds).toFixed(1),
          cpuSeconds: { server: +(target.serverCpu() - before.server).toFixed(1), workers: +workers.reduce((sum, w, i) => sum + cpuSeconds(w.pid) - before.workers[i]!, 0).toFixed(1) },
          daysWritten: summary.days.written,
          status: summary.status,
          load: load.map((l) => +l.toFixed(1)),
        };
        log(JSON.stringify(result));
        results.push(result);
      } finally {
        await connection.close();
        await Promise.allSettled(workers.map((w) => w.stop()));
      }
    }
    const report = {
      command: `npx tsx bench/cluster/run.ts ${process.argv.slice(2).join(" ")}`,
      machine: { cores: cpus().length, node: process.version },
      archive: { files: keys.length, days, hours, grid, source: `MinIO +${values["latency-ms"]} ms` },
      results,
    };
    console.log(JSON.stringify(report, null, 2));
    if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2));
  } finally {
    await Promise.allSettled([dev.stop(), cluster.stop(), minio.stop(), toxiproxy.stop()]);
    await rm(join(runDir, "minio-data"), { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
