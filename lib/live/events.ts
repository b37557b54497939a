/**
 * S3 event notifications as they reach `listen`: the S3 event JSON (`{"Records": [...]}`) that
 * MinIO's webhook target posts and that AWS S3 sends to SNS and SQS. Only object creations count
 * (`ObjectCreated:*`, with or without MinIO's `s3:` prefix); keys arrive URL-encoded (a space as
 * `+`), ETags without quotes.
 */
import { ConfigError } from "../errors.js";

export interface S3ObjectEvent {
  bucket: string;
  key: string;
  etag: string;
  eventName: string;
  eventTime?: string;
}

interface RawRecord {
  eventName?: unknown;
  eventTime?: unknown;
  s3?: { bucket?: { name?: unknown }; object?: { key?: unknown; eTag?: unknown } };
}

/** The ETag without quotes, as events carry it (HEAD and GET answer with quotes). */
export const bareEtag = (etag: string): string => etag.replace(/^"|"$/g, "");

/** `s3:ObjectCreated:Put` (MinIO), `ObjectCreated:CompleteMultipartUpload` (AWS): a new or replaced object. */
export const isObjectCreated = (eventName: string): boolean => /^(s3:)?ObjectCreated:/.test(eventName);

/**
 * The object-created records of an S3 event notification body, and how many other records it had
 * (deletions, test events). A body that is not such JSON is a ConfigError naming what is wrong.
 */
export function parseS3Event(body: string, what = "the request body"): { created: S3ObjectEvent[]; other: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ConfigError(what, "not JSON: expected an S3 event notification ({\"Records\": [...]})");
  }
  const records = (parsed as { Records?: unknown })?.Records;
  // S3's test event (sent when a notification is configured) has no Records.
  if ((parsed as { Event?: unknown })?.Event === "s3:TestEvent") return { created: [], other: 1 };
  if (!Array.isArray(records)) throw new ConfigError(what, "no Records list: expected an S3 event notification ({\"Records\": [...]})");
  const created: S3ObjectEvent[] = [];
  let other = 0;
  for (const record of records as RawRecord[]) {
    const eventName = typeof record?.eventName === "string" ? record.eventName : "";
    const bucket = record?.s3?.bucket?.name;
    const key = record?.s3?.object?.key;
    const etag = record?.s3?.object?.eTag;
    if (!isObjectCreated(eventName) || typeof bucket !== "string" || typeof key !== "string" || typeof etag !== "string") {
      other++;
      continue;
    }
    created.push({
      bucket,
      key: decodeURIComponent(key.replace(/\+/g, " ")),
      etag: bareEtag(etag),
      eventName,
      ...(typeof record.eventTime === "string" ? { eventTime: record.eventTime } : {}),
    });
  }
  return { created, other };
}
