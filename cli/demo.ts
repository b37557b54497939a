import { Client, Connection } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime } from "@temporalio/worker";
import { execFile } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { outputRules } from "../lib/backfill/model/output.js";
import { DatasetRegistry, loadDatasetRegistry } from "../lib/datasets/config.js";
import { himawari8Sst } from "../lib/datasets/presets.js";
import type { DatasetSpec } from "../lib/datasets/spec.js";
import { dayRange } from "../lib/calendar/periods.js";
import { containerPrefix, repositoryLocation } from "../lib/icechunk/index.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { optional, text, whole } from "../lib/settings/schema.js";
import { TemporalDevServer } from "../worker/devServer.js";
import { createWorker, defaultTaskQueue } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";
import type { BackfillInput } from "../workflows/types.js";
import { onOff, parseCommandLine } from "./args.js";
import { followBackfill, printSummary } from "./progress.js";

const run = promisify(execFile);

const help = `usage: temporal-kerchunk demo [--start 2022-01-13] [--days 3] [--keep] [--resume] [--ui-port N]
                              [--max-days N] [--max-files N] [--icechunk] [--dataset NAME --config datasets.json]

The main job on the embedded default: starts the local Temporal dev server (with its Web UI) and a
worker, writes a small Himawari-like archive (hourly netCDF-4 files, keyed like s3://noaa-himawari8)
under .work/demo/archive, backfills it day by day with a progress bar, and opens the first day's
references with xarray. --dataset/--config backfill one of your datasets instead of the sample.
--resume keeps earlier outputs (their days are skipped); --keep leaves the server up for the Web UI;
--max-days/--max-files bound the concurrency (lower them to watch the progress in the Web UI).
--icechunk writes the sample as one Icechunk store (output.format "icechunk": a commit per day)
under .work/demo/refs/AHI-L2-FLDK-SST.icechunk and opens it with xarray.`;

const python = resolve(repositoryRoot, ".venv/bin/python");

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
    });
    if (line.help) {
      console.log(help);
      return 0;
    }
    const { values } = line;
    const days = values.days;
    const start = dayRange(values.start, values.start).start;
    const end = start.plus({ days: days - 1 }).toFormat("yyyy-MM-dd");
    const workDir = resolve(repositoryRoot, ".work/demo");
    await mkdir(workDir, { recursive: true });

    let datasets: DatasetRegistry;
    let spec: DatasetSpec;
    if (values.dataset) {
      datasets = await loadDatasetRegistry(values.config ?? process.env.TK_CONFIG);
      spec = datasets.get(values.dataset);
    } else {
      const archive = resolve(workDir, "archive");
      console.log(`writing a Himawari-like archive: ${days} days x 24 hourly files under ${archive} ...`);
      await run(python, [resolve(repositoryRoot, "python/make_archive.py"), archive, values.start, String(days), "--hours", "24", "--grid", "90", "180"], {
        maxBuffer: 64 * 1024 * 1024,
      });
      spec = {
        ...himawari8Sst,
        name: "himawari8-sst-demo",
        description: "Himawari-like sample archive written by the demo",
        source: { ...himawari8Sst.source, storage: { kind: "local", path: archive } },
        output: { storage: { kind: "local", path: resolve(workDir, "refs") }, prefix: "", suffix: "", ...(values.icechunk ? { format: "icechunk" as const } : {}) },
      };
      datasets = new DatasetRegistry([spec]);
      if (!values.resume) await rm(resolve(workDir, "refs"), { recursive: true, force: true });
    }

    Runtime.install({ logger: new DefaultLogger("WARN") });
    console.log("starting the Temporal dev server ...");
    const server = await new TemporalDevServer({
      ui: true,
      ...(values["ui-port"] ? { uiPort: values["ui-port"] } : {}),
      dbFile: resolve(workDir, "temporal.db"),
      logFile: resolve(workDir, "temporal.log"),
      searchAttributes: searchAttributeRegistrations,
    }).start();
    console.log(`Temporal ${server.address}; Web UI ${server.uiUrl ?? "(not available)"}`);

    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const worker = await createWorker({ connection: nativeConnection, datasets });
    const running = worker.run();
    try {
      const input: BackfillInput = {
        dataset: spec.name,
        start: values.start,
        end,
        ...(values["max-days"] ? { maxConcurrentDays: values["max-days"] } : {}),
        ...(values["max-files"] ? { maxConcurrentFiles: values["max-files"] } : {}),
      };
      const options = backfillOptions(input);
      const { workflowId } = options;
      const handle = await client.workflow.start(backfillV3, {
        ...options,
        taskQueue: defaultTaskQueue,
        workflowIdReusePolicy: "ALLOW_DUPLICATE",
        staticSummary: `demo backfill ${spec.name} ${values.start}..${end}`,
      });
      if (server.uiUrl) console.log(`follow it in the Web UI: ${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
      const summary = await followBackfill(handle);
      printSummary(summary);

      const firstDay = values.start;
      const first = summary.results[firstDay];
      const resolved = datasets.get(spec.name);
      if (outputRules(resolved.output.format).store && resolved.output.storage.kind === "local" && resolved.source.storage.kind === "local") {
        const store = repositoryLocation(resolved).description;
        const container = containerPrefix(resolved.source.storage);
        const { stdout } = await run(python, [resolve(repositoryRoot, "python/open_refs.py"), "--icechunk", store, container]);
        describeOpened(`the Icechunk store ${store}`, stdout);
        console.log(`\nopen it yourself (Python >= 3.12 with icechunk >= 2, xarray, zarr >= 3):`);
        console.log(`  import icechunk, xarray as xr`);
        console.log(`  repo = icechunk.Repository.open(icechunk.local_filesystem_storage(${JSON.stringify(store)}),`);
        console.log(`      authorize_virtual_chunk_access={${JSON.stringify(container)}: icechunk.credentials.LocalFileSystemAccess})`);
        console.log(`  ds = xr.open_zarr(repo.readonly_session("main").store, consolidated=False)`);
      } else if (first?.outcome === "written" || first?.outcome === "existing") {
        const path = first.output;
        const { stdout } = await run(python, [resolve(repositoryRoot, "python/open_refs.py"), path]);
        describeOpened(`${path} with xarray (fsspec reference:// + zarr)`, stdout);
      }
      if (values.keep) {
        console.log(`\n--keep: the dev server and worker stay up (Web UI ${server.uiUrl}); Ctrl-C to stop`);
        await new Promise<void>((resolveWait) => process.once("SIGINT", () => resolveWait()));
      }
      return summary.status === "completed" ? 0 : 1;
    } finally {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await server.stop();
    }
  },
};
