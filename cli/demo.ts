import { Client, Connection, type WorkflowHandle } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { execFile } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { outputRules } from "../lib/backfill/model/output.js";
import { DatasetRegistry, loadDatasetRegistry } from "../lib/datasets/config.js";
import { himawari8Sst } from "../lib/datasets/presets.js";
import type { DatasetSpec } from "../lib/datasets/spec.js";
import { dayRange } from "../lib/calendar/periods.js";
import { ConfigError } from "../lib/errors.js";
import { containerPrefix, repositoryLocation } from "../lib/icechunk/index.js";
import { processesNaming, repositoryRoot, sleep } from "../lib/servers/process.js";
import { optional, text, whole } from "../lib/settings/schema.js";
import { TemporalDevServer } from "../worker/devServer.js";
import { installFileLogging } from "../worker/logFile.js";
import { createWorker, defaultTaskQueue } from "../worker/worker.js";
import type { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";
import type { BackfillInput } from "../workflows/types.js";
import { onOff, parseCommandLine } from "./args.js";
import { Interruption } from "./interrupt.js";
import { followBackfill, printSummary, startOrFollow } from "./progress.js";

const run = promisify(execFile);

const help = `usage: temporal-kerchunk demo [--start 2022-01-13] [--days 3] [--keep] [--resume] [--ui-port N]
                              [--max-days N] [--max-files N] [--icechunk] [--config datasets.json [--dataset NAME]]
                              [--work-dir DIR]

The main job on the embedded default: starts the local Temporal dev server (with its Web UI) and a
worker, writes a small Himawari-like archive (hourly netCDF-4 files, keyed like s3://noaa-himawari8)
under <work-dir>/archive, backfills it day by day with a progress bar, and opens the first day's
references with xarray. --config backfills a dataset of your config file instead of the sample: its
only one, or the one --dataset names (--dataset alone: a preset, or one of TK_CONFIG's).
--resume keeps earlier outputs (their days are skipped) and goes on with a backfill a killed demo
left running (without it, such workflows are terminated first); --keep leaves the server up for
the Web UI until Ctrl-C;
--max-days/--max-files bound the concurrency (lower them to watch the progress in the Web UI).
--icechunk writes the sample as one Icechunk store (output.format "icechunk": a commit per day)
under <work-dir>/refs/AHI-L2-FLDK-SST.icechunk and opens it with xarray.
--work-dir (default .work/demo in the repository) holds the sample archive, its outputs, the dev
server's database and logs, and the worker's log (worker.log: the terminal shows the progress and
one line per failed period).
Ctrl-C (or SIGTERM) stops the demo within seconds: the backfill is cancelled (what still runs on
the demo's server after a few seconds is terminated), then the worker and the dev server stop.`;

/** How long an interrupted demo waits for its cancelled backfill to end before terminating what still runs. */
const CANCEL_GRACE_MS = 5_000;

const python = resolve(repositoryRoot, ".venv/bin/python");

/** What the demo has started, stopped in reverse order on every way out (done, failed, interrupted). */
class Started {
  private readonly stops: { label?: string; stop: () => Promise<void> }[] = [];

  /**
   * `label` names it in the line an interruption prints; unlabelled ones go without saying. Returns
   * what to call once it has ended by itself (then it is neither named nor stopped).
   */
  add(stop: () => Promise<void>, label?: string): () => void {
    const entry = { stop, ...(label ? { label } : {}) };
    this.stops.push(entry);
    return () => {
      const at = this.stops.indexOf(entry);
      if (at >= 0) this.stops.splice(at, 1);
    };
  }

  /** "the backfill, the worker and the Temporal dev server" (what runs, last started first). */
  describe(): string {
    const labels = this.stops.flatMap((s) => (s.label ? [s.label] : [])).reverse();
    return labels.length <= 1 ? (labels[0] ?? "") : `${labels.slice(0, -1).join(", ")} and ${labels.at(-1)}`;
  }

  /** Stop everything; a stop that fails is told in one line and does not keep the others from running. */
  async stopAll(): Promise<void> {
    for (let next = this.stops.pop(); next; next = this.stops.pop()) {
      try {
        await next.stop();
      } catch (error) {
        console.error(`could not stop ${next.label ?? "a connection"}: ${(error as Error).message.split("\n")[0]}`);
      }
    }
  }
}

/** The demo's dataset: the sample (undefined), or one of the user's (--config's only one, or --dataset's). */
async function usersDataset(config: string | undefined, dataset: string | undefined): Promise<{ datasets: DatasetRegistry; spec: DatasetSpec } | undefined> {
  if (config === undefined && dataset === undefined) return undefined;
  const datasets = await loadDatasetRegistry(config ?? process.env.TK_CONFIG);
  if (dataset) return { datasets, spec: datasets.get(dataset) };
  const [only, ...others] = datasets.fromFile;
  if (only === undefined) throw new ConfigError("--config", `${config} defines no dataset`);
  if (others.length > 0) {
    throw new ConfigError("--config", `${config} defines ${datasets.fromFile.length} datasets: name one with --dataset (${datasets.fromFile.join(", ")})`);
  }
  return { datasets, spec: datasets.get(only) };
}

/**
 * Stop a backfill the demo stops before it ended (interrupted, or failed while following it): cancel
 * it (its years stop their extractions, then it ends cancelled), wait up to CANCEL_GRACE_MS, then
 * terminate whatever still runs on the demo's own server. So the server's database holds nothing
 * running, and the next demo starts clean.
 */
async function stopBackfill(client: Client, handle: WorkflowHandle<typeof backfillV3>): Promise<void> {
  await handle.cancel().catch(() => undefined);
  await Promise.race([handle.result().catch(() => undefined), sleep(CANCEL_GRACE_MS)]);
  await terminateRunning(client, "the demo stopped before its backfill ended");
}

/**
 * Stop a dev server that a killed demo (SIGKILL: nothing of it could stop its server) left running
 * on this work folder's database: two servers on one SQLite file would break it. Found by its
 * command line (where there is /proc).
 */
async function stopLeftoverServer(dbFile: string): Promise<void> {
  for (const { pid, args } of await processesNaming(dbFile)) {
    if (!args.includes("start-dev") || !args.includes(dbFile)) continue;
    console.log(`stopping the dev server (pid ${pid}) that a killed demo left running on ${dbFile}`);
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // It leads a process group of its own (ownProcessGroup).
    const signal = (name: NodeJS.Signals): void => {
      try {
        process.kill(-pid, name);
      } catch {
        if (alive()) process.kill(pid, name);
      }
    };
    signal("SIGTERM");
    for (let waited = 0; alive() && waited < 10_000; waited += 100) await sleep(100);
    if (alive()) signal("SIGKILL");
  }
}

/** Terminate every workflow running on the demo's server; how many there were. */
async function terminateRunning(client: Client, reason: string): Promise<number> {
  let count = 0;
  for await (const workflow of client.workflow.list({ query: "ExecutionStatus = 'Running'" })) {
    // One that ended since it was listed is not an error.
    await client.workflow
      .getHandle(workflow.workflowId, workflow.runId)
      .terminate(reason)
      .then(() => count++, () => undefined);
  }
  return count;
}

/** What python/open_refs.py says about an opened dataset, printed. */
function describeOpened(what: string, stdout: string): void {
  const opened = JSON.parse(stdout) as { dims: Record<string, number>; time?: [string, string]; variables: string[]; sample: { variable: string; at: Record<string, number>; value: number | null; units?: string } };
  console.log(`\nopened ${what}:`);
  console.log(`  dimensions: ${Object.entries(opened.dims).map(([k, v]) => `${k}=${v}`).join(", ")}`);
  if (opened.time) console.log(`  time: ${opened.time[0]} .. ${opened.time[1]}`);
  console.log(`  variables: ${opened.variables.join(", ")}`);
  console.log(`  ${opened.sample.variable}${JSON.stringify(opened.sample.at)} = ${opened.sample.value} ${opened.sample.units ?? ""}`);
}

export const demoCommand = {
  summary: "run the main job on the embedded default (local dev server, local data)",
  async run(args: string[]): Promise<number> {
    const line = parseCommandLine("demo", args, {
      start: optional(text(), "2022-01-13"),
      days: optional(whole({ min: 1, max: 366 }), 3),
      keep: onOff(),
      resume: onOff(),
      icechunk: onOff(),
      "ui-port": optional(whole({ min: 1, max: 65535 })),
      "max-days": optional(whole({ min: 1 })),
      "max-files": optional(whole({ min: 1 })),
      dataset: optional(text({ nonEmpty: true })),
      config: optional(text({ nonEmpty: true })),
      "work-dir": optional(text({ nonEmpty: true })),
    });
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values } = line;
    const days = values.days;
    const start = dayRange(values.start, values.start).start;
    const end = start.plus({ days: days - 1 }).toFormat("yyyy-MM-dd");
    const workDir = resolve(values["work-dir"] ?? resolve(repositoryRoot, ".work/demo"));
    const users = await usersDataset(values.config, values.dataset);
    await mkdir(workDir, { recursive: true });

    const started = new Started();
    const interruption = new Interruption((signal) => {
      const what = started.describe();
      process.stderr.write(`\ninterrupted (${signal}): stopping${what ? ` ${what}` : ""} ...\n`);
    });
    const { signal } = interruption;
    try {
      let datasets: DatasetRegistry;
      let spec: DatasetSpec;
      if (users) ({ datasets, spec } = users);
      else {
        const archive = resolve(workDir, "archive");
        console.log(`writing a Himawari-like archive: ${days} days x 24 hourly files under ${archive} ...`);
        // The signal kills it; named here so the interruption's line says what it stopped.
        const written = started.add(async () => undefined, "the archive writer");
        await run(python, [resolve(repositoryRoot, "python/make_archive.py"), archive, values.start, String(days), "--hours", "24", "--grid", "90", "180"], {
          maxBuffer: 64 * 1024 * 1024,
          signal,
        });
        written();
        spec = {
          ...himawari8Sst,
          name: "himawari8-sst-demo",
          description: "Himawari-like sample archive written by the demo",
          source: { ...himawari8Sst.source, storage: { kind: "local", path: archive } },
          output: { storage: { kind: "local", path: resolve(workDir, "refs") }, prefix: "", suffix: "", ...(values.icechunk ? { format: "icechunk" as const } : {}) },
        };
        datasets = new DatasetRegistry([spec]);
      }

      // The worker's log (the SDK's, our activities', the core's) goes to a file; we stop the worker ourselves.
      const workerLog = resolve(workDir, "worker.log");
      installFileLogging(workerLog, { shutdownSignals: [] });
      console.log(`starting the Temporal dev server ... (worker log: ${workerLog})`);
      // In a process group of its own, so a Ctrl-C at the terminal reaches only us: we stop the backfill before the server.
      const dbFile = resolve(workDir, "temporal.db");
      await stopLeftoverServer(dbFile);
      const server = new TemporalDevServer({
        ui: true,
        ...(values["ui-port"] ? { uiPort: values["ui-port"] } : {}),
        dbFile,
        logFile: resolve(workDir, "temporal.log"),
        searchAttributes: searchAttributeRegistrations,
        ownProcessGroup: true,
      });
      started.add(() => server.stop(), "the Temporal dev server");
      await interruption.race(server.start());
      console.log(`Temporal ${server.address}; Web UI ${server.uiUrl ?? "(not available)"}`);

      const nativeConnection = await interruption.race(NativeConnection.connect({ address: server.address }));
      started.add(() => nativeConnection.close());
      const connection = await interruption.race(Connection.connect({ address: server.address }));
      started.add(() => connection.close());
      const client = new Client({ connection });

      if (!values.resume) {
        // A fresh run: what an earlier demo left running (it was killed) would write into the outputs removed now.
        const left = await interruption.race(terminateRunning(client, "a fresh demo started"));
        if (left > 0) console.log(`terminated ${left} workflows an earlier demo left running (--resume goes on with them)`);
        if (!users) await rm(resolve(workDir, "refs"), { recursive: true, force: true });
      }

      const worker = await interruption.race(
        createWorker({ connection: nativeConnection, datasets, workerOptions: { shutdownGraceTime: "2 seconds", shutdownForceTime: "10 seconds" } }),
      );
      const running = worker.run();
      started.add(async () => {
        if (worker.getState() === "RUNNING") worker.shutdown();
        await running.catch(() => undefined);
      }, "the worker");
      const workerStopped = running.then(() => {
        throw new Error("the worker stopped before the backfill ended (see the worker log)");
      });
      workerStopped.catch(() => undefined); // it also stops when we stop it


      const input: BackfillInput = {
        dataset: spec.name,
        start: values.start,
        end,
        ...(values["max-days"] ? { maxConcurrentDays: values["max-days"] } : {}),
        ...(values["max-files"] ? { maxConcurrentFiles: values["max-files"] } : {}),
      };
      const options = backfillOptions(input);
      const { workflowId } = options;
      const { handle, runningSince } = await interruption.race(
        startOrFollow(client, { ...options, taskQueue: defaultTaskQueue, staticSummary: `demo backfill ${spec.name} ${values.start}..${end}` }),
      );
      const backfillEnded = started.add(() => stopBackfill(client, handle), "the backfill");
      if (runningSince) console.log(`going on with ${workflowId}, left running by an earlier demo (started ${runningSince.toISOString()})`);
      if (server.uiUrl) console.log(`follow it in the Web UI: ${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
      const summary = await interruption.race(Promise.race([followBackfill(handle, { signal }), workerStopped]));
      backfillEnded();
      printSummary(summary);

      const firstDay = values.start;
      const first = summary.results[firstDay];
      const resolved = datasets.get(spec.name);
      if (outputRules(resolved.output.format).store && resolved.output.storage.kind === "local" && resolved.source.storage.kind === "local") {
        const store = repositoryLocation(resolved).description;
        const container = containerPrefix(resolved.source.storage);
        const { stdout } = await run(python, [resolve(repositoryRoot, "python/open_refs.py"), "--icechunk", store, container], { signal });
        describeOpened(`the Icechunk store ${store}`, stdout);
        console.log(`\nopen it yourself (Python >= 3.12 with icechunk >= 2, xarray, zarr >= 3):`);
        console.log(`  import icechunk, xarray as xr`);
        console.log(`  repo = icechunk.Repository.open(icechunk.local_filesystem_storage(${JSON.stringify(store)}),`);
        console.log(`      authorize_virtual_chunk_access={${JSON.stringify(container)}: icechunk.credentials.LocalFileSystemAccess})`);
        console.log(`  ds = xr.open_zarr(repo.readonly_session("main").store, consolidated=False)`);
      } else if (first?.outcome === "written" || first?.outcome === "existing") {
        const path = first.output;
        const { stdout } = await run(python, [resolve(repositoryRoot, "python/open_refs.py"), path], { signal });
        describeOpened(`${path} with xarray (fsspec reference:// + zarr)`, stdout);
      }
      if (values.keep) {
        console.log(`\n--keep: the dev server and worker stay up (Web UI ${server.uiUrl}); Ctrl-C to stop`);
        await interruption.untilInterrupted();
      }
      return summary.status === "completed" ? 0 : 1;
    } catch (error) {
      // Whatever an interruption broke (a killed python, a closed connection) is its doing, not an error.
      if (interruption.interrupted) return interruption.exitCode;
      throw error;
    } finally {
      await started.stopAll();
      interruption.dispose();
    }
  },
};
