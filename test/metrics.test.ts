/**
 * A worker serves Prometheus metrics (issue 21): `temporal-kerchunk worker --metrics-port N`, after
 * a small backfill with one corrupt file, shows the SDK's own metrics and ours with the counts the
 * backfill implies: files extracted, bytes read, one latency sample per translated file, the
 * corrupt file's failure under its error kind, the days written. Files extracted inside a batch of
 * small days (one runSmallDays activity for several days) count one by one too.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pickPort } from "../lib/servers/ports.js";
import { sleep } from "../lib/servers/process.js";
import { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import { makeArchive, startWorkerProcess, testDataset, writeConfig } from "./harness/archive.js";
import { temporalAddress, testDir } from "./harness/env.js";
import { completedExtractions, datasetHistories } from "./harness/outputs.js";
import { clientFor } from "./harness/temporal.js";

/** Sum of a metric's samples whose labels include all of `labels`. */
function sum(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of metrics.split("\n")) {
    const match = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total += Number(match[3]);
  }
  return total;
}

/**
 * A test archive of `days` days of 3 files each, the second file of day 2 corrupt, as dataset
 * `dataset`, and a worker process on `taskQueue` serving metrics on a port of its own.
 */
async function archiveAndWorker(label: string, dataset: string, taskQueue: string, start: string, days: number) {
  const dir = await testDir(label);
  const archive = join(dir, "archive");
  const keys = await makeArchive(archive, start, days, { hours: 3, grid: [10, 20] });
  await writeFile(join(archive, keys[4]!), "garbage, not HDF5"); // day 2's second file
  const config = await writeConfig(dir, [testDataset(dataset, { kind: "local", path: archive }, { kind: "local", path: join(dir, "out") })]);
  const port = await pickPort();
  const logFile = join(dir, "worker.log");
  const worker = await startWorkerProcess({ address: temporalAddress(), taskQueue, config, logFile, args: ["--metrics-port", String(port), "--metrics-host", "127.0.0.1"] });
  return { dir, archive, keys, port, logFile, worker };
}

/** The worker's /metrics (kept beside the test's files for a failure's reader). */
async function scrape(port: number, dir: string): Promise<string> {
  // The exporter reads the meter as it is scraped; a moment for the last activity's records.
  await sleep(500);
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  const metrics = await response.text();
  await writeFile(join(dir, "metrics.txt"), metrics);
  return metrics;
}

test("a worker's /metrics after a small backfill: the SDK's and ours, with the right counts", async () => {
  const { dir, archive, keys, port, logFile, worker } = await archiveAndWorker("metrics", "metrics-ds", "metrics", "2022-10-01", 2);
  const { client, connection } = await clientFor();
  let metrics: string;
  let translated: number;
  try {
    const summary = await client.workflow.execute(backfillV3, {
      ...backfillOptions({ dataset: "metrics-ds", start: "2022-10-01", end: "2022-10-02", smallDayFiles: 0 }),
      taskQueue: "metrics",
    });
    assert.equal(summary.days.written, 1);
    assert.equal(summary.days.failed, 1);
    assert.match(await readFile(logFile, "utf8"), new RegExp(`metrics on http://127\\.0\\.0\\.1:${port}/metrics`));
    metrics = await scrape(port, dir);
    // The day with the corrupt file may stop its other extractions: count what the histories say ran.
    translated = completedExtractions(await datasetHistories(client, "metrics-ds")).filter((e) => !e.reused).length;
  } finally {
    await connection.close();
    await worker.stop();
  }
  const bytes = (await Promise.all(keys.filter((_, i) => i !== 4).map((k) => readFile(join(archive, k))))).reduce((n, b) => n + b.length, 0);
  // Ours: the good files translated (none found staged), read in full at most, one latency each.
  assert.ok(translated >= 3, `${translated} files translated`);
  assert.equal(sum(metrics, "temporal_kerchunk_files_extracted_total", { reused: "false" }), translated, "files extracted");
  const read = sum(metrics, "temporal_kerchunk_source_bytes_read_total");
  assert.ok(read > 0 && read <= bytes * 2, `bytes read ${read} (files: ${bytes} bytes)`);
  assert.equal(sum(metrics, "temporal_kerchunk_file_latency_count"), translated, "one latency sample per translated file");
  assert.ok(sum(metrics, "temporal_kerchunk_file_latency_sum") > 0);
  assert.equal(sum(metrics, "temporal_kerchunk_activity_failures_total", { kind: "Hdf5FormatError", retryable: "false" }), 1, "the corrupt file's failure by kind");
  assert.equal(sum(metrics, "temporal_kerchunk_activity_retries_total"), 0, "a non-retryable failure is not retried");
  assert.equal(sum(metrics, "temporal_kerchunk_outputs_committed_total"), 1, "one day written");
  // The SDK's own, from the same endpoint.
  assert.ok(sum(metrics, "temporal_activity_execution_latency_count") >= 2, "the SDK's activity latency (an extraction activity a day)");
  assert.ok(sum(metrics, "temporal_workflow_completed_total") >= 1, "the SDK's completed workflows");
  // Every metric the Grafana dashboard plots is one the worker exports, with the labels it filters by.
  const dashboard = await readFile(new URL("../docs/grafana-dashboard.json", import.meta.url), "utf8");
  const plotted = new Set([...dashboard.matchAll(/\b(temporal_[a-z_]+?)(_bucket)?\{/g)].map((m) => m[1]! + (m[2] ?? "")));
  assert.ok(plotted.size >= 8, `${plotted.size} metrics in the dashboard`);
  const missing = [...plotted].filter((name) => !new RegExp(`^${name}\\{[^}]*namespace="default"[^}]*task_queue="metrics"`, "m").test(metrics));
  assert.deepEqual(missing, [], "metrics plotted in docs/grafana-dashboard.json but not exported with namespace and task_queue");
});

test("files extracted inside a batch of small days count one by one: files, bytes, a latency each, a failure by kind", async () => {
  const { dir, archive, keys, port, worker } = await archiveAndWorker("metrics-batch", "metrics-batch", "metrics-batch", "2022-11-01", 3);
  const { client, connection } = await clientFor();
  let metrics: string;
  try {
    // Small days in batches (the default smallDayFiles), one file at a time: day 1's three files,
    // day 2's first (its second is corrupt: the day fails, its third is not started), day 3's three.
    const summary = await client.workflow.execute(backfillV3, {
      ...backfillOptions({ dataset: "metrics-batch", start: "2022-11-01", end: "2022-11-03", maxConcurrentFiles: 1 }),
      taskQueue: "metrics-batch",
    });
    assert.deepEqual([summary.days.written, summary.days.failed], [2, 1]);
    const batches = [...(await datasetHistories(client, "metrics-batch")).values()].flatMap((h) => (h.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === "runSmallDays"));
    assert.ok(batches.length >= 1, "no batch of small days ran");
    metrics = await scrape(port, dir);
  } finally {
    await connection.close();
    await worker.stop();
  }
  const batch = { activity_type: "runSmallDays" };
  const bytes = (await Promise.all([0, 1, 2, 3, 6, 7, 8].map((i) => readFile(join(archive, keys[i]!))))).reduce((n, b) => n + b.length, 0);
  assert.equal(sum(metrics, "temporal_kerchunk_files_extracted_total", { ...batch, reused: "false" }), 7, "files extracted in batches");
  assert.equal(sum(metrics, "temporal_kerchunk_file_latency_count", batch), 7, "one latency sample per file");
  assert.ok(sum(metrics, "temporal_kerchunk_file_latency_sum", batch) > 0);
  const read = sum(metrics, "temporal_kerchunk_source_bytes_read_total", batch);
  assert.ok(read > 0 && read <= bytes * 2, `bytes read ${read} (files: ${bytes} bytes)`);
  assert.equal(sum(metrics, "temporal_kerchunk_activity_failures_total", { ...batch, kind: "Hdf5FormatError", retryable: "false" }), 1, "the corrupt file's failure by kind");
  assert.equal(sum(metrics, "temporal_kerchunk_activity_retries_total", batch), 0, "a non-retryable failure is not retried");
  // No extraction activity ran: every file went through the batch.
  assert.equal(sum(metrics, "temporal_kerchunk_files_extracted_total", { activity_type: "extractFiles" }) + sum(metrics, "temporal_kerchunk_files_extracted_total", { activity_type: "extractFile" }), 0);
});
