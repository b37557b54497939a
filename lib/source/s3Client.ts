import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { enableLightGets } from "./s3Get.js";

export interface S3Location {
  bucket: string;
  key: string;
}

/** Parse `s3://bucket/key` (key may be empty for a prefix). */
export function parseS3Url(url: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  return match ? { bucket: match[1]!, key: match[2]! } : undefined;
}

export interface S3ConnectionOptions {
  /** Unsigned requests, for public buckets such as noaa-himawari8. */
  anonymous?: boolean;
  /** S3-compatible endpoint (MinIO, ...); defaults to AWS_ENDPOINT_URL(_S3) or AWS itself. */
  endpoint?: string;
  region?: string;
  /**
   * Times the SDK makes a request before it gives up (its own retries; default 3). A local
   * activity's single try passes 1: any failure goes at once to the durable retries of a regular
   * activity (workflows/activities.ts).
   */
  maxAttempts?: number;
}

/** A TCP connection to the store must be up within this. */
export const S3_CONNECTION_TIMEOUT_MS = 5_000;

/**
 * A request fails after this long without a byte in either direction (not a bound on a whole
 * transfer: a slow but flowing body is fine). 30 s; TK_S3_SOCKET_TIMEOUT_MS overrides it (tests).
 */
export function s3SocketTimeoutMs(): number {
  const value = Number(process.env.TK_S3_SOCKET_TIMEOUT_MS);
  return Number.isFinite(value) && value > 0 ? value : 30_000;
}

/** The S3 endpoint to use: the spec's, else AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL; undefined for AWS itself. */
export function s3Endpoint(options: S3ConnectionOptions = {}): string | undefined {
  return options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
}

/** The region to sign for: the spec's, else AWS_REGION or AWS_DEFAULT_REGION, else us-east-1. */
export function s3Region(options: S3ConnectionOptions = {}): string {
  return options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
}

/**
 * Sockets one client keeps open to a store (the SDK's default is 50). A shared client serves every
 * extraction of a worker at once (each up to 32 reads in flight), so it gets more; past the limit,
 * requests wait for a free socket. TK_S3_MAX_SOCKETS overrides it.
 */
export function s3MaxSockets(): number {
  const value = Number(process.env.TK_S3_MAX_SOCKETS);
  return Number.isInteger(value) && value > 0 ? value : 256;
}

/**
 * The settings a client is made from, as the client will resolve them: the caller's options, the
 * endpoint and region from the environment, and the timeouts. Credentials are not among them (the
 * SDK reads them from the environment for every client alike), so the key holds nothing secret.
 */
function resolvedConnection(options: S3ConnectionOptions) {
  return {
    anonymous: options.anonymous === true,
    endpoint: s3Endpoint(options),
    region: s3Region(options),
    socketTimeoutMs: s3SocketTimeoutMs(),
    maxSockets: s3MaxSockets(),
    maxAttempts: options.maxAttempts ?? 3,
  };
}

/**
 * An S3 client configured from the standard AWS environment and config files (profiles, keys,
 * AWS_ENDPOINT_URL), plus what only the caller knows (anonymous access, a dataset's endpoint).
 * Credentials are never passed in here: they stay in the worker's environment.
 */
export function createS3Client(options: S3ConnectionOptions = {}): S3Client {
  const connection = resolvedConnection(options);
  created++;
  const config: S3ClientConfig = {
    // Without these the SDK waits forever on a connection that stops answering (a half-open TCP
    // connection, a stalled proxy): no byte arrives, no error either, and an activity that
    // heartbeats on a timer would sit there until its start-to-close timeout. A timed-out request
    // fails with a retryable TimeoutError (retried by the SDK, then by Temporal).
    requestHandler: {
      connectionTimeout: S3_CONNECTION_TIMEOUT_MS,
      socketTimeout: connection.socketTimeoutMs,
      httpAgent: { keepAlive: true, maxSockets: connection.maxSockets },
      httpsAgent: { keepAlive: true, maxSockets: connection.maxSockets },
    },
    region: connection.region,
    maxAttempts: connection.maxAttempts,
    // S3-compatible stores rarely have wildcard DNS for virtual-hosted buckets.
    forcePathStyle: connection.endpoint !== undefined,
    ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
  };
  if (connection.anonymous) {
    // Unsigned requests: a signer that leaves the request as it is, and no credential lookup.
    config.signer = { sign: async (request) => request };
    config.credentials = { accessKeyId: "", secretAccessKey: "" };
  }
  const client = new S3Client(config);
  // Outermost in the deserialize step, inside the SDK's retry middleware: runs once per attempt
  // and sees each attempt's failure, a network one or an S3 error answer alike.
  const endpoint = connection.endpoint ?? "aws";
  endpointOf.set(client, endpoint);
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        const output = await next(args);
        countAttempt(endpoint);
        return output;
      } catch (error) {
        countAttempt(endpoint, error);
        throw error;
      }
    },
    { step: "deserialize", priority: "high", name: "tkCountAttempts" },
  );
  enableLightGets(client, {
    anonymous: connection.anonymous,
    endpointLabel: endpoint,
    maxAttempts: connection.maxAttempts,
    connectionTimeoutMs: S3_CONNECTION_TIMEOUT_MS,
    socketTimeoutMs: connection.socketTimeoutMs,
    maxSockets: connection.maxSockets,
    countAttempt: (failed) => countAttempt(endpoint, failed),
  });
  return client;
}

/**
 * One attempt to `endpoint`, and its failure (by error code or name) if it failed; a lighter-path
 * attempt whose body broke off after its head arrived (httpGet.ts, `phase: "body"`) counts as a
 * body failure, as countS3BodyFailure counts the SDK's.
 */
function countAttempt(endpoint: string, failed?: unknown): void {
  const counts = countsOf(endpoint);
  counts.attempts++;
  if (failed !== undefined) countFailure(counts, failed, (failed as { phase?: unknown })?.phase === "body");
}

function countsOf(endpoint: string): S3AttemptCounts {
  let counts = attemptsByEndpoint.get(endpoint);
  if (!counts) {
    counts = { attempts: 0, failed: {} };
    attemptsByEndpoint.set(endpoint, counts);
  }
  return counts;
}

/** A failure, by error code or name; one after the request was answered (its body) as `body:<code or name>`. */
function countFailure(counts: S3AttemptCounts, error: unknown, inBody: boolean): void {
  const e = error as { code?: unknown; name?: unknown };
  const name = `${inBody ? "body:" : ""}${String(e?.code || e?.name || "Error")}`;
  counts.failed[name] = (counts.failed[name] ?? 0) + 1;
}

/** Requests an endpoint was sent in this process (each SDK attempt counted) and how many failed, by error code or name. */
export interface S3AttemptCounts {
  attempts: number;
  failed: Record<string, number>;
}

const attemptsByEndpoint = new Map<string, S3AttemptCounts>();
const endpointOf = new WeakMap<S3Client, string>();

/**
 * A read that failed after its request succeeded (a body cut short or broken off), counted with
 * the failed attempts of the client's endpoint as `body:<code or name>`: the SDK does not see it.
 */
export function countS3BodyFailure(client: S3Client, error: unknown): void {
  const endpoint = endpointOf.get(client);
  if (endpoint !== undefined) countFailure(countsOf(endpoint), error, true);
}

/**
 * Attempts made by every client of this process to `endpoint` ("aws" for AWS itself), failed ones
 * by error name: what the SDK retried (or gave up on) is invisible elsewhere, and fault tests
 * check that an injected fault was met.
 */
export function s3Attempts(endpoint: string): S3AttemptCounts {
  const counts = attemptsByEndpoint.get(endpoint);
  return { attempts: counts?.attempts ?? 0, failed: { ...counts?.failed } };
}

let created = 0;
const shared = new Map<string, S3Client>();

/** The key a shared client is kept under: its resolved connection settings (never credentials). */
export function s3ConnectionKey(options: S3ConnectionOptions = {}): string {
  return JSON.stringify(resolvedConnection(options));
}

/**
 * One client per connection setting for the whole process (a worker): a new client per file would
 * resolve credentials, region and endpoint again and open new connections (a TLS handshake each on
 * AWS) for every extraction. Its idle keep-alive sockets do not keep the process alive.
 */
export function sharedS3Client(options: S3ConnectionOptions = {}): S3Client {
  const key = s3ConnectionKey(options);
  let client = shared.get(key);
  if (!client) {
    client = createS3Client(options);
    shared.set(key, client);
  }
  return client;
}

/** Clients made so far in this process, shared or not (tests check that a backfill reuses them). */
export function s3ClientsCreated(): number {
  return created;
}

/** Close every shared client (a worker shutting down; tests). The next use makes new ones. */
export function closeSharedS3Clients(): void {
  for (const client of shared.values()) client.destroy();
  shared.clear();
}
