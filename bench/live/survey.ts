/**
 * The live survey's cost for a day that grows file by file (issue 23): a day of `--files` files
 * (144: a 10-minute cadence) arrives one file per batch, and each batch's survey
 * (lib/live/survey.ts `surveyLive`, as the live workflow's `liveSurvey` activity runs it) is timed
 * and the requests it sends to the source bucket counted by MinIO itself (bench/live/requests.ts):
 * the day's listing and whatever the survey asks per file. No store exists (the output bucket is
 * empty); a store's records add the same few Icechunk reads to every batch, whatever the day holds.
 * The files' bytes are one small netCDF-4 file copied under the day's keys: the survey lists and
 * versions them, it does not read them.
 *
 * That the listing's ETags keep an overwrite detected is test/live.test.ts's (its overwrite on MinIO).
 *
 * usage: npx tsx bench/live/survey.ts [--files 144] [--repeat 5]
 */
import { CopyObjectCommand, CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { loadavg } from "node:os";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { resolveDatasetSpec } from "../../lib/datasets/spec.js";
import { surveyLive } from "../../lib/live/survey.js";
import { repositoryRoot } from "../../lib/servers/process.js";
import { makeArchive, testDataset } from "../../test/harness/archive.js";
import { MinioServer } from "../../test/harness/servers/minio.js";
import { useMinio } from "../servers.js";
import { bucketRequests, describeRequests, metricsEnv, requestsSince, totalRequests, type RequestCounts } from "./requests.js";

const { values } = parseArgs({ options: { files: { type: "string", default: "144" }, repeat: { type: "string", default: "5" } } });
const files = Number(values.files);
const repeat = Number(values.repeat);
if (!(files >= 1 && files <= 1440 && Number.isInteger(files))) throw new Error(`--files ${values.files}: expected a whole number of files in a day, 1 to 1440`);

const work = join(repositoryRoot, ".work/bench-live-survey");
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const [sample] = await makeArchive(join(work, "archive"), "2022-03-01", 1, { hours: 1, grid: [30, 60] });
const body = await readFile(join(work, "archive", sample!));

const minio = await new MinioServer({ logFile: join(work, "minio.log"), env: metricsEnv }).start();
useMinio(minio);
const s3 = new S3Client({ forcePathStyle: true });
const [source, output] = ["survey-bench-src", "survey-bench-out"];
for (const Bucket of [source, output]) await s3.send(new CreateBucketCommand({ Bucket }));
const spec = resolveDatasetSpec({ ...testDataset("survey-bench", { kind: "s3", bucket: source }, { kind: "s3", bucket: output }), output: { storage: { kind: "s3", bucket: output }, prefix: "refs", suffix: "", format: "icechunk" } });
const day = "2022-03-01";
const minutes = (1440 / files) | 0;
const keys = Array.from({ length: files }, (_, i) => {
  const hhmm = `${String(Math.floor((i * minutes) / 60)).padStart(2, "0")}${String((i * minutes) % 60).padStart(2, "0")}`;
  return `AHI-L2-FLDK-SST/2022/03/01/${hhmm}/20220301${hhmm}00-sst.nc`;
});

// The source bucket's: opening the (absent) store costs every batch the same few reads whatever the day holds.
const requests = (): Promise<RequestCounts> => bucketRequests(minio.endpoint, source);

/** One batch: the survey of the day after its newest file arrived; its time and requests. */
async function batch(key: string, etag: string): Promise<{ ms: number; asked: RequestCounts; files: number }> {
  const before = await requests();
  const start = performance.now();
  const plan = await surveyLive(spec, [day], [{ key, etag, day }]);
  const ms = performance.now() - start;
  return { ms, asked: requestsSince(before, await requests()), files: plan.write[0]?.files.length ?? 0 };
}

try {
  // The day: one file arrives (a PUT, then copies of it), then its batch's survey. The day's
  // requests are read once before and once after (the arrivals' own PUT and copies left out).
  const dayStart = await requests();
  const ms: number[] = [];
  let etag = (await s3.send(new PutObjectCommand({ Bucket: source, Key: keys[0], Body: body }))).ETag ?? "";
  for (const [i, key] of keys.entries()) {
    if (i > 0) etag = (await s3.send(new CopyObjectCommand({ Bucket: source, Key: key, CopySource: `${source}/${keys[0]}` }))).CopyObjectResult?.ETag ?? "";
    const start = performance.now();
    const plan = await surveyLive(spec, [day], [{ key, etag, day }]);
    ms.push(performance.now() - start);
    if (plan.write[0]?.files.length !== i + 1) throw new Error(`the survey after ${i + 1} files planned ${plan.write[0]?.files.length ?? 0}`);
  }
  const { CopyObject: _copies, PutObject: _puts, ...dayAsked } = requestsSince(dayStart, await requests());
  // The day's last batch again, `repeat` times: its median time and its requests.
  const last: { ms: number; asked: RequestCounts }[] = [];
  for (let r = 0; r < repeat; r++) {
    const before = await requests();
    const start = performance.now();
    await surveyLive(spec, [day], [{ key: keys[files - 1]!, etag, day }]);
    last.push({ ms: performance.now() - start, asked: requestsSince(before, await requests()) });
  }
  last.sort((a, b) => a.ms - b.ms);
  const median = last[Math.floor(last.length / 2)]!;
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  console.log(`survey of a day of ${files} files (one every ${minutes} min), one file per batch, MinIO on this machine; load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  console.log(`last batch (${files} files listed): ${describeRequests(median.asked)}; ${median.ms.toFixed(0)} ms (median of ${repeat})`);
  console.log(`the whole day (${files} batches): ${totalRequests(dayAsked)} requests (${describeRequests(dayAsked)}), ${(sum(ms) / 1000).toFixed(1)} s of surveys; per batch ${(totalRequests(dayAsked) / files).toFixed(1)} requests, ${(sum(ms) / files).toFixed(0)} ms on average`);
} finally {
  s3.destroy();
  await minio.stop();
}
