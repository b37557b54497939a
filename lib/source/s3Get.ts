/**
 * GETs of S3 objects' ranges and of buckets' listings without the SDK's per-request machinery. A
 * profile of a worker's extractions (docs/benchmarks.md, issue 20) put about 1 ms of CPU on each
 * GetObject sent through the AWS SDK (its middleware stack, endpoint rules, schema serde and
 * checksum handling around the request), four times what the request itself costs: for files
 * whose translation takes one or two reads, the SDK was most of the worker's CPU; a day's listing
 * (ListObjectsV2, its XML answer parsed by the SDK's schema serde) cost about 2.5 ms, 6 ms in a
 * worker's first minutes. This sends the same requests: to the endpoint the SDK resolved for the
 * bucket (captured from the client's first GetObject or ListObjectsV2 of it, so virtual hosts,
 * FIPS and dual-stack endpoints, path style and custom endpoints stay the SDK's), signed with
 * SigV4 (sigv4.ts, checked against the SDK's signer) with the client's own credential chain, with
 * the client's timeouts, attempts and retry rule (transient failures, exponential backoff with
 * jitter), counted per endpoint with the SDK's attempts (s3Attempts), over our own HTTP/1.1
 * connections (httpGet.ts) rather than node's http module, which cost twice the request again.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { HttpPool, type HttpAnswer } from "./httpGet.js";
import { isTransientS3Error } from "./s3Errors.js";
import { parseListAnswer, type ListPage } from "./s3ListAnswer.js";
import { canonicalQuery, signS3Get, uriEscape, type SigningCredentials } from "./sigv4.js";

/** What the lighter path needs to know about a client, recorded when createS3Client made it. */
export interface LightClientSettings {
  anonymous: boolean;
  endpointLabel: string;
  maxAttempts: number;
  connectionTimeoutMs: number;
  socketTimeoutMs: number;
  maxSockets: number;
  countAttempt(failed?: unknown): void;
}

interface BucketBase {
  protocol: "http:" | "https:";
  hostname: string;
  port: number | undefined;
  /** The path before the key, with its trailing "/" ("/bucket/" path style, "/" virtual-hosted). */
  prefix: string;
}

interface LightClient {
  settings: LightClientSettings;
  /** The client's credential provider (memoized by the SDK, refreshed before expiry) and region. */
  signing: { credentials(): Promise<SigningCredentials>; region(): Promise<string> } | undefined;
  connections: HttpPool;
  bases: Map<string, BucketBase>;
}

const clients = new WeakMap<S3Client, LightClient>();

/** The SDK's escaping of a key in a request path (each segment, RFC 3986 reserved characters too). */
export function escapeKey(key: string): string {
  // A loop rather than .map: docs/benchmarks.md, "Deoptimizations".
  const segments = key.split("/");
  let path = uriEscape(segments[0]!);
  for (let i = 1; i < segments.length; i++) path += `/${uriEscape(segments[i]!)}`;
  return path;
}

/**
 * Give a client the lighter path: its first GetObject or ListObjectsV2 of each bucket goes through
 * the SDK as always, and tells where that bucket's requests go; later ranged GETs and listings of
 * the bucket skip the SDK.
 */
export function enableLightGets(client: S3Client, settings: LightClientSettings): void {
  const config = client.config;
  const light: LightClient = {
    settings,
    signing: settings.anonymous ? undefined : { credentials: () => config.credentials(), region: () => config.region() },
    connections: new HttpPool({
      maxSockets: settings.maxSockets,
      connectionTimeoutMs: settings.connectionTimeoutMs,
      socketTimeoutMs: settings.socketTimeoutMs,
    }),
    bases: new Map(),
  };
  clients.set(client, light);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string };
      const request = args.request as { protocol?: string; hostname?: string; port?: number; path?: string; method?: string; headers?: Record<string, string> } | undefined;
      if (input.Bucket && request?.hostname && request.path !== undefined && !light.bases.has(input.Bucket)) {
        const signed = settings.anonymous || /^AWS4-HMAC-SHA256 Credential=[^,]*\/s3\/aws4_request,/.test(request.headers?.authorization ?? request.headers?.Authorization ?? "");
        const protocol = request.protocol === "http:" || request.protocol === "https:" ? request.protocol : undefined;
        // The path before the key: a GetObject's path without its key, or a listing's whole path.
        const escaped = context.commandName === "GetObjectCommand" && input.Key !== undefined ? escapeKey(input.Key) : undefined;
        const prefix =
          escaped !== undefined && request.path.endsWith(`/${escaped}`)
            ? request.path.slice(0, request.path.length - escaped.length)
            : context.commandName === "ListObjectsV2Command" && request.path.endsWith("/")
              ? request.path
              : undefined;
        // Only a request this path can make alike: plain SigV4 for the "s3" service (not SigV4a, nor
        // S3 Express's session signing for "s3express").
        if (signed && protocol && prefix !== undefined) light.bases.set(input.Bucket, { protocol, hostname: request.hostname, port: request.port, prefix });
      }
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "tkLightGetEndpoint" },
  );
  const destroy = client.destroy.bind(client);
  client.destroy = () => {
    light.connections.destroy();
    destroy();
  };
}

/** The parts of a GetObject answer S3Source uses. */
export interface LightGetOutput {
  ContentRange?: string;
  ContentLength?: number;
  ETag?: string;
  Body?: { transformToByteArray(): Promise<Uint8Array> };
}

/** An S3 error answer, shaped as the SDK's errors are (name = S3's error code; $metadata.httpStatusCode). */
class S3ErrorAnswer extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

/**
 * A ranged GET by the lighter path, or undefined when this client or bucket has none yet (the
 * caller sends it through the SDK, which also teaches the bucket's endpoint).
 */
export function lightGet(client: S3Client, bucket: string, key: string, range: string, ifMatch: string | undefined): Promise<LightGetOutput> | undefined {
  const light = clients.get(client);
  const base = light?.bases.get(bucket);
  if (!light || !base) return undefined;
  return withRetries(light, () => send(light, base, key, range, ifMatch));
}

async function withRetries<T>(light: LightClient, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      const output = await attempt();
      light.settings.countAttempt();
      return output;
    } catch (error) {
      light.settings.countAttempt(error);
      if (n >= light.settings.maxAttempts || !isTransientS3Error(error)) throw error;
      // The SDK's standard retry delay: full jitter on an exponential base of 100 ms, at most 20 s.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20_000, 100 * 2 ** (n - 1))));
    }
  }
}

/** A ranged GET of the lighter path. */
async function send(light: LightClient, base: BucketBase, key: string, range: string, ifMatch: string | undefined): Promise<LightGetOutput> {
  const headers: Record<string, string> = { range };
  if (ifMatch !== undefined) headers["if-match"] = ifMatch;
  const response = await signedGet(light, base, `${base.prefix}${escapeKey(key)}`, "", headers);
  const length = response.headers.get("content-length");
  const body = new Uint8Array(response.body.buffer, response.body.byteOffset, response.body.byteLength);
  return {
    ContentRange: response.headers.get("content-range"),
    ContentLength: length === undefined ? undefined : Number(length),
    ETag: response.headers.get("etag"),
    Body: { transformToByteArray: () => Promise.resolve(body) },
  };
}

/**
 * One page of a bucket's listing (ListObjectsV2: keys under `prefix` in key order, from
 * `continuationToken` on) by the lighter path, or undefined when this client or bucket has none
 * yet (the caller lists through the SDK, which also teaches the bucket's endpoint). `maxKeys`:
 * S3's page size (1,000 when not given, as the SDK asks). The answer's body is read within the
 * attempt, so one cut short is retried as a failed request is.
 */
export function lightList(client: S3Client, bucket: string, prefix: string, continuationToken?: string, maxKeys?: number): Promise<ListPage> | undefined {
  const light = clients.get(client);
  const base = light?.bases.get(bucket);
  if (!light || !base) return undefined;
  const parameters: Record<string, string> = { "list-type": "2", prefix };
  if (continuationToken !== undefined) parameters["continuation-token"] = continuationToken;
  if (maxKeys !== undefined) parameters["max-keys"] = String(maxKeys);
  const query = canonicalQuery(parameters);
  return withRetries(light, async () => {
    const response = await signedGet(light, base, base.prefix, query, {});
    return parseListAnswer(response.body.toString("utf8"));
  });
}

/**
 * A signed GET of `path` (escaped) and `query` (canonical) to the bucket's endpoint, its answer
 * read whole (so a body cut short fails the attempt, and is retried as a failed request is); an S3
 * error answer fails shaped as the SDK's errors are.
 */
async function signedGet(light: LightClient, base: BucketBase, path: string, query: string, headers: Record<string, string>): Promise<HttpAnswer> {
  const host = base.port === undefined ? base.hostname : `${base.hostname}:${base.port}`;
  const unsigned = { ...headers, host };
  const signed = light.signing ? signS3Get(await light.signing.credentials(), await light.signing.region(), path, unsigned, new Date(), query) : unsigned;
  const response = await light.connections.get(base, query ? `${path}?${query}` : path, signed);
  if (response.status < 200 || response.status >= 300) {
    const text = response.body.toString("utf8");
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `HTTP ${response.status}`;
    throw new S3ErrorAnswer(code ?? (response.status === 404 ? "NotFound" : "Unknown"), message, response.status);
  }
  return response;
}
