import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";

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
 * An S3 client configured from the standard AWS environment and config files (profiles, keys,
 * AWS_ENDPOINT_URL), plus what only the caller knows (anonymous access, a dataset's endpoint).
 * Credentials are never passed in here: they stay in the worker's environment.
 */
export function createS3Client(options: S3ConnectionOptions = {}): S3Client {
  const endpoint = s3Endpoint(options);
  const config: S3ClientConfig = {
    // Without these the SDK waits forever on a connection that stops answering (a half-open TCP
    // connection, a stalled proxy): no byte arrives, no error either, and an activity that
    // heartbeats on a timer would sit there until its start-to-close timeout. A timed-out request
    // fails with a retryable TimeoutError (retried by the SDK, then by Temporal).
    requestHandler: { connectionTimeout: S3_CONNECTION_TIMEOUT_MS, socketTimeout: s3SocketTimeoutMs() },
    region: s3Region(options),
    // S3-compatible stores rarely have wildcard DNS for virtual-hosted buckets.
    forcePathStyle: endpoint !== undefined,
    ...(endpoint ? { endpoint } : {}),
  };
  if (options.anonymous) {
    // Unsigned requests: a signer that leaves the request as it is, and no credential lookup.
    config.signer = { sign: async (request) => request };
    config.credentials = { accessKeyId: "", secretAccessKey: "" };
  }
  return new S3Client(config);
}
