/** What an S3 failure looks like, from the SDK or from the lighter GET path (s3Get.ts). */
export interface AwsLikeError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  code?: string;
}

/** Which S3 failures are worth retrying: throttling, 5xx, timeouts and dropped connections. */
export function isTransientS3Error(error: unknown): boolean {
  const e = error as AwsLikeError;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  if (e?.$retryable) return true;
  const name = e?.name ?? "";
  if (/SlowDown|Throttl|Timeout|RequestTimeTooSkewed|InternalError|ServiceUnavailable/.test(name)) return true;
  return /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|socket hang up|aborted/i.test(
    `${e?.code ?? ""} ${(error as Error)?.message ?? ""}`,
  );
}

