/**
 * S3 event notifications from an SQS queue, for one dataset (Temporal-free: `temporal-kerchunk
 * listen --sqs-queue-url` hands `deliver` the function that signals the live workflow). This is
 * how NOAA's buckets announce new objects to an account that is not theirs: their SNS topic
 * accepts SQS subscriptions, so the chain is S3 → SNS → SQS → here (README "Live arrivals").
 *
 * The queue is long-polled (20 s, up to 10 messages). A message body is either the S3 event JSON
 * (S3 → SQS, or SNS with raw message delivery) or SNS's envelope whose `Message` is that JSON. A
 * batch's arrivals take the HTTP receiver's path (`arrivalRouter`, one `deliver` call), and its
 * messages are deleted only once `deliver` resolved: a crash or a failed delivery leaves them in
 * the queue, which hands them out again after its visibility timeout (the live workflow takes a
 * key and ETag once, so a redelivery costs nothing).
 *
 * A message that is not such JSON is counted, logged in one line and left in the queue: the
 * queue's redrive policy moves it to a dead-letter queue after maxReceiveCount receives, where it
 * can be read (deleting it here would lose what we did not understand). Without a redrive policy
 * it comes back every visibility timeout, logged each time.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message, type SQSClientConfig } from "@aws-sdk/client-sqs";
import { AwsQueryProtocol } from "@aws-sdk/core/protocols";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { ConfigError } from "../errors.js";
import { parseS3Event } from "./events.js";
import { arrivalRouter, DeliveryError, type ArrivalCounts, type DeliverArrivals, type ParsedS3Event } from "./listener.js";

/** SQS's wire protocols: AWS JSON (the SDK's default, what AWS answers) or the older Query protocol (goaws, older emulators; AWS answers it too). */
export type SqsProtocol = "json" | "query";

export interface SqsConnectionOptions {
  queueUrl: string;
  /** Default: the region in an AWS queue URL (sqs.<region>.amazonaws.com), else AWS_REGION or AWS_DEFAULT_REGION, else us-east-1. */
  region?: string;
  /** Default: AWS_ENDPOINT_URL_SQS, else the queue URL's own origin (not AWS_ENDPOINT_URL, which names the S3 store here). */
  endpoint?: string;
  protocol?: SqsProtocol;
}

export function sqsRegion(options: SqsConnectionOptions): string {
  const fromUrl = /\bsqs[.-]([a-z0-9-]+)\.amazonaws\.com/.exec(options.queueUrl)?.[1];
  return options.region ?? fromUrl ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
}

/**
 * An SQS client for the queue (an http(s) URL: `listen` checks it): credentials from the SDK's usual chain (environment, profiles,
 * instance roles), never passed in here, so nothing secret reaches a setting or a log line.
 */
export function createSqsClient(options: SqsConnectionOptions): SQSClient {
  const config: SQSClientConfig = {
    region: sqsRegion(options),
    endpoint: options.endpoint ?? process.env.AWS_ENDPOINT_URL_SQS ?? new URL(options.queueUrl).origin,
    // A long poll holds the connection 20 s; a socket silent for longer than that is dead.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 40_000 },
  };
  if (options.protocol === "query") {
    config.protocol = new AwsQueryProtocol({ defaultNamespace: "com.amazonaws.sqs", xmlNamespace: "http://queue.amazonaws.com/doc/2012-11-05/", version: "2012-11-05" });
  }
  return new SQSClient(config);
}

/**
 * The S3 event in an SQS message body: the event JSON itself, or an SNS Notification envelope
 * whose `Message` is it. Anything else is a ConfigError saying what the body is.
 */
export function parseSqsMessage(body: string): ParsedS3Event {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ConfigError("the SQS message body", "not JSON: expected an S3 event notification or an SNS Notification carrying one");
  }
  const envelope = parsed as { Type?: unknown; Message?: unknown } | null;
  if (envelope && typeof envelope === "object" && envelope.Type !== undefined) {
    if (envelope.Type !== "Notification" || typeof envelope.Message !== "string") {
      throw new ConfigError("the SQS message body", `an SNS ${String(envelope.Type)} message, not a Notification carrying an S3 event`);
    }
    return parseS3Event(envelope.Message, "the SNS Notification's Message");
  }
  return parseS3Event(body, "the SQS message body");
}

export interface SqsCounts extends ArrivalCounts {
  /** ReceiveMessage calls answered. */
  receives: number;
  messages: number;
  deleted: number;
  /** Messages that were not an S3 event (left in the queue), counted at every receive. */
  unparseable: number;
  /** Batches whose `deliver` failed (their messages left in the queue). */
  failedDeliveries: number;
  receiveErrors: number;
}

export interface SqsPollerOptions {
  spec: ResolvedDatasetSpec;
  client: SQSClient;
  queueUrl: string;
  /** Hands a batch's arrivals on; its messages are deleted only when this resolves. */
  deliver: DeliverArrivals;
  /** Long-poll wait (default 20 s, SQS's maximum). */
  waitTimeSeconds?: number;
  /** Messages per receive (default 10, SQS's maximum). */
  maxMessages?: number;
  /** One line per unparseable message, failed delivery or failed receive (default: nothing). */
  log?: (line: string) => void;
}

export interface SqsPoller {
  readonly counts: SqsCounts;
  /**
   * Settles when polling ends: resolves after `stop()`, rejects with a ConfigError when the first
   * receive is refused (no such queue, access denied, a wrong endpoint): a setting to fix, not to wait out.
   */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

const describe = (error: unknown): string => {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return [e?.name, e?.$metadata?.httpStatusCode, e?.message].filter((x) => x !== undefined && x !== "").join(": ");
};

export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const { client, queueUrl } = options;
  const counts: SqsCounts = { receives: 0, messages: 0, delivered: 0, outsideTemplate: 0, ignored: 0, deleted: 0, unparseable: 0, failedDeliveries: 0, receiveErrors: 0 };
  const route = arrivalRouter(options.spec, options.deliver, counts);
  const log = options.log ?? (() => undefined);
  const stopping = new AbortController();
  let backoffMs = 0;
  const backOff = async (): Promise<void> => {
    backoffMs = Math.min(30_000, Math.max(1_000, backoffMs * 2));
    await sleep(backoffMs, stopping.signal);
  };

  const handle = async (messages: Message[]): Promise<void> => {
    const taken: { message: Message; event: ParsedS3Event }[] = [];
    for (const message of messages) {
      try {
        taken.push({ message, event: parseSqsMessage(message.Body ?? "") });
      } catch (error) {
        counts.unparseable++;
        const received = message.Attributes?.ApproximateReceiveCount;
        log(`message ${message.MessageId}${received ? ` (received ${received} times)` : ""} left in the queue for its redrive policy: ${(error as Error).message}`);
      }
    }
    if (taken.length === 0) return;
    try {
      await route(taken.map((t) => t.event));
    } catch (error) {
      if (!(error instanceof DeliveryError)) throw error;
      counts.failedDeliveries++;
      log(`${taken.length} messages left in the queue (they come back after its visibility timeout): ${error.message}`);
      await backOff();
      return;
    }
    const answer = await client.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: taken.map((t, i) => ({ Id: String(i), ReceiptHandle: t.message.ReceiptHandle })) }),
    );
    counts.deleted += answer.Successful?.length ?? 0;
    // Not deleted: the message comes back and is delivered again, a duplicate the workflow ignores.
    for (const failed of answer.Failed ?? []) log(`could not delete message ${taken[Number(failed.Id)]?.message.MessageId}: ${failed.Code} ${failed.Message ?? ""}`.trim());
  };

  const poll = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      let messages: Message[];
      try {
        const answer = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            WaitTimeSeconds: options.waitTimeSeconds ?? 20,
            MaxNumberOfMessages: options.maxMessages ?? 10,
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
          { abortSignal: stopping.signal },
        );
        messages = answer.Messages ?? [];
      } catch (error) {
        if (stopping.signal.aborted) return;
        counts.receiveErrors++;
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (counts.receives === 0 && status !== undefined && status >= 400 && status < 500 && status !== 429) {
          throw new ConfigError("--sqs-queue-url", `${queueUrl}: the queue refused to be read (${describe(error)})`);
        }
        log(`receive from ${queueUrl} failed, trying again: ${describe(error)}`);
        await backOff();
        continue;
      }
      counts.receives++;
      counts.messages += messages.length;
      if (messages.length === 0) continue;
      try {
        await handle(messages);
        backoffMs = 0;
      } catch (error) {
        // A failed delete: the messages come back and are delivered again (duplicates, ignored).
        log(`handling ${messages.length} messages failed, they come back after the visibility timeout: ${describe(error)}`);
        await backOff();
      }
    }
  };

  const done = poll();
  return {
    counts,
    done,
    stop: async () => {
      stopping.abort();
      await done.catch(() => undefined);
    },
  };
}
