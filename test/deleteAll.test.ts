/**
 * `Storage.deleteAll`, which removes a day's staged files after its combine (and the live commit's
 * and sweep's staging): on S3 one DeleteObjects request for them all instead of a DELETE each, and
 * one DELETE each where the store does not implement it (501); in a folder, the files and then the
 * folders they leave empty, each tried once. MinIO behind the fault proxy, which counts requests.
 */
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LocalStorage } from "../lib/storage/local.js";
import { S3Storage } from "../lib/storage/s3.js";
import { s3, testDir, uniqueBucket } from "./harness/env.js";
import { FaultProxy, type InjectedFault } from "./harness/servers/faultProxy.js";

/** Requests the store received: "POST delete" for a DeleteObjects, else the method. */
let seen: string[] = [];
/** Answer DeleteObjects requests with this fault (undefined: forward them). */
let multiDeleteFault: InjectedFault | undefined;
const proxy = new FaultProxy({
  upstream: process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:1",
  plan: ({ method, path }) => {
    const multi = method === "POST" && new URL(path, "http://proxy").searchParams.has("delete");
    seen.push(multi ? "POST delete" : method);
    return multi ? multiDeleteFault : undefined;
  },
});
let bucket: string;

before(async () => {
  bucket = uniqueBucket("delete-all");
  await s3().send(new CreateBucketCommand({ Bucket: bucket }));
  await proxy.start();
});

after(() => proxy.stop());

async function keysOf(storage: S3Storage | LocalStorage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storage.list(prefix)) keys.push(object.key);
  return keys;
}

const staged = (day: string): string[] => Array.from({ length: 24 }, (_, hour) => `refs/.staging/${day}/${String(hour).padStart(2, "0")}.json`);

test("S3: a day's 24 staged files (and one already gone) go in one DeleteObjects request; the rest of the bucket stays", async () => {
  const storage = new S3Storage(bucket, "under", { endpoint: proxy.url });
  for (const key of [...staged("20220101"), "refs/2022/20220101.json"]) await storage.write(key, new TextEncoder().encode(key));
  seen = [];
  await storage.deleteAll([...staged("20220101"), "refs/.staging/20220101/gone.json"]);
  assert.deepEqual(seen, ["POST delete"]);
  assert.deepEqual(await keysOf(storage, "refs/"), ["refs/2022/20220101.json"]);
});

test("S3: a store without multi-object delete (501) gets a DELETE per key, and the keys are gone", async () => {
  const storage = new S3Storage(bucket, "under", { endpoint: proxy.url });
  for (const key of staged("20220102")) await storage.write(key, new TextEncoder().encode(key));
  seen = [];
  multiDeleteFault = "NotImplemented";
  const injectedBefore = proxy.counts.injected.NotImplemented;
  try {
    await storage.deleteAll(staged("20220102"));
  } finally {
    multiDeleteFault = undefined;
  }
  assert.equal(proxy.counts.injected.NotImplemented - injectedBefore, 1, "the 501 was answered");
  assert.deepEqual(
    seen.filter((request) => request !== "POST delete"),
    staged("20220102").map(() => "DELETE"),
  );
  assert.deepEqual(await keysOf(storage, "refs/.staging/20220102/"), []);
});

test("a folder: the files go, then the folders left empty (each tried once); a folder with other files stays", async () => {
  const root = await testDir("delete-all-local");
  const storage = new LocalStorage(root);
  for (const key of [...staged("20220103"), ...staged("20220104")]) await storage.write(key, new TextEncoder().encode(key));
  await mkdir(join(root, "refs/.staging/20220104"), { recursive: true });
  await writeFile(join(root, "refs/.staging/20220104/other.json"), "{}");
  await storage.deleteAll([...staged("20220103"), ...staged("20220104"), "refs/.staging/20220103/gone.json"]);
  assert.deepEqual(await readdir(join(root, "refs/.staging")), ["20220104"]);
  assert.deepEqual(await readdir(join(root, "refs/.staging/20220104")), ["other.json"]);
  await storage.deleteAll(["refs/.staging/20220104/other.json"]);
  assert.deepEqual(await readdir(root), [], "every folder left empty is removed, up to the root");
});
