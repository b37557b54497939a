/**
 * The receiving end of S3 event notifications for one dataset (Temporal-free: `temporal-kerchunk
 * listen` hands `deliver` a function that signals the live workflow). MinIO's webhook target POSTs
 * each event's JSON; every object-created record whose bucket and key are the dataset's (its
 * template, `keys.ts`) becomes an Arrival; the others are counted and dropped. The answer is 200
 * only once `deliver` has taken the request's arrivals (durably: a Temporal signal), else 503, so
 * the sender keeps the event and tries again (MinIO with a queue_dir keeps undelivered events on
 * disk across its own restarts and while `listen` is down).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { joinKey } from "../storage/storage.js";
import { parseS3Event } from "./events.js";
import { dayOfKey, sourceKeyOf, templatePattern } from "./keys.js";
import { createSnsReceiver, SnsRefusal, type SnsOptions } from "./sns.js";
import type { Arrival } from "./model/steps.js";

/** An S3 event notification's records as `parseS3Event` sorts them. */
export type ParsedS3Event = ReturnType<typeof parseS3Event>;

/** What became of the records of the S3 events a receiver (HTTP here, SQS in `sqs.ts`) took. */
export interface ArrivalCounts {
  /** Object-created records of the dataset, handed to `deliver`. */
  delivered: number;
  /** Object-created records outside the dataset (another bucket or prefix, a key the template does not match). */
  outsideTemplate: number;
  /** Other records (deletions, test events). */
  ignored: number;
}

export interface ListenerCounts extends ArrivalCounts {
  requests: number;
  /** Requests refused: not an S3 event, a wrong token, or `deliver` failed (the sender retries those). */
  refused: number;
}

/** Hands arrivals on durably (`listen`: one signal to the live workflow); rejects when it could not. */
export type DeliverArrivals = (arrivals: Arrival[]) => Promise<void>;

/** `deliver` rejected: the events stay with their sender (an HTTP 503, an SQS message left in the queue). */
export class DeliveryError extends Error {
  constructor(count: number, cause: unknown) {
    super(`could not hand ${count} arrivals on: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = "DeliveryError";
  }
}

/**
 * The one path from parsed S3 events to the live workflow, for every receiver: each object-created
 * record whose bucket and key are the dataset's (its template, `keys.ts`) becomes an Arrival, the
 * others are counted; the arrivals of all `events` go to `deliver` in one call. Resolves with how
 * many were handed on; rejects with a DeliveryError (counts of delivered unchanged) when `deliver` does.
 */
export function arrivalRouter(spec: ResolvedDatasetSpec, deliver: DeliverArrivals, counts: ArrivalCounts): (events: ParsedS3Event[]) => Promise<number> {
  const pattern = templatePattern(joinKey(spec.source.root, `${spec.source.template}${spec.source.extension}`));
  return async (events) => {
    const arrivals: Arrival[] = [];
    for (const event of events) {
      counts.ignored += event.other;
      for (const created of event.created) {
        const key = sourceKeyOf(spec, created.bucket, created.key);
        const day = key === undefined ? undefined : dayOfKey(spec, key, pattern);
        if (key === undefined || day === undefined) counts.outsideTemplate++;
        else arrivals.push({ key, etag: created.etag, day });
      }
    }
    if (arrivals.length === 0) return 0;
    try {
      await deliver(arrivals);
    } catch (error) {
      throw new DeliveryError(arrivals.length, error);
    }
    counts.delivered += arrivals.length;
    return arrivals.length;
  };
}

export interface ListenerOptions {
  spec: ResolvedDatasetSpec;
  /** Hands a request's arrivals on; the request is answered 200 only when this resolves. */
  deliver: DeliverArrivals;
  host?: string;
  port?: number;
  /** When set, requests must carry `Authorization: Bearer <token>` (MinIO's webhook auth_token). */
  authToken?: string;
  /** Bodies larger than this are refused (default 4 MiB: an S3 event is a few KB). */
  maxBodyBytes?: number;
  /** When set, SNS HTTP(S) deliveries from these topics are accepted too (`sns.ts`); without it SNS messages are refused. */
  sns?: SnsOptions;
  /** One line per refused request (default: nothing). */
  log?: (line: string) => void;
}

export interface Listener {
  readonly url: string;
  readonly counts: ListenerCounts;
  close(): Promise<void>;
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of request as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limit) throw new RequestError(413, `body over ${limit} bytes`);
    parts.push(part);
  }
  return Buffer.concat(parts).toString("utf8");
}

export async function startListener(options: ListenerOptions): Promise<Listener> {
  const counts: ListenerCounts = { requests: 0, delivered: 0, outsideTemplate: 0, ignored: 0, refused: 0 };
  const route = arrivalRouter(options.spec, options.deliver, counts);
  const limit = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const sns = options.sns ? createSnsReceiver(options.sns) : undefined;

  const handle = async (request: IncomingMessage): Promise<string> => {
    // MinIO checks that a webhook endpoint answers before it sends events to it; a GET shows the counts.
    if (request.method === "GET" || request.method === "HEAD") return JSON.stringify(counts);
    if (request.method !== "POST") throw new RequestError(405, `method ${request.method} not allowed`);
    // SNS sends no bearer token: a signed SNS message is checked by its signature instead (sns.ts).
    const signedBySns = sns !== undefined && request.headers["x-amz-sns-message-type"] !== undefined;
    if (options.authToken && !signedBySns && request.headers.authorization !== `Bearer ${options.authToken}` && request.headers.authorization !== options.authToken) {
      throw new RequestError(401, "missing or wrong Authorization token");
    }
    const body = await readBody(request, limit);
    let event: ParsedS3Event;
    const snsType = request.headers["x-amz-sns-message-type"];
    if (typeof snsType === "string") {
      // SNS HTTP(S) delivery: the signature and topic are checked, a subscription confirmed (sns.ts).
      if (!sns) throw new RequestError(403, `an SNS ${snsType}: listen accepts SNS only from the topics --sns-topic-arn names`);
      const outcome = await sns.receive(snsType, body).catch((error: unknown) => {
        throw error instanceof SnsRefusal ? new RequestError(error.status, error.message) : error;
      });
      if (outcome.type !== "Notification") return `${outcome.type} of ${outcome.topicArn} done`;
      event = outcome.event;
    } else {
      if (/"Type"\s*:\s*"(SubscriptionConfirmation|Notification)"/.test(body)) {
        throw new RequestError(400, "an SNS message without its x-amz-sns-message-type header");
      }
      try {
        event = parseS3Event(body);
      } catch (error) {
        throw new RequestError(400, (error as Error).message);
      }
    }
    try {
      return `${await route([event])} arrivals`;
    } catch (error) {
      throw new RequestError(503, (error as Error).message);
    }
  };

  const server: Server = createServer((request, response) => {
    counts.requests++;
    handle(request).then(
      (text) => {
        response.writeHead(200, { "content-type": request.method === "POST" ? "text/plain" : "application/json" });
        response.end(`${text}\n`);
      },
      (error: unknown) => {
        counts.refused++;
        const status = error instanceof RequestError ? error.status : 500;
        const message = (error as Error)?.message ?? String(error);
        options.log?.(`refused a ${request.method} (${status}): ${message}`);
        response.writeHead(status, { "content-type": "text/plain" });
        response.end(`${message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
