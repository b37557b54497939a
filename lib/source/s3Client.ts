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

/**
 * An S3 client configured from the standard AWS environment and config files (profiles, keys,
 * AWS_ENDPOINT_URL), plus what only the caller knows (anonymous access, a dataset's endpoint).
 * Credentials are never passed in here: they stay in the worker's environment.
 */
export function createS3Client(options: S3ConnectionOptions = {}): S3Client {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const config: S3ClientConfig = {
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
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
