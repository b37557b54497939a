/**
 * What one Temporal primitive costs on this machine (dev server on SQLite, one in-process worker):
 * trivial activities, local activities and child workflows, `--n` of each, `--limit` at once. Wall
 * time, per-item time, and the CPU the server and the worker spent.
 *
 *   npx tsx bench/temporal/primitives.ts [--n 500] [--limit 8,64] [--rollback-journal] [--eager] [--only manyActivities,...]
 *       [--address host:port --server-pid N]   (a server already running, instead of one started here)
 *       [--server-config KEY=VALUE ...]
 *
 * --rollback-journal runs the dev server on its own SQLite default instead of WAL; --eager turns on eager activity execution;
 * --server-config sets its dynamic config over ours (FEW_SHARDS_DYNAMIC_CONFIG). With `--limit 1` each item waits for the one
 * before: the time per item is what one hop of a workflow costs (e.g. history.transferProcessorMaxPollRPS=20: the server's own).
 */
import { Client, Connection } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime, Worker } from "@temporalio/worker";
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { TemporalDevServer } from "../../worker/devServer.js";
import { serverConfigOf } from "../servers.js";

const { values } = parseArgs({ options: { n: { type: "string", default: "500" }, limit: { type: "string", default: "8,64" }, only: { type: "string" }, address: { type: "string" }, "server-pid": { type: "string" }, "rollback-journal": { type: "boolean" }, eager: { type: "boolean" }, "server-config": { type: "string", multiple: true } } });
const n = Number(values.n);

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger("WARN") });
  const dir = await mkdtemp(join(tmpdir(), "tk-primitives-"));
  const server = values.address
    ? undefined
    : await new TemporalDevServer({
        dbFile: join(dir, "temporal.db"),
        ...(values["rollback-journal"] ? { sqlitePragmas: {} } : {}),
        dynamicConfig: { ...(values.eager ? { "system.enableActivityEagerExecution": true } : {}), ...serverConfigOf(values["server-config"]) },
      }).start();
  const address = values.address ?? server!.address;
  const serverPid = values["server-pid"] ? Number(values["server-pid"]) : (server as unknown as { process: { pid: number } }).process.pid;
  const connection = await Connection.connect({ address: address });
  const client = new Client({ connection });
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: address }),
    taskQueue: "primitives",
    workflowsPath: resolve(fileURLToPath(import.meta.url), "../workflows.ts"),
    activities: { noop: async () => 1 },
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentLocalActivityExecutions: 200,
  });
  const rows: string[] = [];
  await worker.runUntil(async () => {
    for (const limit of values.limit!.split(",").map(Number)) {
      for (const type of values.only?.split(",") ?? ["manyActivities", "manyLocalActivities", "manyChildren"]) {
        const serverCpu = cpuSeconds(serverPid);
        const workerCpu = process.cpuUsage();
        const started = performance.now();
        await client.workflow.execute(type, { taskQueue: "primitives", workflowId: `${type}-${limit}-${Date.now()}`, args: [n, limit] });
        const ms = performance.now() - started;
        const w = process.cpuUsage(workerCpu);
        const row = `| ${type} | ${limit} | ${(ms / 1000).toFixed(1)} s | ${(ms / n).toFixed(1)} ms | ${(((cpuSeconds(serverPid) - serverCpu) * 1000) / n).toFixed(1)} ms | ${((w.user + w.system) / 1000 / n).toFixed(1)} ms | ${loadavg()[0]!.toFixed(1)} |`;
        console.log(row);
        rows.push(row);
      }
    }
  });
  await connection.close();
  await server?.stop();
  console.log(`server: SQLite ${values["rollback-journal"] ? "rollback journal" : "WAL"}${values.eager ? ", eager activities" : ""}; ${n} of each`);
  console.log(["| what | at once | wall | wall per item | server CPU per item | worker CPU per item | load |", "| --- | --- | --- | --- | --- | --- | --- |", ...rows].join("\n"));
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
