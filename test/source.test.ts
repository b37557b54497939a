import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { SourceReadError } from "../lib/errors.js";
import { BlockCache } from "../lib/source/blockCache.js";
import type { ByteSource } from "../lib/source/byteSource.js";
import { LocalFileSource } from "../lib/source/localFile.js";
import { S3Source } from "../lib/source/s3.js";
import { createS3Client } from "../lib/source/s3Client.js";
import { canonicalQuery, signS3Get } from "../lib/source/sigv4.js";
import { SignatureV4 } from "@smithy/signature-v4";
import { s3, testDir, uniqueBucket } from "./harness/env.js";

const content = randomBytes(5 * 1024 * 1024 + 123);

/** Scattered ranges a parser might ask for: some in the head, some far apart, some adjacent. */
const ranges: [number, number][] = [
  [0, 8],
  [1000, 200],
  [2 * 1024 * 1024, 100],
  [2 * 1024 * 1024 + 70_000, 5000],
  [2 * 1024 * 1024 + 100_000, 10],
  [4 * 1024 * 1024 + 1, 65_536 * 3],
  [content.length - 5, 5],
];

async function checkRanges(source: ByteSource): Promise<void> {
  const results = await Promise.all(ranges.map(([offset, length]) => source.read(offset, length)));
  ranges.forEach(([offset, length], i) => {
    assert.deepEqual(Buffer.from(results[i]!), content.subarray(offset, offset + length), `range ${offset}+${length}`);
  });
}

test("block cache: exact bytes, one head read, concurrent reads coalesced, nothing read twice", async () => {
  const path = join(await testDir("source"), "blob.bin");
  await writeFile(path, content);
  const file = new LocalFileSource(path);
  const cache = new BlockCache(file, { blockSize: 64 * 1024, headSize: 1024 * 1024, maxGap: 256 * 1024 });
  await checkRanges(cache);
  // head (1) + the run around 2 MiB (1: gaps under 256 KiB) + the run at 4 MiB (1) + the tail (1)
  assert.equal(file.stats.requests, 4, `inner requests: ${file.stats.requests}`);
  const bytesAfterFirstPass = file.stats.bytes;
  await checkRanges(cache);
  assert.equal(file.stats.requests, 4, "second pass must be served from the cache");
  assert.equal(file.stats.bytes, bytesAfterFirstPass);
  assert.ok(file.stats.bytes < content.length / 2, `read ${file.stats.bytes} of ${content.length} bytes`);
  await assert.rejects(cache.read(content.length - 2, 3), SourceReadError);
  await file.close();
});

test("S3 source on MinIO: ranged reads, size from the first GET, typed errors", async () => {
  const client = s3();
  const bucket = uniqueBucket("source");
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: "a/blob.bin", Body: content }));

  const object = new S3Source(createS3Client(), bucket, "a/blob.bin");
  assert.equal(object.url, `s3://${bucket}/a/blob.bin`);
  const cache = new BlockCache(object);
  await checkRanges(cache);
  assert.equal(object.stats.requests, 4, "the head GET gives the size: no HEAD request");
  assert.equal(await cache.size(), content.length);

  // The object is replaced while we read: the next uncached read must fail, not mix versions.
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: "a/blob.bin", Body: randomBytes(content.length) }));
  const changed = await cache.read(3 * 1024 * 1024, 10).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(changed instanceof SourceReadError, `expected SourceReadError, got ${String(changed)}`);
  assert.equal(changed.retryable, false);
  assert.match(changed.message, /changed while it was being read/);

  // Reads without a HEAD first (the combine reads a chunk or two per object): one request each,
  // and a range past the end fails as a known size would have made it fail.
  const direct = new S3Source(createS3Client(), bucket, "a/other.bin");
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: "a/other.bin", Body: content }));
  assert.deepEqual(Buffer.from(await direct.read(1000, 200)), content.subarray(1000, 1200));
  assert.equal(direct.stats.requests, 1, "no HEAD before the first ranged GET");
  for (const [offset, length] of [[content.length - 2, 3], [content.length + 10, 5]] as const) {
    const fresh = new S3Source(createS3Client(), bucket, "a/other.bin");
    const past = await fresh.read(offset, length).then(() => undefined, (e: unknown) => e);
    assert.ok(past instanceof SourceReadError && !past.retryable, `read ${offset}+${length}: ${String(past)}`);
    assert.match(past.message, /outside the file/);
  }
  // Ranged GETs after a bucket's first go by the lighter path (lib/source/s3Get.ts): the SDK's
  // middleware sees only the first, and every answer is the object's bytes.
  const light = createS3Client();
  let sdkGets = 0;
  light.middlewareStack.add((next, context) => (args) => {
    if (context.commandName === "GetObjectCommand") sdkGets++;
    return next(args);
  }, { step: "initialize", name: "countSdkGets" });
  const lightSource = new S3Source(light, bucket, "a/other.bin");
  for (const [offset, length] of ranges) assert.deepEqual(Buffer.from(await lightSource.read(offset, length)), content.subarray(offset, offset + length));
  assert.equal(lightSource.stats.requests, ranges.length);
  assert.equal(sdkGets, 1, "one GetObject through the SDK, the others by the lighter path");
  const lightMissing = await new S3Source(light, bucket, "a/none.bin").read(0, 10).then(() => undefined, (e: unknown) => e);
  assert.ok(lightMissing instanceof SourceReadError && !lightMissing.retryable && /no such object/.test(lightMissing.message), String(lightMissing));
  assert.equal(sdkGets, 1);
  light.destroy();

  // The first round's spans: the tail by a suffix range, a span clamped at the end, one past it.
  const spans = new S3Source(createS3Client(), bucket, "a/other.bin");
  const tail = await spans.readSpan({ suffix: 1000 });
  assert.deepEqual([tail.offset, tail.size, Buffer.from(tail.bytes)], [content.length - 1000, content.length, content.subarray(content.length - 1000)]);
  const clamped = await spans.readSpan({ offset: content.length - 10, length: 100 });
  assert.deepEqual(Buffer.from(clamped.bytes), content.subarray(content.length - 10));
  assert.equal((await spans.readSpan({ offset: content.length + 5, length: 100 })).bytes.length, 0);

  const missing = new BlockCache(new S3Source(createS3Client(), bucket, "a/none.bin"));
  const error = await missing.size().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof SourceReadError);
  assert.equal(error.retryable, false);
  assert.match(error.message, /no such object/);
  client.destroy();
});

test("a local source's version is never earlier than the file's modification time, whatever its sub-millisecond part", async () => {
  const dir = await testDir("source-version");
  const path = join(dir, "f.bin");
  await writeFile(path, randomBytes(64));
  // A whole second plus a fraction of a millisecond: a Date made from it directly falls before it.
  const seconds = Math.floor(Date.now() / 1000) - 100;
  await utimes(path, seconds, seconds + 0.0004);
  const mtimeMs = (await stat(path)).mtimeMs;
  assert.ok(mtimeMs % 1 > 0, `the filesystem kept a sub-millisecond mtime (${mtimeMs})`);
  const source = new LocalFileSource(path);
  await source.read(0, 8);
  const version = source.version();
  await source.close();
  assert.ok(version && "lastModified" in version);
  assert.ok(version.lastModified.getTime() >= mtimeMs, `version ${version.lastModified.getTime()} before mtime ${mtimeMs}`);
});

test("our SigV4 signature of a ranged S3 GET and of a listing is the SDK signer's, with and without a session token", async () => {
  class NodeSha256 {
    private readonly hash;
    constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
      const key = secret === undefined || typeof secret === "string" ? secret : ArrayBuffer.isView(secret) ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength) : Buffer.from(secret);
      this.hash = key === undefined ? createHash("sha256") : createHmac("sha256", key);
    }
    update(data: Uint8Array | string): void {
      this.hash.update(data);
    }
    async digest(): Promise<Uint8Array> {
      return new Uint8Array(this.hash.digest());
    }
  }
  const when = new Date("2026-12-05T10:31:07.123Z");
  const path = "/bucket/AHI-L2-FLDK-SST/2022/01/01/0000/a%20b%2Bc.nc";
  for (const credentials of [
    { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
    { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "token/with+chars=" },
  ]) {
    for (const region of ["us-east-1", "ap-northeast-1"]) {
      // A ranged GET of an object (no query), and a listing's GET of its bucket (a query to escape).
      for (const query of [{}, { "list-type": "2", prefix: "AHI L2/2022&01+é*", "continuation-token": "1/tok+en=", "max-keys": "3" }] as Record<string, string>[]) {
        const headers = { host: "s3.example.com:9000", range: "bytes=0-262143", "if-match": '"0123abcd"' };
        const sdk = new SignatureV4({ credentials, region, service: "s3", sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
        const expected = await sdk.sign(
          { method: "GET", protocol: "http:", hostname: "s3.example.com", port: 9000, path, query, headers: { ...headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } },
          { signingDate: when },
        );
        const ours = signS3Get(credentials, region, path, headers, when, canonicalQuery(query));
        for (const name of ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]) {
          assert.equal(ours[name], expected.headers[name], `${name} (${region}, ${credentials.accessKeyId}, query ${JSON.stringify(query)})`);
        }
      }
    }
  }
});
