/**
 * A step that extracts several files of a day (the extraction activity, a batch of small days,
 * backfillDirect) asks the output once which of them an earlier attempt staged: one listing of the
 * day's staging folder, not a HEAD per file, which on S3 was a request and a round trip before each
 * file's first read. Counted on MinIO through the fault proxy, which sees every request to the output
 * (the sources are local files).
 */
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { backfillDirect } from "../lib/backfill/direct.js";
import { extractDayFiles, extractToStaging } from "../lib/backfill/extract.js";
import { isStagingBundle, stagedObjectOf } from "../lib/backfill/names.js";
import { resolveDatasetSpec, type ResolvedDatasetSpec } from "../lib/datasets/spec.js";
import { makeArchive, testDataset } from "./harness/archive.js";
import { s3, testDir, uniqueBucket } from "./harness/env.js";
import { FaultProxy } from "./harness/servers/faultProxy.js";

const DAY = "2022-05-01";

/** The requests the output received, as "HEAD", "LIST", "PUT", "GET", "DELETE" and the key or prefix. */
let seen: string[] = [];
const proxy = new FaultProxy({
  upstream: process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:1",
  plan: ({ method, path }) => {
    const url = new URL(path, "http://proxy");
    const listing = url.searchParams.get("list-type") === "2";
    seen.push(`${listing ? "LIST" : method} ${listing ? url.searchParams.get("prefix") : decodeURIComponent(url.pathname.split("/").slice(2).join("/"))}`);
    return undefined;
  },
});
let keys: string[];
let spec: ResolvedDatasetSpec;

before(async () => {
  const dir = await testDir("staged-listing");
  const archive = join(dir, "archive");
  keys = await makeArchive(archive, DAY, 1, { hours: 3, grid: [30, 60] });
  const bucket = uniqueBucket("staged-listing");
  await s3().send(new CreateBucketCommand({ Bucket: bucket }));
  await proxy.start();
  spec = resolveDatasetSpec(testDataset("staged-listing", { kind: "local", path: archive }, { kind: "s3", bucket, endpoint: proxy.url }));
});

after(() => proxy.stop());

test("a day's staged files are known from one listing: no HEAD per file, a staged file is not translated again, the others staged in one bundle", async () => {
  // An earlier attempt staged the first file (asking for it alone: one HEAD, one PUT).
  const first = await extractToStaging(spec, DAY, keys[0]!);
  assert.deepEqual(seen, [`HEAD ${first.staged}`, `PUT ${first.staged}`]);

  // The day's files, as an extraction activity or a batch of small days asks for them: one
  // listing first, then one PUT for the files not staged yet (a bundle), nothing for the staged one.
  seen = [];
  const summaries = await extractDayFiles(spec, DAY, keys, 3);
  assert.deepEqual(
    summaries.map((s) => s.reused),
    [true, false, false],
  );
  const folder = first.staged.slice(0, first.staged.lastIndexOf("/") + 1);
  const bundle = stagedObjectOf(summaries[1]!.staged).object;
  assert.ok(isStagingBundle(bundle), `${summaries[1]!.staged} is in a bundle`);
  assert.equal(stagedObjectOf(summaries[2]!.staged).object, bundle, "both files in the same bundle");
  assert.deepEqual(seen, [`LIST ${folder}`, `PUT ${bundle}`]);

  // backfillDirect lists the day's staging once and reads the bundle it finds (which files it
  // holds), reuses the three staged files, and its combine reads each staged object once; removing
  // the day's staging lists the folder once more, for bundles no key names.
  seen = [];
  await backfillDirect(spec, DAY, DAY);
  const staging = seen.filter((request) => request.includes("/.staging/"));
  assert.deepEqual(staging.filter((request) => !request.startsWith("GET ") && !request.startsWith("DELETE ")), [`LIST ${folder}`, `LIST ${folder}`]);
  assert.deepEqual(staging.filter((request) => request.startsWith("GET ")).sort(), [`GET ${bundle}`, `GET ${bundle}`, `GET ${first.staged}`].sort(), "the listing's read of the bundle, then the combine's of each object");
});
