/**
 * The version of each source file a day's references point into, which Icechunk stores with every
 * virtual reference and checks at read time, so a file replaced after indexing fails loudly instead
 * of returning the new file's bytes at the old file's offsets:
 *  - S3: the object's ETag (as S3 returns it, quotes included);
 *  - local files: the modification time, rounded up to the whole second, because Icechunk keeps
 *    whole seconds and a stored time earlier than the file's sub-second mtime fails every read.
 *    A file replaced within the same second is not detected (the limit of a time-based check).
 * Callers that recorded versions while extracting (the safer choice: the ETag of the bytes that
 * were actually read) pass them in; otherwise they are looked up at commit time.
 */
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { boundedAll } from "../concurrency.js";
import { s3ConnectionOf, type StorageSpec } from "../datasets/spec.js";
import { SourceReadError } from "../errors.js";
import { isTransientS3Error } from "../source/s3.js";
import { createS3Client, parseS3Url } from "../source/s3Client.js";
import type { SourceVersion } from "../source/byteSource.js";

export type { SourceVersion };

/**
 * A local file's modification time as Icechunk can check it: rounded up to the whole second (the
 * commit rounds every time it is given, so callers may pass a file's exact mtime).
 */
export function lastModifiedOf(mtimeMs: number): Date {
  return new Date(Math.ceil(mtimeMs / 1000) * 1000);
}

/** Look up the versions of `urls` (s3:// or file://) in the dataset's source storage. */
export async function lookupSourceVersions(urls: readonly string[], source: StorageSpec): Promise<Map<string, SourceVersion>> {
  const distinct = [...new Set(urls)];
  const versions = new Map<string, SourceVersion>();
  if (distinct.length === 0) return versions;
  if (source.kind === "local") {
    await boundedAll(distinct, 32, async (url) => {
      try {
        versions.set(url, { lastModified: lastModifiedOf((await stat(url.startsWith("file://") ? fileURLToPath(url) : url)).mtimeMs) });
      } catch (error) {
        throw new SourceReadError(url, `cannot read its modification time: ${(error as Error).message}`, false, { cause: error });
      }
    });
    return versions;
  }
  const client = createS3Client(s3ConnectionOf(source));
  try {
    await boundedAll(distinct, 16, async (url) => {
      const location = parseS3Url(url);
      if (!location) throw new SourceReadError(url, `not an s3:// URL, but the dataset's source is s3://${source.bucket}`, false);
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }));
        if (!head.ETag) throw new SourceReadError(url, "the object has no ETag, which Icechunk needs to pin the reference", false);
        versions.set(url, { etag: head.ETag });
      } catch (error) {
        if (error instanceof SourceReadError) throw error;
        throw new SourceReadError(url, `HEAD failed: ${(error as Error).name}: ${(error as Error).message}`, isTransientS3Error(error), { cause: error });
      }
    });
  } finally {
    client.destroy();
  }
  return versions;
}
