/**
 * The Icechunk benchmark: a month of Himawari-sized references (744 hourly files, 768 chunk
 * references each: bench/icechunk/generate.ts) committed day by day with lib/icechunk, on local
 * storage (manifests split along time, the default, and not split) and on MinIO; then the store's
 * size, a retried commit, the month's tag, and the time to open the store and read one time step
 * with xarray, next to the kerchunk JSON and Parquet outputs of the same month (lib/combine) opened
 * and read the same way. Each read runs in its own Python process (3 runs, median).
 *
 * usage: npx tsx bench/icechunk/run.ts [--skip-minio]
 * Results: a Markdown table on stdout and .work/bench-icechunk/results.json.
 */
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { writeCombinedReferences } from "../../lib/combine/index.js";
import { commitDay, containerPrefix, lastModifiedOf, listDayCommits, repositoryLocation, tagPeriod, type IcechunkDataset, type SourceVersion } from "../../lib/icechunk/index.js";
import { MinioServer } from "../../test/harness/servers/minio.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const work = join(root, ".work/bench-icechunk");
const month = join(work, "month");
const python = join(root, ".venv/bin/python");
const skipMinio = process.argv.includes("--skip-minio");

interface Manifest {
  days: Record<string, string[]>;
  readHour: number;
  readFile: string;
  latlon: string;
}

if (!existsSync(join(month, "manifest.json"))) {
  await run(process.execPath, ["--import", "tsx", "bench/icechunk/generate.ts", month], { cwd: root, maxBuffer: 1 << 24 });
}
const manifest = JSON.parse(await readFile(join(month, "manifest.json"), "utf8")) as Manifest;
const days = Object.keys(manifest.days).sort();
const allRefs = days.flatMap((d) => manifest.days[d]!);

// Every reference's source version: the read hour's real mtime for all of them (the other hours'
// files do not exist and are never read), the shared lat/lon file's own.
const versions = new Map<string, SourceVersion>();
const hourVersion = { lastModified: lastModifiedOf((await stat(manifest.readFile)).mtimeMs) };
for (const file of await readdir(join(month, "refs"))) {
  versions.set(pathToFileURL(join(month, "src", file.replace(/\.json$/, ".nc"))).href, hourVersion);
}
versions.set(pathToFileURL(manifest.latlon).href, { lastModified: lastModifiedOf((await stat(manifest.latlon)).mtimeMs) });

async function folderSize(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

async function bucketSize(bucket: string): Promise<number> {
  const client = new S3Client({ forcePathStyle: true });
  let total = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) total += object.Size ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  client.destroy();
  return total;
}

const stats = (values: number[]): { min: number; median: number; max: number; total: number } => {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]!, total: values.reduce((a, b) => a + b, 0) };
};

interface CommitRun {
  variant: string;
  combine: ReturnType<typeof stats>;
  commit: ReturnType<typeof stats>;
  firstCommitMs: number;
  lastCommitMs: number;
  retryMs: number;
  tagMs: number;
  historyMs: number;
  sizeBytes: number;
  refsPerDay: number;
}

async function commitMonth(variant: string, output: IcechunkDataset["output"]["storage"], manifestSplitChunks: number, size: (dataset: IcechunkDataset) => Promise<number>): Promise<{ run: CommitRun; dataset: IcechunkDataset }> {
  const dataset: IcechunkDataset = {
    name: "himawari-bench",
    source: { storage: { kind: "local", path: month }, root: "" },
    output: { storage: output, prefix: variant },
    combine: { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] },
  };
  const combine: number[] = [];
  const commit: number[] = [];
  let refsPerDay = 0;
  for (const day of days) {
    const summary = await commitDay(dataset, day, { referenceFiles: manifest.days[day]! }, { sourceVersions: versions, manifestSplitChunks });
    if (summary.alreadyCommitted) throw new Error(`${variant}: ${day} was already committed: remove ${work} and run again`);
    combine.push(summary.combineMs);
    commit.push(summary.commitMs);
    refsPerDay = summary.virtualRefs;
    process.stderr.write(`${variant} ${day}: combine ${summary.combineMs} ms, commit ${summary.commitMs} ms\n`);
  }
    const retried = await commitDay(dataset, days[days.length - 1]!, { referenceFiles: manifest.days[days[days.length - 1]!]! }, { sourceVersions: versions, manifestSplitChunks });
  if (!retried.alreadyCommitted) throw new Error("the retried day was committed again");
  const retryMs = retried.commitMs;
  let started = performance.now();
  await tagPeriod(dataset, "2022-01");
  const tagMs = performance.now() - started;
  started = performance.now();
  const history = await listDayCommits(dataset);
  const historyMs = performance.now() - started;
  if (history.length !== days.length) throw new Error(`${history.length} day commits, expected ${days.length}`);
  return {
    dataset,
    run: { variant, combine: stats(combine), commit: stats(commit), firstCommitMs: commit[0]!, lastCommitMs: commit[commit.length - 1]!, retryMs, tagMs: Math.round(tagMs), historyMs: Math.round(historyMs), sizeBytes: await size(dataset), refsPerDay },
  };
}

interface StepRead {
  open_s: number;
  read_s: number;
  sum: number;
  steps: number;
}

async function readStep(args: string[]): Promise<StepRead> {
  const results: StepRead[] = [];
  for (let i = 0; i < 3; i++) {
    const { stdout } = await run(python, [join(root, "bench/icechunk/read_step.py"), ...args], { maxBuffer: 1 << 24 });
    results.push(JSON.parse(stdout.trim().split("\n").pop()!) as StepRead);
  }
  const median = (key: "open_s" | "read_s"): number => results.map((r) => r[key]).sort((a, b) => a - b)[1]!;
  return { open_s: median("open_s"), read_s: median("read_s"), sum: results[0]!.sum, steps: results[0]!.steps };
}

await rm(join(work, "out"), { recursive: true, force: true });
const localOut = { kind: "local" as const, path: join(work, "out") };
const runs: CommitRun[] = [];
const localSize = (dataset: IcechunkDataset): Promise<number> => folderSize(repositoryLocation(dataset).description);
const split = await commitMonth("local-split48", localOut, 48, localSize);
runs.push(split.run);
const unsplit = await commitMonth("local-unsplit", localOut, 0, localSize);
runs.push(unsplit.run);

if (!skipMinio) {
  const minio = new MinioServer({ logFile: join(work, "minio.log") });
  await minio.start();
  try {
    Object.assign(process.env, { AWS_ENDPOINT_URL: minio.endpoint, AWS_ACCESS_KEY_ID: minio.accessKey, AWS_SECRET_ACCESS_KEY: minio.secretKey, AWS_REGION: "us-east-1" });
    const client = new S3Client({ forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: "bench" }));
    client.destroy();
    runs.push((await commitMonth("minio-split48", { kind: "s3", bucket: "bench" }, 48, () => bucketSize("bench"))).run);
  } finally {
    await minio.stop();
  }
}

// The kerchunk outputs of the same month (the combine of all 744 files at once).
let started = performance.now();
const json = join(work, "out", "month.json");
await writeCombinedReferences(allRefs, json, { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] });
const jsonMs = performance.now() - started;
started = performance.now();
const parquet = join(work, "out", "month.parq");
await writeCombinedReferences(allRefs, parquet, { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] });
const parquetMs = performance.now() - started;

const step = manifest.readHour;
const reads = {
  icechunk: await readStep(["icechunk", repositoryLocation(split.dataset).description, containerPrefix(split.dataset.source.storage), String(step)]),
  "icechunk (unsplit)": await readStep(["icechunk", repositoryLocation(unsplit.dataset).description, containerPrefix(unsplit.dataset.source.storage), String(step)]),
  "kerchunk JSON": await readStep(["json", json, String(step)]),
  "kerchunk Parquet": await readStep(["parquet", parquet, String(step)]),
};
const sums = new Set(Object.values(reads).map((r) => r.sum));
if (sums.size !== 1) throw new Error(`the outputs read different values: ${JSON.stringify(reads)}`);

const results = {
  machine: { node: process.version, cpus: (await import("node:os")).cpus().length },
  month: { files: allRefs.length, days: days.length, refsPerDay: split.run.refsPerDay },
  runs,
  kerchunk: { jsonMs: Math.round(jsonMs), jsonBytes: (await stat(json)).size, parquetMs: Math.round(parquetMs), parquetBytes: await folderSize(parquet) },
  reads,
};
await writeFile(join(work, "results.json"), JSON.stringify(results, null, 2));

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
console.log("| output | commit per day (min / median / max) | combine per day (median) | first / last day | retried day | tag | size |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const r of runs) {
  console.log(`| Icechunk, ${r.variant} | ${r.commit.min} / ${r.commit.median} / ${r.commit.max} ms | ${r.combine.median} ms | ${r.firstCommitMs} / ${r.lastCommitMs} ms | ${r.retryMs} ms | ${r.tagMs} ms | ${mib(r.sizeBytes)} |`);
}
console.log(`| kerchunk JSON (month, one combine) | | ${results.kerchunk.jsonMs} ms for the month | | | | ${mib(results.kerchunk.jsonBytes)} |`);
console.log(`| kerchunk Parquet (month, one combine) | | ${results.kerchunk.parquetMs} ms for the month | | | | ${mib(results.kerchunk.parquetBytes)} |`);
console.log("");
console.log("| output | open with xarray (median of 3) | read one time step of sea_surface_temperature (64 chunks) |");
console.log("| --- | --- | --- |");
for (const [name, r] of Object.entries(reads)) console.log(`| ${name} | ${(r.open_s * 1000).toFixed(0)} ms | ${(r.read_s * 1000).toFixed(0)} ms |`);
