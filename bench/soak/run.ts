/**
 * Soak: a backfill of a simulated year (a few files per day, small grid) on MinIO and a local
 * Temporal dev server, with the worker process SIGKILLed and replaced every few seconds/minutes (or
 * every N days done). At the end: every day written exactly once, byte-identical to the library
 * run directly; every file translated exactly once (histories' extraction results with
 * reused: false); nothing lost, nothing duplicated. Records wall time, restarts, the worker's peak
 * RSS (VmRSS from /proc) and the largest history. Results: docs/reliability.md.
 *
 * usage: npx tsx bench/soak/run.ts [--year 2022] [--days 365] [--hours 4] [--grid 20x40]
 *          [--restart-every-seconds 6] [--restart-every-days 0] [--max-days N] [--max-files N]
 *          [--aggregation month] [--timeout-minutes 30] [--json out.json]
 */
import { Client, Connection } from "@temporalio/client";
import proto from "@temporalio/proto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { backfillDirect } from "../../lib/backfill/direct.js";
import { resolveDatasetSpec, type DatasetSpec } from "../../lib/datasets/spec.js";
import { MinioServer } from "../../test/harness/servers/minio.js";
import { useMinio } from "../servers.js";
import { repositoryRoot, sleep, type ManagedProcess } from "../../lib/servers/process.js";
import { TemporalDevServer } from "../../worker/devServer.js";
import { searchAttributeRegistrations } from "../../workflows/searchAttributes.js";
import { backfillV3 } from "../../workflows/backfill.js";
import { progressQuery } from "../../workflows/messages.js";
import { backfillOptions } from "../../workflows/options.js";
import { makeArchive, startWorkerProcess, testDataset, uploadArchive, writeConfig } from "../../test/harness/archive.js";
import { lastDayOf } from "../archive.js";
import { completedExtractions } from "../../test/harness/outputs.js";

const { values: options } = parseArgs({
  options: {
    year: { type: "string", default: "2022" },
    days: { type: "string", default: "365" },
    hours: { type: "string", default: "4" },
    grid: { type: "string", default: "20x40" },
    "restart-every-seconds": { type: "string", default: "6" },
    "restart-every-days": { type: "string", default: "0" },
    "max-days": { type: "string" },
    "max-files": { type: "string" },
    aggregation: { type: "string", default: "month" },
    "timeout-minutes": { type: "string", default: "30" },
    json: { type: "string" },
  },
});
const DAYS = Math.max(1, Math.min(366, Number(options.days)));
const HOURS = Math.max(1, Math.min(24, Number(options.hours)));
const GRID = options.grid!.split("x").map(Number) as [number, number];
const RESTART_SECONDS = Number(options["restart-every-seconds"]);
const RESTART_DAYS = Number(options["restart-every-days"]);
const AGGREGATION = options.aggregation as DatasetSpec["aggregation"];
const DEADLINE = Date.now() + Number(options["timeout-minutes"]) * 60_000;
const START = `${options.year}-01-01`;
const END = lastDayOf(START, DAYS);
const DATASET = "soak";
const TASK_QUEUE = "soak";

const log = (message: string): void => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** VmRSS of a process in bytes (0 when it is gone). */
async function rssOf(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

async function filesUnder(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out.set(relative(root, path), await readFile(path));
    }
  };
  await walk(root);
  return out;
}

async function main(): Promise<void> {
  const workDir = resolve(repositoryRoot, ".work/soak");
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  log(`year ${START}..${END}: ${DAYS} days x ${HOURS} files, grid ${GRID.join("x")}; restart every ${RESTART_SECONDS} s / ${RESTART_DAYS} days; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);

  const temporalServer = new TemporalDevServer({
    searchAttributes: searchAttributeRegistrations,
    dbFile: join(workDir, "temporal.db"),
    logFile: join(workDir, "temporal.log"),
  });
  const minio = new MinioServer({ dataDir: join(workDir, "minio-data"), logFile: join(workDir, "minio.log") });
  let worker: ManagedProcess | undefined;
  let connection: Connection | undefined;
  try {
    await Promise.all([temporalServer.start(), minio.start()]);
    useMinio(minio);

    let t = Date.now();
    const keys = await makeArchive(join(workDir, "archive"), START, DAYS, { hours: HOURS, grid: GRID });
    const bucket = await uploadArchive(join(workDir, "archive"), keys, "soak");
    log(`archive: ${keys.length} files written and uploaded in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const outFolder = join(workDir, "out-temporal");
    const spec = testDataset(DATASET, { kind: "s3", bucket }, { kind: "local", path: outFolder }, AGGREGATION);
    const config = await writeConfig(workDir, [spec]);
    const address = temporalServer.address;
    let generation = 0;
    const startWorker = async (): Promise<ManagedProcess> =>
      startWorkerProcess({ address, taskQueue: TASK_QUEUE, config, logFile: join(workDir, `worker-${++generation}.log`) });

    connection = await Connection.connect({ address });
    const client = new Client({ connection });
    worker = await startWorker();
    let peakRss = 0;
    const sampler = setInterval(() => {
      void rssOf(worker?.pid).then((rss) => (peakRss = Math.max(peakRss, rss)));
    }, 250);

    t = Date.now();
    const handle = await client.workflow.start(backfillV3, {
      ...backfillOptions({
        dataset: DATASET,
        start: START,
        end: END,
        ...(options["max-days"] ? { maxConcurrentDays: Number(options["max-days"]) } : {}),
        ...(options["max-files"] ? { maxConcurrentFiles: Number(options["max-files"]) } : {}),
        // Day workflows and their extraction activities: the soak's checks read each file's
        // extraction from history (batches of small days: test/smallDays.test.ts).
        smallDayFiles: 0,
      }),
      taskQueue: TASK_QUEUE,
    });
    let finished = false;
    const result = handle.result().then((r) => {
      finished = true;
      return r;
    });
    result.catch(() => (finished = true));

    // The restart loop: SIGKILL the worker and start a new one every RESTART_SECONDS, or every
    // RESTART_DAYS days done; bounded by the deadline.
    const restarts: { atSeconds: number; daysDone: number }[] = [];
    let lastRestart = Date.now();
    let lastRestartDays = 0;
    let lastLogged = 0;
    while (!finished) {
      if (Date.now() > DEADLINE) throw new Error(`soak did not finish within ${options["timeout-minutes"]} minutes`);
      await Promise.race([result.then(() => undefined, () => undefined), sleep(1000)]);
      if (finished) break;
      const progress = await handle.query(progressQuery).catch(() => undefined);
      const daysDone = progress?.daysDone ?? lastRestartDays;
      if (Date.now() - lastLogged > 15_000) {
        log(`progress: ${daysDone}/${DAYS} days, ${progress?.filesDone ?? "?"} files; worker RSS ${(await rssOf(worker.pid)) >> 20} MiB`);
        lastLogged = Date.now();
      }
      const dueByTime = RESTART_SECONDS > 0 && Date.now() - lastRestart >= RESTART_SECONDS * 1000;
      const dueByDays = RESTART_DAYS > 0 && daysDone - lastRestartDays >= RESTART_DAYS;
      if ((dueByTime || dueByDays) && daysDone < DAYS) {
        await worker.kill();
        worker = await startWorker();
        restarts.push({ atSeconds: Math.round((Date.now() - t) / 1000), daysDone });
        log(`worker SIGKILLed and replaced (restart ${restarts.length}) at ${daysDone} days done`);
        lastRestart = Date.now();
        lastRestartDays = daysDone;
      }
    }
    const summary = await result;
    const wallSeconds = (Date.now() - t) / 1000;
    clearInterval(sampler);
    await worker.stop();
    log(`backfill finished in ${wallSeconds.toFixed(1)} s: ${JSON.stringify(summary.days)}, files ${JSON.stringify(summary.files)}`);

    // The reference: the library run directly (no Temporal, no kills) into another folder.
    t = Date.now();
    const directFolder = join(workDir, "out-direct");
    const direct = await backfillDirect(resolveDatasetSpec(testDataset(DATASET, { kind: "s3", bucket }, { kind: "local", path: directFolder }, AGGREGATION)), START, END);
    const directSeconds = (Date.now() - t) / 1000;
    log(`direct run: ${directSeconds.toFixed(1)} s`);

    // Checks.
    const problems: string[] = [];
    const outputs = await filesUnder(outFolder);
    const expected = await filesUnder(directFolder);
    const dayOutputs = [...outputs.keys()].filter((k) => /\/\d{8}\.json$/.test(k));
    if (dayOutputs.length !== DAYS) problems.push(`${dayOutputs.length} day outputs, expected ${DAYS}`);
    if (outputs.size !== expected.size) problems.push(`${outputs.size} outputs, direct run wrote ${expected.size}`);
    let identical = 0;
    for (const [key, bytes] of expected) {
      if (outputs.get(key)?.equals(bytes)) identical++;
      else problems.push(`${key}: ${outputs.has(key) ? "differs" : "missing"}`);
    }
    for (const key of outputs.keys()) if (!expected.has(key)) problems.push(`${key}: extra output`);
    if (summary.days.failed !== 0) problems.push(`${summary.days.failed} days failed`);
    if (summary.days.written + summary.days.existing !== DAYS) problems.push(`days written ${summary.days.written} + existing ${summary.days.existing} != ${DAYS}`);
    for (const period of Object.keys(direct.results)) if (!(period in summary.results)) problems.push(`${period}: no result`);

    // Histories: every extraction, the largest history.
    const completions = new Map<string, { translated: number; reused: number }>();
    let largest = { workflowId: "", events: 0, bytes: 0 };
    let histories = 0;
    let totalEvents = 0;
    let activityRetries = 0;
    for await (const execution of client.workflow.list({ query: `TkDataset = '${DATASET}'` })) {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      histories++;
      const events = history.events ?? [];
      totalEvents += events.length;
      const bytes = proto.temporal.api.history.v1.History.encode(history).finish().length;
      if (bytes > largest.bytes) largest = { workflowId: `${execution.workflowId} (${execution.type})`, events: events.length, bytes };
      for (const event of events) {
        const started = event.activityTaskStartedEventAttributes;
        if (started && (started.attempt ?? 1) > 1) activityRetries += started.attempt! - 1;
      }
      for (const { file, reused } of completedExtractions(new Map([[execution.runId, history]]))) {
        const entry = completions.get(file) ?? { translated: 0, reused: 0 };
        if (reused) entry.reused++;
        else entry.translated++;
        completions.set(file, entry);
      }
    }
    const translatedTwice = [...completions].filter(([, c]) => c.translated > 1).map(([f]) => f);
    const completedTwice = [...completions].filter(([, c]) => c.translated + c.reused > 1).map(([f]) => f);
    const translated = [...completions.values()].reduce((n, c) => n + c.translated, 0);
    const reusedAfterKill = [...completions.values()].reduce((n, c) => n + c.reused, 0);
    if (completions.size !== keys.length) problems.push(`${completions.size} files extracted, ${keys.length} in the archive`);
    if (translatedTwice.length) problems.push(`translated twice: ${translatedTwice.slice(0, 5).join(", ")}`);
    if (completedTwice.length) problems.push(`extraction completed twice: ${completedTwice.slice(0, 5).join(", ")}`);
    const missing = keys.filter((k) => !completions.has(k));
    if (missing.length) problems.push(`never extracted: ${missing.slice(0, 5).join(", ")}`);
    const staging = [...outputs.keys()].filter((k) => k.includes(".staging"));
    if (staging.length) problems.push(`staging left behind: ${staging.length}`);

    const report = {
      command: `npx tsx bench/soak/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
      machine: { cores: cpus().length, memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)), node: process.version },
      archive: { days: DAYS, filesPerDay: HOURS, files: keys.length, grid: GRID, aggregation: AGGREGATION },
      wallSeconds: Number(wallSeconds.toFixed(1)),
      directSeconds: Number(directSeconds.toFixed(1)),
      restarts: restarts.length,
      restartLog: restarts,
      workerPeakRssMiB: Number((peakRss / 2 ** 20).toFixed(1)),
      summary: { days: summary.days, files: summary.files },
      outputs: { total: outputs.size, days: dayOutputs.length, identicalToDirect: identical },
      extractions: { files: completions.size, translated, reusedAfterKill, translatedTwice: translatedTwice.length },
      activityRetries,
      histories: { count: histories, totalEvents, largest },
      problems,
      verdict: problems.length === 0 ? "nothing lost, nothing duplicated" : "FAILED",
    };
    console.log(JSON.stringify(report, null, 2));
    if (options.json) await writeFile(options.json, JSON.stringify(report, null, 2));
    if (problems.length) process.exitCode = 1;
  } finally {
    await worker?.kill();
    await connection?.close();
    await Promise.allSettled([temporalServer.stop(), minio.stop()]);
    if (existsSync(join(workDir, "minio-data"))) await rm(join(workDir, "minio-data"), { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error("[soak] failed:", error);
  process.exit(1);
});
