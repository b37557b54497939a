import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { s3, uniqueBucket } from "./harness/env.js";

test("MinIO: put, paginated list and ranged get", async () => {
  const client = s3();
  const bucket = uniqueBucket("s3-basics");
  await client.send(new CreateBucketCommand({ Bucket: bucket }));

  const body = randomBytes(100_000);
  const keys = Array.from({ length: 7 }, (_, i) => `day/2022/01/0${i + 1}/file-${i}.nc`);
  await Promise.all(keys.map((Key) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body }))));

  // Pages of 3: three requests, every key exactly once, in key order.
  const listed: string[] = [];
  let pages = 0;
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: "day/", MaxKeys: 3, ContinuationToken: token }),
    );
    pages++;
    listed.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  assert.equal(pages, 3);
  assert.deepEqual(listed, [...keys].sort());

  const ranged = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keys[0], Range: "bytes=1000-1999" }));
  const bytes = await ranged.Body!.transformToByteArray();
  assert.equal(ranged.ContentRange, `bytes 1000-1999/${body.length}`);
  assert.deepEqual(Buffer.from(bytes), body.subarray(1000, 2000));
  client.destroy();
});
