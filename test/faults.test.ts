/**
 * S3 faults during real backfills: the sources sit on MinIO behind Toxiproxy (latency, jitter,
 * bandwidth, resets, connections cut mid-body, silent connections, the store down) or behind our
 * FaultProxy (HTTP 500 InternalError / 503 SlowDown with S3 XML bodies). Each backfill must finish
 * with every day written, byte for byte what a fault-free direct run writes, and the retries it
 * needed must show in the workflow histories.
 */
import type { Client, Connection } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime, type Worker } from "@temporalio/worker";
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { backfillDirect } from "../lib/backfill/direct.js";
import { DatasetRegistry } from "../lib/datasets/config.js";
import { resolveDatasetSpec, type DatasetSpec } from "../lib/datasets/spec.js";
import { FaultProxy, faultPlans } from "./harness/servers/faultProxy.js";
import { sleep } from "../lib/servers/process.js";
import { ToxiproxyServer, type ProxyHandle } from "./harness/servers/toxiproxy.js";
import { createWorker } from "../worker/worker.js";
import { backfillV3 } from "../workflows/backfill.js";
import { backfillOptions } from "../workflows/options.js";
import { makeArchive, testDataset, uploadArchive } from "./harness/archive.js";
import { temporalAddress, testDir } from "./harness/env.js";
import { datasetHistories, filesUnder } from "./harness/outputs.js";
import { clientFor } from "./harness/temporal.js";

/** 3 days of 2 files (300 x 600 grid, about 550 KB each: a head read of 256 KiB and two more GETs per file). */
const START = "2022-04-01";
const END = "2022-04-03";
const DAYS = 3;
const FILES = 6;
const TASK_QUEUE = "faults";
const CASES = ["slow", "cut", "silent", "down", "status", "throttled"] as const;
type Case = (typeof CASES)[number];

let client: Client;
let connection: Connection;
let dir: string;
let bucket: string;
let expected: Map<string, string>;
const toxiproxy = new ToxiproxyServer();
const proxies = new Map<Case, ProxyHandle>();
const statusProxy = new FaultProxy({ upstream: process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:1" });
const throttleProxy = new FaultProxy({ upstream: process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:1" });
let worker: Worker;
let running: Promise<void>;
const socketTimeoutBefore = process.env.TK_S3_SOCKET_TIMEOUT_MS;

const endpointFor = (name: Case): string =>
  name === "status" ? statusProxy.url : name === "throttled" ? throttleProxy.url : proxies.get(name)!.url;

function spec(name: Case, endpoint: string | undefined, outFolder: string): DatasetSpec {
  return testDataset(`flt-${name}`, { kind: "s3", bucket, ...(endpoint ? { endpoint } : {}) }, { kind: "local", path: outFolder }, "day");
}

before(async () => {
  // Silent connections must fail in seconds, not at the (default 30 s) socket timeout.
  process.env.TK_S3_SOCKET_TIMEOUT_MS = "2000";
  ({ client, connection } = await clientFor());
  dir = await testDir("faults");
  const keys = await makeArchive(join(dir, "archive"), START, DAYS, { hours: 2, grid: [300, 600] });
  bucket = await uploadArchive(join(dir, "archive"), keys, "faults");
  // The reference: the library run directly against MinIO, no proxy, no fault.
  const direct = await backfillDirect(resolveDatasetSpec(spec("slow", undefined, join(dir, "out-direct"))), START, END);
  assert.equal(Object.values(direct.report).filter((r) => r.endsWith(".json")).length, DAYS);
  expected = await filesUnder(join(dir, "out-direct"));
  assert.equal(expected.size, DAYS);

  await Promise.all([toxiproxy.start(), statusProxy.start(), throttleProxy.start()]);
  for (const name of CASES) {
    if (name !== "status" && name !== "throttled") proxies.set(name, await toxiproxy.createProxy(`faults-${name}`, process.env.AWS_ENDPOINT_URL!));
  }
  const datasets = new DatasetRegistry(CASES.map((name) => spec(name, endpointFor(name), join(dir, `out-${name}`))));
  // Every injected fault makes the worker log a failed attempt at WARN: only errors here.
  Runtime.install({ logger: new DefaultLogger("ERROR") });
  const workerConn = await NativeConnection.connect({ address: temporalAddress() });
  worker = await createWorker({ connection: workerConn, datasets, taskQueue: TASK_QUEUE });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await connection?.close();
  await Promise.allSettled([toxiproxy.stop(), statusProxy.stop(), throttleProxy.stop()]);
  if (socketTimeoutBefore === undefined) delete process.env.TK_S3_SOCKET_TIMEOUT_MS;
  else process.env.TK_S3_SOCKET_TIMEOUT_MS = socketTimeoutBefore;
});

interface Retries {
  /** Attempts beyond the first, summed over every activity of the tree. */
  retries: number;
  /** The last failure before each retried activity succeeded (or gave up). */
  failures: string[];
  /** Activities scheduled, by type. */
  scheduled: Record<string, number>;
}

/**
 * Retries as the histories record them. An activity with a retry policy gets its
 * ActivityTaskStarted event when it closes, carrying the attempt that closed it and the failure
 * of the attempt before: attempt - 1 is how many times Temporal retried it.
 */
async function retriesInHistory(dataset: string): Promise<Retries> {
  const found: Retries = { retries: 0, failures: [], scheduled: {} };
  for (const history of (await datasetHistories(client, dataset)).values()) {
    for (const event of history.events ?? []) {
      const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type) found.scheduled[type] = (found.scheduled[type] ?? 0) + 1;
      const started = event.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1) {
        found.retries += started.attempt! - 1;
        found.failures.push(`${started.lastFailure?.applicationFailureInfo?.type ?? "?"}: ${started.lastFailure?.message ?? ""}`);
      }
    }
  }
  return found;
}

/**
 * Run the case's backfill while `inject` does its damage, then check: every day written, the
 * outputs byte-identical to the fault-free direct run, nothing left in staging. Returns the retries.
 */
async function backfillUnderFault(t: TestContext, name: Case, inject?: () => Promise<void>, settings: { smallDayFiles?: number } = {}): Promise<Retries> {
  const dataset = `flt-${name}`;
  const handle = await client.workflow.start(backfillV3, {
    ...backfillOptions({ dataset, start: START, end: END, maxConcurrentDays: 3, maxConcurrentFiles: 2, ...settings }),
    taskQueue: TASK_QUEUE,
  });
  await inject?.();
  const summary = await handle.result();
  assert.deepEqual(
    { days: summary.days, extracted: summary.files.extracted },
    { days: { total: DAYS, written: DAYS, existing: 0, failed: 0, noFiles: 0 }, extracted: FILES },
    JSON.stringify(summary.results),
  );
  const outputs = await filesUnder(join(dir, `out-${name}`));
  assert.deepEqual([...outputs.keys()].sort(), [...expected.keys()].sort(), "outputs written (and nothing else, no staging left)");
  for (const [key, content] of expected) assert.equal(outputs.get(key), content, `${key} differs from the fault-free run`);
  const retries = await retriesInHistory(dataset);
  // Every failure that reached Temporal was classified as retryable and typed.
  for (const failure of retries.failures) assert.match(failure, /^(SourceReadError|StorageError): /, failure);
  const kinds = [...new Set(retries.failures.map((f) => f.replace(/s3:\/\/\S+/g, "<url>").slice(0, 90)))];
  t.diagnostic(`${name}: ${retries.retries} Temporal retries over ${JSON.stringify(retries.scheduled)}; last failures: ${JSON.stringify(kinds)}`);
  return retries;
}

describe("backfills through a faulty S3 endpoint finish with every day written, byte-identical", () => {
  test("latency with jitter, a bandwidth limit and sliced packets: slower, same bytes", async (t) => {
    const proxy = proxies.get("slow")!;
    await proxy.latency(30, { jitter: 25 });
    await proxy.latency(10, { jitter: 10, stream: "upstream" });
    await proxy.addToxic({ type: "bandwidth", attributes: { rate: 4_000 } });
    await proxy.addToxic({ type: "slicer", attributes: { average_size: 1500, size_variation: 1000, delay: 200 } });
    await backfillUnderFault(t, "slow");
  });

  test("connections reset on connect and cut mid-body (limit_data): retried, never a short or mixed read", async (t) => {
    const proxy = proxies.get("cut")!;
    // A fifth of new connections are reset at once; 30 % are cut after 100 KB, inside the 256 KiB head read.
    await proxy.addToxic({ type: "reset_peer", attributes: { timeout: 0 }, toxicity: 0.2, stream: "upstream" });
    await proxy.addToxic({ type: "limit_data", attributes: { bytes: 100_000 }, toxicity: 0.3 });
    await backfillUnderFault(t, "cut");
  });

  test("silent connections (timeout toxic, never closed): the read times out and is retried instead of hanging", async (t) => {
    const proxy = proxies.get("silent")!;
    // A third of new connections swallow everything and stay open: without a socket timeout in
    // the S3 client, an extraction (which heartbeats on a timer) would wait for its 15-minute
    // start-to-close timeout.
    await proxy.addToxic({ type: "timeout", attributes: { timeout: 0 }, toxicity: 0.35 });
    await backfillUnderFault(t, "silent");
  });

  test("the store down for 5 s (proxy disabled, then enabled): the backfill waits it out; retries in history", async (t) => {
    const proxy = proxies.get("down")!;
    await proxy.disable();
    const retries = await backfillUnderFault(t, "down", async () => {
      await sleep(5_000);
      await proxy.enable();
    });
    // The SDK's own 3 attempts take well under a second: the outage reaches Temporal's retries.
    assert.ok(retries.retries >= 1, `no retry in history: ${JSON.stringify(retries)}`);
    assert.ok(retries.failures.some((f) => /ECONNREFUSED|ECONNRESET|socket hang up/i.test(f)), retries.failures.join("\n"));
  });

  test("HTTP 500 InternalError and 503 SlowDown answers (S3 XML bodies): retried by the SDK, then by Temporal", async (t) => {
    // The first 12 requests fail (more than the SDK's 3 attempts per call can absorb), then every 5th.
    const first = faultPlans.sequence(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? "SlowDown" : "InternalError")));
    const every = faultPlans.everyNth(5, "InternalError");
    let n = 0;
    statusProxy.setPlan((request) => (n++ < 12 ? first(request) : every(request)));
    // Day workflows (smallDayFiles 0), whose activities meet the faults first: a batch of small days
    // would hand each failing day to a day workflow, taking up the faults Temporal is to retry here.
    const retries = await backfillUnderFault(t, "status", undefined, { smallDayFiles: 0 });
    assert.ok(statusProxy.counts.injected.SlowDown >= 6 && statusProxy.counts.injected.InternalError >= 6, JSON.stringify(statusProxy.counts));
    assert.ok(retries.retries >= 1, `no retry in history: ${JSON.stringify(retries)}`);
    assert.ok(retries.failures.some((f) => /HTTP 50[03]/.test(f)), retries.failures.join("\n"));
    assert.equal(statusProxy.counts.upstreamErrors + statusProxy.counts.rejected, 0);
    t.diagnostic(`status proxy: ${JSON.stringify(statusProxy.counts)}`);
  });

  test("a seeded 30 % of requests throttled (503 SlowDown): the SDK and Temporal absorb it", async (t) => {
    throttleProxy.setPlan(faultPlans.share(0.3, 20220401, ["SlowDown", "InternalError"]));
    await backfillUnderFault(t, "throttled");
    const { injected, forwarded } = throttleProxy.counts;
    assert.ok(injected.SlowDown + injected.InternalError > 0 && forwarded > 0, JSON.stringify(throttleProxy.counts));
    t.diagnostic(`throttle proxy: ${JSON.stringify(throttleProxy.counts)}`);
  });
});
