/**
 * S3 requests a bucket received, by API (ListObjectsV2, HeadObject, GetObject, PutObject, ...), from
 * MinIO's own per-bucket counters (metrics v3, served without a token when the server runs with
 * MINIO_PROMETHEUS_AUTH_TYPE=public, as the live benchmarks start it). They count every client:
 * the SDK's requests and Icechunk's (Rust) alike.
 */
export type RequestCounts = Record<string, number>;

export const metricsEnv = { MINIO_PROMETHEUS_AUTH_TYPE: "public" } as const;

export async function bucketRequests(endpoint: string, bucket: string): Promise<RequestCounts> {
  const response = await fetch(`${endpoint}/minio/metrics/v3/bucket/api/${bucket}`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`MinIO metrics for ${bucket}: HTTP ${response.status} (is MINIO_PROMETHEUS_AUTH_TYPE=public set?)`);
  const counts: RequestCounts = {};
  for (const line of (await response.text()).split("\n")) {
    const match = /^minio_bucket_api_total\{([^}]*)\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/.exec(line);
    const name = match && /(?:^|,)name="([^"]+)"/.exec(match[1]!)?.[1];
    if (name && /(?:^|,)bucket="([^"]+)"/.exec(match[1]!)?.[1] === bucket) counts[name] = (counts[name] ?? 0) + Number(match[2]);
  }
  return counts;
}

/** What was asked between two readings of the same counters. */
export function requestsSince(before: RequestCounts, after: RequestCounts): RequestCounts {
  const delta: RequestCounts = {};
  for (const [name, n] of Object.entries(after)) if (n - (before[name] ?? 0) > 0) delta[name] = n - (before[name] ?? 0);
  return delta;
}

export const totalRequests = (counts: RequestCounts): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** "3 ListObjectsV2 + 144 HeadObject" */
export const describeRequests = (counts: RequestCounts): string =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${Math.round(n * 10) / 10} ${name}`)
    .join(" + ") || "none";
