import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { StorageError } from "../errors.js";
import type { ByteSource } from "../source/byteSource.js";
import { isTransientS3Error, S3Source } from "../source/s3.js";
import { sharedS3Client, type S3ConnectionOptions } from "../source/s3Client.js";
import { lightList } from "../source/s3Get.js";
import type { ListedObject, ListPage } from "../source/s3ListAnswer.js";
import { joinKey, type ObjectInfo, type Storage } from "./storage.js";

/** The most keys one DeleteObjects request takes (S3's limit). */
const MAX_KEYS_PER_DELETE = 1000;

const status = (error: unknown): number | undefined => (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;

/**
 * An S3 bucket (optionally under a key prefix) as storage. Storages of the same connection
 * settings share one client for the process (lib/source/s3Client.ts), so opening one per step is
 * cheap and `close()` leaves the client to the others.
 */
export class S3Storage implements Storage {
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(
    readonly bucket: string,
    prefix = "",
    connection: S3ConnectionOptions = {},
  ) {
    this.prefix = joinKey(prefix);
    this.client = sharedS3Client(connection);
  }

  get description(): string {
    return `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ""}`;
  }

  private fullKey(key: string): string {
    return joinKey(this.prefix, key);
  }

  /** A bucket key as this storage names it (without its prefix). */
  private relativeKey(bucketKey: string): string {
    return this.prefix ? bucketKey.slice(this.prefix.length + 1) : bucketKey;
  }

  url(key: string): string {
    return `s3://${this.bucket}/${this.fullKey(key)}`;
  }

  private fail(key: string, action: string, error: unknown): never {
    const name = (error as Error)?.name ?? "error";
    throw new StorageError(
      this.description,
      key,
      `${action} failed: ${name}${status(error) ? ` (HTTP ${status(error)})` : ""}: ${(error as Error)?.message ?? String(error)}`,
      isTransientS3Error(error),
    );
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const listPrefix = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    let token: string | undefined;
    do {
      let page: ListPage;
      try {
        // The lighter path once the SDK has listed or read this bucket (lib/source/s3Get.ts).
        page = (await lightList(this.client, this.bucket, listPrefix, token)) ?? (await this.sdkList(listPrefix, token));
      } catch (error) {
        this.fail(prefix, "list", error);
      }
      for (const object of page.objects) {
        yield {
          key: this.relativeKey(object.key),
          size: object.size,
          ...(object.etag ? { etag: object.etag } : {}),
          ...(object.lastModified ? { modifiedMs: object.lastModified.getTime() } : {}),
        };
      }
      token = page.nextContinuationToken;
    } while (token);
  }

  private async sdkList(listPrefix: string, token: string | undefined): Promise<ListPage> {
    const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: listPrefix, ContinuationToken: token }));
    const objects: ListedObject[] = [];
    for (const object of page.Contents ?? []) {
      if (!object.Key) continue;
      objects.push({ key: object.Key, size: object.Size ?? 0, ...(object.ETag ? { etag: object.ETag } : {}), ...(object.LastModified ? { lastModified: object.LastModified } : {}) });
    }
    return { objects, ...(page.IsTruncated && page.NextContinuationToken ? { nextContinuationToken: page.NextContinuationToken } : {}) };
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      return true;
    } catch (error) {
      if (status(error) === 404 || (error as Error)?.name === "NotFound") return false;
      this.fail(key, "exists", error);
    }
  }

  async read(key: string): Promise<Uint8Array> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      return await response.Body!.transformToByteArray();
    } catch (error) {
      this.fail(key, "read", error);
    }
  }

  async write(key: string, bytes: Uint8Array, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    try {
      // A PUT is atomic in S3: readers see the old object or the new one, never a part.
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          Body: bytes,
          ContentType: "application/json",
          ...(options.ifAbsent ? { IfNoneMatch: "*" } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (options.ifAbsent && (status(error) === 412 || (error as Error)?.name === "PreconditionFailed")) return false;
      this.fail(key, "write", error);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
    } catch (error) {
      this.fail(key, "delete", error);
    }
  }

  async deleteAll(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += MAX_KEYS_PER_DELETE) {
      const batch = keys.slice(start, start + MAX_KEYS_PER_DELETE);
      let errors;
      try {
        ({ Errors: errors } = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((key) => ({ Key: this.fullKey(key) })), Quiet: true } }),
        ));
      } catch (error) {
        // A store without multi-object delete (501 Not Implemented): one request per key.
        if (status(error) === 501) {
          await Promise.all(batch.map((key) => this.delete(key)));
          continue;
        }
        this.fail(batch[0]!, `delete (of ${batch.length} keys)`, error);
      }
      // Quiet: the answer lists only the keys that were not deleted.
      const failed = errors?.[0];
      if (failed) {
        const key = failed.Key ? this.relativeKey(failed.Key) : batch[0]!;
        // Retryable as any S3 failure of that code is (lib/source/s3Errors.ts).
        const retryable = isTransientS3Error({ name: failed.Code });
        throw new StorageError(this.description, key, `delete failed: ${failed.Code ?? "error"}: ${failed.Message ?? ""} (${errors!.length} of ${batch.length} keys not deleted)`, retryable);
      }
    }
  }

  source(key: string): ByteSource {
    return new S3Source(this.client, this.bucket, this.fullKey(key));
  }

  /** Nothing to release: the client is shared (closeSharedS3Clients() ends them all). */
  async close(): Promise<void> {}
}
