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
import { FaultProxy, faultPlans, type InjectedFault } from "./harness/servers/faultProxy.js";
import { sleep } from "../lib/servers/process.js";
import { ToxiproxyServer, type ProxyHandle } from "./harness/servers/toxiproxy.js";
import { s3Attempts, type S3AttemptCounts } from "../lib/source/s3Client.js";
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

/**
 * What the S3 clients of this process (the in-process worker's) sent to an endpoint during `run`:
 * attempts, and failed attempts by error code or name (each one the SDK retried, or gave up on and
 * Temporal retried).
 */
async function attemptsDuring<T>(endpoint: string, run: () => Promise<T>): Promise<{ result: T; attempts: number; failed: Record<string, number> }> {
  const before = s3Attempts(endpoint);
  const result = await run();
  const after = s3Attempts(endpoint);
  const failed: Record<string, number> = {};
  for (const [name, n] of Object.entries(after.failed)) if (n > (before.failed[name] ?? 0)) failed[name] = n - (before.failed[name] ?? 0);
  return { result, attempts: after.attempts - before.attempts, failed };
}

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * The S3 clients' failed attempts are the fault proxy's injected answers, one for one: by S3 error
 * code, except that an error answer to a HEAD has no body to name it (the SDK calls it Unknown).
 */
function assertInjectedMet(failed: Record<string, number>, injected: Record<InjectedFault, number>): void {
  assert.equal(sum(failed), sum(injected), `failed attempts ${JSON.stringify(failed)}, injected ${JSON.stringify(injected)}`);
  for (const [name, n] of Object.entries(failed)) {
    if (name !== "Unknown") assert.ok(name in injected && n <= injected[name as InjectedFault], `failed attempts ${JSON.stringify(failed)}, injected ${JSON.stringify(injected)}`);
  }
}

/**
 * Wait until the S3 clients of this process have had an attempt to `endpoint` fail with a code or
 * name matching `pattern` since `since` was taken: the fault was met.
 */
async function untilFailed(endpoint: string, pattern: RegExp, since: S3AttemptCounts): Promise<void> {
  const deadline = Date.now() + 120_000;
  const met = (): number => Object.entries(s3Attempts(endpoint).failed).filter(([name, n]) => pattern.test(name) && n > (since.failed[name] ?? 0)).length;
  while (met() === 0) {
    if (Date.now() > deadline) throw new Error(`no S3 request through ${endpoint} failed with ${pattern} in 2 minutes: ${JSON.stringify(s3Attempts(endpoint))}`);
    await sleep(50);
  }
}

describe("backfills through a faulty S3 endpoint finish with every day written, byte-identical", () => {
  test("latency with jitter, a bandwidth limit and sliced packets: slower, same bytes", async (t) => {
    const proxy = proxies.get("slow")!;
    await proxy.latency(30, { jitter: 25 });
    await proxy.latency(10, { jitter: 10, stream: "upstream" });
    await proxy.addToxic({ type: "bandwidth", attributes: { rate: 4_000 } });
    await proxy.addToxic({ type: "slicer", attributes: { average_size: 1500, size_variation: 1000, delay: 200 } });
    const { attempts, failed } = await attemptsDuring(proxy.url, () => backfillUnderFault(t, "slow"));
    // The reads went through the proxy, and its toxics (toxicity 1: every connection gets them)
    // were on it from before the first read to after the last.
    assert.ok(attempts >= FILES, `${attempts} S3 requests through the slow proxy`);
    const toxics = (await proxy.toxics()).map((x) => `${x.type} ${x.stream} ${x.toxicity}`).sort();
    assert.deepEqual(toxics, ["bandwidth downstream 1", "latency downstream 1", "latency upstream 1", "slicer downstream 1"]);
    t.diagnostic(`slow: ${attempts} S3 requests through the proxy, failed: ${JSON.stringify(failed)}`);
  });

  test("connections reset on connect and cut mid-body (limit_data): retried, never a short or mixed read", async (t) => {
    const proxy = proxies.get("cut")!;
    // A fifth of new connections are reset at once; 30 % are cut after 100 KB, inside the 256 KiB
    // head read. Each toxic starts on every connection, until a request has met it: with keep-alive
    // a backfill this small opens a handful of connections, which may all escape a 20 % toxic.
    const since = s3Attempts(proxy.url);
    await proxy.addToxic({ type: "reset_peer", name: "reset", attributes: { timeout: 0 }, toxicity: 1, stream: "upstream" });
    const { result: retries, attempts, failed } = await attemptsDuring(proxy.url, () =>
      backfillUnderFault(t, "cut", async () => {
        await untilFailed(proxy.url, /ECONNRESET|EPIPE|socket hang up/i, since);
        await proxy.updateToxic("reset", { toxicity: 0.2 });
        await proxy.addToxic({ type: "limit_data", name: "cut", attributes: { bytes: 100_000 }, toxicity: 1 });
        await untilFailed(proxy.url, /^body:/, since);
        await proxy.updateToxic("cut", { toxicity: 0.3 });
      }),
    );
    // The faults were met and retried: S3 requests that failed on a reset or cut connection (the
    // SDK retried them), or reads cut inside a body (short, or the stream broke: Temporal retried).
    const cutReads = retries.failures.filter((f) => /ECONNRESET|socket hang up|aborted|premature|terminated|got \d+/i.test(f));
    t.diagnostic(`cut: ${attempts} S3 requests, failed: ${JSON.stringify(failed)}; ${cutReads.length} of ${retries.failures.length} Temporal retries on a cut read`);
    assert.ok(Object.keys(failed).some((name) => /ECONNRESET|EPIPE|socket hang up/i.test(name)), `no connection reset: ${JSON.stringify(failed)}`);
    assert.ok(Object.keys(failed).some((name) => name.startsWith("body:")), `no body cut: ${JSON.stringify(failed)}`);
  });

  test("silent connections (timeout toxic, never closed): the read times out and is retried instead of hanging", async (t) => {
    const proxy = proxies.get("silent")!;
    // A third of new connections swallow everything and stay open: without a socket timeout in
    // the S3 client, an extraction (which heartbeats on a timer) would wait for its 15-minute
    // start-to-close timeout.
    // On every connection until a request has timed out (as for the cut case), then a third.
    const since = s3Attempts(proxy.url);
    await proxy.addToxic({ type: "timeout", name: "silent", attributes: { timeout: 0 }, toxicity: 1 });
    const { result: retries, attempts, failed } = await attemptsDuring(proxy.url, () =>
      backfillUnderFault(t, "silent", async () => {
        await untilFailed(proxy.url, /Timeout|ETIMEDOUT/i, since);
        await proxy.updateToxic("silent", { toxicity: 0.35 });
      }),
    );
    // Requests timed out (the socket timeout) and were retried, by the SDK or by Temporal.
    const timedOutInHistory = retries.failures.filter((f) => /Timeout|timed out/i.test(f)).length;
    t.diagnostic(`silent: ${attempts} S3 requests, failed: ${JSON.stringify(failed)}; ${timedOutInHistory} Temporal retries after a timeout`);
    assert.ok(Object.keys(failed).some((name) => /Timeout|ETIMEDOUT/i.test(name)), `no request timed out: ${JSON.stringify({ attempts, failed, retries })}`);
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
    const { result: retries, failed } = await attemptsDuring(statusProxy.url, () => backfillUnderFault(t, "status", undefined, { smallDayFiles: 0 }));
    assert.ok(statusProxy.counts.injected.SlowDown >= 6 && statusProxy.counts.injected.InternalError >= 6, JSON.stringify(statusProxy.counts));
    // Every injected answer reached an S3 client as a failed attempt.
    assertInjectedMet(failed, statusProxy.counts.injected);
    assert.ok(retries.retries >= 1, `no retry in history: ${JSON.stringify(retries)}`);
    assert.ok(retries.failures.some((f) => /HTTP 50[03]/.test(f)), retries.failures.join("\n"));
    assert.equal(statusProxy.counts.upstreamErrors + statusProxy.counts.rejected, 0);
    t.diagnostic(`status proxy: ${JSON.stringify(statusProxy.counts)}`);
  });

  test("a seeded 30 % of requests throttled (503 SlowDown): the SDK and Temporal absorb it", async (t) => {
    throttleProxy.setPlan(faultPlans.share(0.3, 20220401, ["SlowDown", "InternalError"]));
    const { failed } = await attemptsDuring(throttleProxy.url, () => backfillUnderFault(t, "throttled"));
    const { injected, forwarded } = throttleProxy.counts;
    assert.ok(injected.SlowDown + injected.InternalError > 0 && forwarded > 0, JSON.stringify(throttleProxy.counts));
    // Every injected answer reached an S3 client as a failed attempt (which the SDK or Temporal retried).
    assertInjectedMet(failed, injected);
    t.diagnostic(`throttle proxy: ${JSON.stringify(throttleProxy.counts)}`);
  });
});
