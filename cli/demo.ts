/**
 * `temporal-kerchunk demo`: the main job on the embedded default. This module reads the command
 * line and runs the steps in order (dataset, dev server, worker, backfill, opening the outputs);
 * the steps' ideas live beside it: demoDataset (the sample or the user's dataset), demoStarted
 * (what runs, stopped in reverse order), demoLeftovers (what a stopped or killed demo left on its
 * server), demoOpen (xarray on the outputs).
 */
import { Client, Connection } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { mkdir, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { dayRange } from "../lib/calendar/periods.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { optional, text, whole } from "../lib/settings/schema.js";
import { TemporalDevServer } from "../worker/devServer.js";
import { installFileLogging } from "../worker/logFile.js";
import { createWorker, defaultTaskQueue } from "../worker/worker.js";
import { backfillOptions } from "../workflows/options.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";
import type { BackfillInput } from "../workflows/types.js";
import { onOff, parseCommandLine } from "./args.js";
import { sampleDataset, usersDataset, type DemoDataset } from "./demoDataset.js";
import { stopBackfill, stopLeftoverServer, terminateRunning } from "./demoLeftovers.js";
import { openOutputs } from "./demoOpen.js";
import { Started } from "./demoStarted.js";
import { Interruption } from "./interrupt.js";
import { followBackfill, printSummary, startOrFollow } from "./progress.js";

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
      const { datasets, spec }: DemoDataset = users ?? (await sampleDataset(workDir, values.start, days, values.icechunk, { started, signal }));

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

      await openOutputs(datasets.get(spec.name), summary, values.start, signal);
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
