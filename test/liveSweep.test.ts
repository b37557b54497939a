/**
 * The sweep of live staging no commit will remove (lib/live/sweep.ts), on a local folder (ages set
 * with utimes) and on MinIO (ages from the listing's LastModified, read at a later "now").
 */
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { resolveDatasetSpec } from "../lib/datasets/spec.js";
import { STAGED_MAX_AGE_MS, sweepLiveStaging } from "../lib/live/sweep.js";
import { testDataset } from "./harness/archive.js";
import { s3, testDir, uniqueBucket } from "./harness/env.js";

const staged = (version: string, file: string): string => `refs/.live/${version}/AHI-L2-FLDK-SST/.staging/20220301/${file}.json`;

test("live staging older than its bound is swept, fresher staging and other keys are kept; once an hour unless forced", async () => {
  const dir = await testDir("live-sweep");
  const out = join(dir, "out");
  const spec = resolveDatasetSpec(testDataset("sweep-local", { kind: "local", path: join(dir, "archive") }, { kind: "local", path: out }));
  const now = Date.now();
  const keys = { orphan: staged("e1", "a.nc"), fresh: staged("e2", "b.nc"), notStaging: "refs/.live/e1/note.json", day: "refs/AHI-L2-FLDK-SST/2022/03/01.json" };
  for (const key of Object.values(keys)) {
    await mkdir(dirname(join(out, key)), { recursive: true });
    await writeFile(join(out, key), "{}");
  }
  const old = new Date(now - STAGED_MAX_AGE_MS - 60_000);
  for (const key of [keys.orphan, keys.notStaging, keys.day]) await utimes(join(out, key), old, old);

  assert.equal(await sweepLiveStaging(spec, now), 1);
  const left = (await readdir(out, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(out.length + 1));
  assert.deepEqual(left.sort(), [keys.fresh, keys.notStaging, keys.day].sort());

  // Within the hour nothing is listed, even where an orphan is: unless forced.
  await mkdir(dirname(join(out, keys.orphan)), { recursive: true });
  await writeFile(join(out, keys.orphan), "{}");
  await utimes(join(out, keys.orphan), old, old);
  assert.equal(await sweepLiveStaging(spec, now + 60_000), 0);
  assert.equal(await sweepLiveStaging(spec, now + 60_000, true), 1);
});

test("on S3 the listing's LastModified dates the staging", async () => {
  const client = s3();
  const bucket = uniqueBucket("live-sweep");
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const spec = resolveDatasetSpec(testDataset("sweep-s3", { kind: "s3", bucket }, { kind: "s3", bucket }));
  for (const key of [staged("e1", "a.nc"), staged("e1", "b.nc"), "refs/AHI-L2-FLDK-SST/2022/03/01.json"]) await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "{}" }));
  // Just written: nothing is old enough.
  assert.equal(await sweepLiveStaging(spec, Date.now(), true), 0);
  assert.equal(await sweepLiveStaging(spec, Date.now() + STAGED_MAX_AGE_MS + 60_000, true), 2);
  const left = (await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key);
  assert.deepEqual(left, ["refs/AHI-L2-FLDK-SST/2022/03/01.json"]);
  client.destroy();
});
