/**
 * Issue 23, live arrivals from SQS (`listen --sqs-queue-url`, lib/live/sqs.ts) on real parts: two
 * SQS servers, one per wire protocol, and the run's dev server. moto's server
 * (test/harness/servers/moto.ts) speaks AWS's JSON protocol, the SDK's default and what AWS
 * answers: `listen` runs with no --sqs-protocol against it. goaws (test/harness/servers/goaws.ts)
 * speaks only the Query protocol (`--sqs-protocol query`): `listen` end to end and a refused
 * queue on both, the poller's redelivery on JSON only (it does not depend on the protocol). The
 * test's own requests are checked for their protocol (the JSON protocol's X-Amz-Target header, or
 * the Query form's Action), since moto answers both. No worker polls the live workflow's task queue: the check is the workflow's
 * history (a signal is recorded by the server whether or not a worker runs), whose `arrive`
 * signals must carry exactly the arrivals of the messages sent, and the queue itself, which must
 * hold afterwards only what was not delivered. The live workflow's own handling of arrivals is
 * test/live.test.ts's.
 *
 * Shown failing: with the SNS envelope not unwrapped (every body given to parseS3Event as it is)
 * the wait for keys[1]'s signal timed out; with a batch deleted before `deliver` (delete, then
 * route) the failing poller had deleted its message; with the garbage message deleted when it
 * would not parse, the queue came back empty; with nothing deleted, the queue handed out all
 * four messages again and the second test's message never counted as deleted; with a refused
 * first receive retried like a failed one (no ConfigError), "Missing expected rejection" after 30 s.
 * The JSON case (moto) with every request's X-Amz-Target made wrong (see the commit that added it).
 */
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Client, Connection } from "@temporalio/client";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { resolveDatasetSpec, type DatasetSpec, type ResolvedDatasetSpec } from "../lib/datasets/spec.js";
import { dayOfKey } from "../lib/live/keys.js";
import type { Arrival } from "../lib/live/model/steps.js";
import { createSqsClient, parseSqsMessage, startSqsPoller, type SqsPoller, type SqsProtocol } from "../lib/live/sqs.js";
import { ConfigError } from "../lib/errors.js";
import { ManagedProcess, repositoryRoot, sleep } from "../lib/servers/process.js";
import { arriveSignal, liveV1 } from "../workflows/live.js";
import { testDataset, writeConfig } from "./harness/archive.js";
import { temporalAddress, testDir, uniqueBucket } from "./harness/env.js";
import { until } from "./harness/wait.js";
import { GoawsServer } from "./harness/servers/goaws.js";
import { MotoServer } from "./harness/servers/moto.js";
import { clientFor } from "./harness/temporal.js";

const QUEUE = "arrivals";
let dir = "";
let config = "";
let sourceBucket = "";
let client: Client;
let connection: Connection;
const taskQueue = `live-sqs-idle-${Date.now().toString(36)}`;
// Key names the dataset's template takes (no file is read: nothing runs the workflow).
const keys = [0, 1, 2].map((h) => `AHI-L2-FLDK-SST/2022/03/01/0${h}00/202203010${h}0000-sst.nc`);

/** An SQS server of the test's, speaking one protocol; the queues' visibility timeout is 2 s. */
interface SqsServer {
  queueUrl(name: string): string;
  stop(): Promise<void>;
}
interface SqsCase {
  server: string;
  protocol: SqsProtocol;
  /** `listen`'s flags for the protocol (none for JSON, the default). */
  flags: string[];
  start(logFile: string): Promise<SqsServer>;
}
const cases: SqsCase[] = [
  { server: "moto", protocol: "json", flags: [], start: (logFile) => new MotoServer({ logFile }).start() },
  { server: "goaws", protocol: "query", flags: ["--sqs-protocol", "query"], start: (logFile) => new GoawsServer({ logFile, visibilityTimeoutSeconds: 2 }).start() },
];
const datasetOf = (c: SqsCase): string => `live-sqs-${c.protocol}`;

const s3Event = (key: string, etag: string): string =>
  JSON.stringify({ Records: [{ eventName: "ObjectCreated:Put", eventTime: "2022-03-01T00:10:00.000Z", s3: { bucket: { name: sourceBucket }, object: { key, eTag: etag } } }] });
const snsEnvelope = (message: string): string =>
  JSON.stringify({ Type: "Notification", MessageId: "m-1", TopicArn: "arn:aws:sns:us-east-1:123901341784:NewHimawari8Object", Message: message, Timestamp: "2022-03-01T00:10:01.000Z" });

/** The arrivals in the `arrive` signals of a workflow's history, in order. */
async function signalled(workflowId: string): Promise<Arrival[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory().catch(() => undefined);
  const arrivals: Arrival[] = [];
  for (const event of history?.events ?? []) {
    const payload = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
    if (payload) arrivals.push(...(JSON.parse(Buffer.from(payload).toString("utf8")) as Arrival[]));
  }
  return arrivals;
}

/**
 * Records each request's protocol: the JSON protocol's X-Amz-Target (`AmazonSQS.ReceiveMessage`),
 * or the Query protocol's Action from its form body (`query:ReceiveMessage`).
 */
function recordProtocol(sqs: SQSClient): string[] {
  const seen: string[] = [];
  sqs.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const target = request.headers?.["x-amz-target"];
      const action = typeof request.body === "string" ? /(?:^|&)Action=([A-Za-z]+)/.exec(request.body)?.[1] : undefined;
      seen.push(target ?? `query:${action ?? "?"}`);
      return next(args);
    },
    { step: "finalizeRequest", name: "recordSqsProtocol" },
  );
  return seen;
}

before(async () => {
  ({ client, connection } = await clientFor());
  dir = await testDir("live-sqs");
  sourceBucket = uniqueBucket("live-sqs-src");
  const datasets: DatasetSpec[] = cases.map((c) => {
    const dataset = testDataset(datasetOf(c), { kind: "s3", bucket: sourceBucket }, { kind: "s3", bucket: uniqueBucket("live-sqs-out") });
    return { ...dataset, output: { ...dataset.output, format: "icechunk" } };
  });
  config = await writeConfig(dir, datasets);
});

after(async () => {
  for (const c of cases) for (const id of [`${datasetOf(c)}/live`, `${datasetOf(c)}-lib/live`]) await client?.workflow.getHandle(id).terminate("test over").catch(() => undefined);
  await connection?.close();
});

for (const c of cases) {
  describe(`live arrivals from SQS: listen --sqs-queue-url on ${c.server} (${c.protocol === "json" ? "AWS JSON" : "Query"} protocol)`, () => {
    const dataset = datasetOf(c);
    let server: SqsServer;
    let sqs: SQSClient;
    let queueUrl = "";
    let spec: ResolvedDatasetSpec;
    let requests: string[] = [];
    const send = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    const expected = (operation: string): string => (c.protocol === "json" ? `AmazonSQS.${operation}` : `query:${operation}`);

    /** Every message the queue hands out within `seconds` (its visibility timeout is 2 s: what was received and not deleted is back by then). */
    async function drain(seconds: number): Promise<string[]> {
      const bodies: string[] = [];
      const deadline = Date.now() + seconds * 1000;
      while (Date.now() < deadline) {
        const answer = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
        for (const message of answer.Messages ?? []) bodies.push(message.Body ?? "");
        if (bodies.length > 0) break;
      }
      return bodies;
    }

    before(async () => {
      spec = resolveDatasetSpec(JSON.parse(await readFile(config, "utf8")).datasets.find((d: DatasetSpec) => d.name === dataset));
      server = await c.start(join(dir, `${c.server}.log`));
      // The servers take any credentials; the run's AWS_* name MinIO, which must not matter to the SQS client.
      sqs = createSqsClient({ queueUrl: server.queueUrl(QUEUE), protocol: c.protocol });
      requests = recordProtocol(sqs);
      queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: QUEUE, Attributes: { VisibilityTimeout: "2" } }))).QueueUrl!;
    });

    after(async () => {
      sqs?.destroy();
      await server?.stop();
    });

    test("raw S3 events and SNS envelopes reach the live workflow and are deleted; a duplicate too; a garbage message is left for the redrive policy", async () => {
      for (const key of keys) assert.equal(dayOfKey(spec, key), "2022-03-01", key);
      await send(s3Event(keys[0]!, "e0"));
      await send(snsEnvelope(s3Event(keys[1]!, "\"e1\"")));
      await send(s3Event(keys[0]!, "e0"));
      await send("not json at all");
      const logFile = join(dir, `listen-${c.server}.log`);
      const listen = new ManagedProcess(
        "listen",
        process.execPath,
        ["--import", "tsx", resolve(repositoryRoot, "cli/main.ts"), "listen", "--dataset", dataset, "--config", config, "--sqs-queue-url", queueUrl, ...c.flags,
          "--address", temporalAddress(), "--task-queue", taskQueue],
        logFile,
        { ...process.env, AWS_ACCESS_KEY_ID: "tk-sqs", AWS_SECRET_ACCESS_KEY: "tk-sqs-secret" },
      );
      await listen.start();
      let arrivals: Arrival[];
      try {
        arrivals = await until("both keys in the workflow's signals", async () => {
          const seen = await signalled(`${dataset}/live`);
          return seen.length >= 3 && (await readFile(logFile, "utf8")).includes("left in the queue for its redrive policy") ? seen : undefined;
        });
      } finally {
        await listen.stop();
      }
      // Only the garbage is left: the delivered messages were deleted.
      requests.length = 0;
      assert.deepEqual(await drain(10), ["not json at all"]);
      assert.ok(requests.length > 0 && requests.every((r) => r === expected("ReceiveMessage")), `${c.protocol} requests: ${[...new Set(requests)].join(", ")}`);
      const log = await readFile(logFile, "utf8");
      assert.deepEqual(
        arrivals.map((a) => [a.key, a.etag, a.day]).sort(),
        [[keys[0], "e0", "2022-03-01"], [keys[0], "e0", "2022-03-01"], [keys[1], "e1", "2022-03-01"]],
        "each message's arrival once, the duplicate included (the workflow drops it by key and ETag)",
      );
      assert.match(log, /listen: message \S+ (\(received \d+ times\) )?left in the queue for its redrive policy: .*the SQS message body: not JSON/);
      assert.match(log, /listen stopped: .*3 arrivals handed on, .*[1-9]\d* unparseable, 0 failed deliveries, 3 deleted/);
      assert.doesNotMatch(log, /tk-sqs-secret/);
    });

    // The poller's own logic, whatever the protocol: once, on the JSON protocol (AWS's).
    if (c.protocol === "json") test("a message whose delivery fails is not deleted and comes back to the next poller", async () => {
      // The garbage message of the test before is still there: both pollers count it and leave it.
      await send(s3Event(keys[2]!, "e2"));
      const workflowId = `${dataset}-lib/live`;
      const deliverWith = (own: Client) => async (arrivals: Arrival[]) => {
        await own.workflow.signalWithStart(liveV1, { workflowId, taskQueue, args: [{ dataset }], signal: arriveSignal, signalArgs: [arrivals] });
      };
      const lines: string[] = [];
      // Temporal unreachable: a client whose connection is closed.
      const { client: closed, connection: closedConnection } = await clientFor();
      await closedConnection.close();
      requests.length = 0;
      let failing: SqsPoller | undefined = startSqsPoller({ spec, client: sqs, queueUrl, deliver: deliverWith(closed), waitTimeSeconds: 1, log: (line) => lines.push(line) });
      try {
        await until("a failed delivery", async () => (failing!.counts.failedDeliveries > 0 ? true : undefined));
      } finally {
        await failing.stop();
      }
      assert.equal(failing.counts.deleted, 0);
      assert.equal(failing.counts.delivered, 0);
      assert.match(lines.join("\n"), /1 messages left in the queue .*could not hand 1 arrivals on/);
      failing = undefined;
      const working = startSqsPoller({ spec, client: sqs, queueUrl, deliver: deliverWith(client), waitTimeSeconds: 1 });
      try {
        await until("the message back and delivered", async () => (working.counts.deleted >= 1 ? true : undefined));
      } finally {
        await working.stop();
      }
      assert.deepEqual((await signalled(workflowId)).map((a) => [a.key, a.etag]), [[keys[2], "e2"]]);
      assert.equal(working.counts.delivered, 1);
      // The pollers spoke the JSON protocol: moto answers the Query protocol too, so say so.
      assert.deepEqual([...new Set(requests)].sort(), [expected("DeleteMessageBatch"), expected("ReceiveMessage")]);
    });

    test("a message that is not an S3 event says what it is; a queue that refuses to be read is a one-line ConfigError naming --sqs-queue-url", async () => {
      assert.throws(() => parseSqsMessage(JSON.stringify({ Type: "SubscriptionConfirmation", SubscribeURL: "https://sns.example/" })), /an SNS SubscriptionConfirmation message, not a Notification/);
      assert.throws(() => parseSqsMessage(snsEnvelope("not json")), /the SNS Notification's Message: not JSON/);
      assert.deepEqual(parseSqsMessage(snsEnvelope(JSON.stringify({ Event: "s3:TestEvent" }))), { created: [], other: 1 });
      const missing = server.queueUrl("no-such-queue");
      const poller = startSqsPoller({ spec, client: sqs, queueUrl: missing, deliver: async () => assert.fail("nothing to deliver"), waitTimeSeconds: 1 });
      try {
        // A poller that retries instead would never settle: 30 s decide.
        await assert.rejects(Promise.race([poller.done, sleep(30_000)]), (e: unknown) => e instanceof ConfigError && e.message.includes("--sqs-queue-url") && e.message.includes(missing) && !e.message.includes("\n"));
      } finally {
        await poller.stop();
      }
    });
  });
}
