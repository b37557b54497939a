import { resolve } from "node:path";
import { BlockCache, type BlockCacheOptions } from "./blockCache.js";
import { LocalFileSource } from "./localFile.js";
import { S3Source } from "./s3.js";
import { createS3Client, parseS3Url, type S3ConnectionOptions } from "./s3Client.js";

export interface OpenedSource {
  /** The cached source to read through. */
  source: BlockCache;
  /** The uncached source, whose stats count real requests. */
  origin: LocalFileSource | S3Source;
  close(): Promise<void>;
}

/** Open a local path or an `s3://bucket/key` URL behind a block cache. */
export function openSource(location: string, options: S3ConnectionOptions & { cache?: BlockCacheOptions } = {}): OpenedSource {
  const s3 = parseS3Url(location);
  if (s3) {
    const client = createS3Client(options);
    const origin = new S3Source(client, s3.bucket, s3.key);
    return {
      source: new BlockCache(origin, options.cache),
      origin,
      close: async () => client.destroy(),
    };
  }
  const path = resolve(location);
  const origin = new LocalFileSource(path);
  return { source: new BlockCache(origin, options.cache), origin, close: () => origin.close() };
}
