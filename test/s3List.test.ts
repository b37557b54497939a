/**
 * Listings by the lighter path (lib/source/s3Get.ts `lightList`, lib/source/s3ListAnswer.ts): after
 * a bucket's first listing through the SDK, S3Storage lists it with our own signed GET and parses
 * S3's XML itself. MinIO behind the fault proxy, which tells the SDK's requests from ours.
 */
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { StorageError } from "../lib/errors.js";
import { createS3Client } from "../lib/source/s3Client.js";
import { lightList } from "../lib/source/s3Get.js";
import { ListAnswerError, parseListAnswer, type ListedObject } from "../lib/source/s3ListAnswer.js";
import { S3Storage } from "../lib/storage/s3.js";
import { s3, uniqueBucket } from "./harness/env.js";
import { FaultProxy, type InjectedFault } from "./harness/servers/faultProxy.js";

/** The listings the store received, by who sent them. */
let lists: ("sdk" | "light")[] = [];
/** Answer this many of our listings with this fault. */
let lightFaults: { fault: InjectedFault; count: number } | undefined;
const proxy = new FaultProxy({
  upstream: process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:1",
  plan: ({ method, path, bySdk }) => {
    if (method !== "GET" || new URL(path, "http://proxy").searchParams.get("list-type") !== "2") return undefined;
    lists.push(bySdk ? "sdk" : "light");
    if (bySdk || !lightFaults || lightFaults.count === 0) return undefined;
    lightFaults.count--;
    return lightFaults.fault;
  },
});
let bucket: string;

/** Keys S3 must escape in its XML (markup, entities, quotes), and others a decoder could mangle. */
const names = ["plain.nc", "space here.nc", "amp&lt<gt>.nc", `quote"apos'.nc`, "plus+percent%25.nc", "entity-&#38;-&amp;-&quot.nc", "unicode-é-日本-🛰.nc", "question?hash#.nc"];
const keys = names.map((name, i) => `keys/${String(i).padStart(2, "0")}/${name}`);

before(async () => {
  bucket = uniqueBucket("s3-list");
  const client = s3();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [i, Key] of keys.entries()) await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: "x".repeat(i + 1) }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: "other/outside.nc", Body: "y" }));
  await proxy.start();
});

after(() => proxy.stop());

const comparable = (objects: readonly ListedObject[]) => objects.map((o) => ({ key: o.key, size: o.size, etag: o.etag, modified: o.lastModified?.getTime() }));

test("a bucket's listing by the lighter path is the SDK's, page by page, escaped keys and all", async () => {
  const client = createS3Client({ endpoint: proxy.url });
  try {
    assert.equal(lightList(client, bucket, "keys/"), undefined, "no lighter path before the SDK has listed the bucket");
    lists = [];
    const bySdk: ListedObject[][] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "keys/", MaxKeys: 3, ContinuationToken: token }));
      bySdk.push((page.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size!, etag: o.ETag!, lastModified: o.LastModified! })));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const byUs: ListedObject[][] = [];
    do {
      const page = await lightList(client, bucket, "keys/", token, 3);
      assert.ok(page, "the lighter path, now that the SDK has listed the bucket");
      byUs.push(page.objects);
      token = page.nextContinuationToken;
    } while (token);
    assert.deepEqual(byUs.map(comparable), bySdk.map(comparable));
    assert.deepEqual(byUs.flat().map((o) => o.key), keys, "every key once, in key order, as written");
    assert.deepEqual(lists, [...bySdk.map(() => "sdk"), ...byUs.map(() => "light")], "three pages each way, ours by the lighter path");
  } finally {
    client.destroy();
  }
});

test("S3Storage lists by the lighter path after its first listing; a failed listing is retried; a missing bucket fails in one line", async () => {
  const storage = new S3Storage(bucket, "keys", { endpoint: proxy.url });
  const listed = async (store: S3Storage, prefix: string): Promise<string[]> => {
    const found: string[] = [];
    for await (const object of store.list(prefix)) found.push(`${object.key}:${object.size}`);
    return found;
  };
  const expected = keys.map((key, i) => `${key.slice("keys/".length)}:${i + 1}`);
  lists = [];
  assert.deepEqual(await listed(storage, ""), expected);
  lightFaults = { fault: "InternalError", count: 1 };
  const injected = proxy.counts.injected.InternalError;
  assert.deepEqual(await listed(storage, ""), expected);
  assert.equal(proxy.counts.injected.InternalError - injected, 1, "the 500 was answered");
  assert.deepEqual(lists, ["sdk", "light", "light"], "the SDK's listing taught the bucket's endpoint; ours were retried once");

  const missing = new S3Storage(`${bucket}-missing`, "", { endpoint: proxy.url });
  lists = [];
  for (const by of ["sdk", "light"]) {
    const error = await listed(missing, "day/").then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof StorageError && !error.retryable, `${by}: ${String(error)}`);
    assert.match(error.message, /NoSuchBucket/);
    assert.doesNotMatch(error.message, /\n/);
  }
  assert.deepEqual(lists, ["sdk", "light"]);
});

test("an answer that is not a listing fails with its reason, never as an empty page", () => {
  for (const [answer, reason] of [
    ["<html><body>proxy error</body></html>", /not a ListObjectsV2 answer/],
    ["<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>", /truncated listing without <NextContinuationToken>/],
    ["<ListBucketResult><Contents><Key>a</Key><Size>1</Size></ListBucketResult>", /<Contents> is not closed/],
    ["<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents></ListBucketResult>", /unknown XML entity &bogus;/],
    ["<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>", /no valid <Size>/],
  ] as const) {
    assert.throws(() => parseListAnswer(answer), (error: unknown) => error instanceof ListAnswerError && reason.test(error.message), answer);
  }
});
