/**
 * The test suite's entry point (`npm test` → scripts/test.sh → here). Node 20's test runner has no
 * global setup, so this wrapper is it: start one Temporal dev server and one MinIO for the whole
 * run, hand their addresses to the test files through the environment, run `node --test`, and stop
 * both servers whatever happens (failure, Ctrl-C, SIGTERM).
 *
 * Usage: tsx test/run.ts [--test-name-pattern=...] [test files...]   (default: every test/**\/*.test.ts)
 */
import { spawn } from "node:child_process";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { MinioServer } from "./harness/servers/minio.js";
import { processExists, repositoryRoot } from "../lib/servers/process.js";
import { workflowBundle } from "../worker/bundle.js";
import { TemporalDevServer } from "../worker/devServer.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";

async function findTests(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await findTests(path)));
    else if (entry.name.endsWith(".test.ts")) found.push(path);
  }
  return found.sort();
}

async function main(): Promise<number> {
  // Options (e.g. --test-name-pattern=...) go to node's test runner; the rest are test files.
  const runnerOptions = process.argv.slice(2).filter((a) => a.startsWith("--"));
  const requested = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const files = requested.length > 0 ? requested.map((f) => resolve(f)) : await findTests(resolve(repositoryRoot, "test"));
  // One folder per run (named by pid), so runs side by side never share a server database;
  // folders of runs whose process is gone are removed.
  const runsDir = resolve(repositoryRoot, ".work/test");
  await mkdir(runsDir, { recursive: true });
  for (const entry of await readdir(runsDir)) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && pid !== process.pid && !processExists(pid)) await rm(join(runsDir, entry), { recursive: true, force: true });
  }
  const workDir = join(runsDir, String(process.pid));
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });

  const started = Date.now();
  const temporal = new TemporalDevServer({
    searchAttributes: searchAttributeRegistrations,
    dbFile: join(workDir, "temporal.db"),
    logFile: join(workDir, "temporal.log"),
  });
  const minio = new MinioServer({ dataDir: join(workDir, "minio-data"), logFile: join(workDir, "minio.log") });
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled([temporal.stop(), minio.stop()]);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void stopAll().then(() => process.exit(130));
    });
  }

  try {
    // The workflow bundle is built once here (when the workflow sources changed), not by each worker.
    const [bundle] = await Promise.all([workflowBundle(), temporal.start(), minio.start()]);
    const retries = (temporal.lastStart?.attempts ?? 1) - 1 + (minio.lastStart?.attempts ?? 1) - 1;
    console.log(
      `[test] Temporal dev server ${temporal.address}, MinIO ${minio.endpoint}, workflow bundle ${relative(repositoryRoot, bundle.codePath)} ` +
        `ready in ${Date.now() - started} ms` +
        `${retries ? ` (${retries} start${retries > 1 ? "s" : ""} retried on an address in use)` : ""}; ${files.length} test files`,
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TK_TEST_TEMPORAL_ADDRESS: temporal.address,
      TK_TEST_WORK_DIR: workDir,
      // The standard AWS variables, as a user would set them for their own S3-compatible store.
      AWS_ENDPOINT_URL: minio.endpoint,
      AWS_ACCESS_KEY_ID: minio.accessKey,
      AWS_SECRET_ACCESS_KEY: minio.secretKey,
      AWS_REGION: "us-east-1",
      // Node 20 is within our supported range; the SDK's upgrade notice only clutters test output.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      // A Python consumer that crashes in native code (a signal, nothing on stderr) prints where.
      PYTHONFAULTHANDLER: "1",
    };
    // Four test files at a time (node's default on 2 cores is one): much of a file's time is spent
    // waiting on servers, Python and timers, and every file keeps to its own buckets, datasets and
    // task queues. On 2 cores, warm (2026-12-07, 525 tests): 735 s at three, 664 and 666 s at four,
    // the cores busy at 1.97 of 2 on average at four; so more would not help, less work would.
    // --test-concurrency=1 runs them one after another.
    const concurrency = runnerOptions.some((o) => o.startsWith("--test-concurrency")) ? [] : ["--test-concurrency=4"];
    const code = await new Promise<number>((resolveRun) => {
      const runner = spawn(
        process.execPath,
        ["--import", "tsx", "--test", "--test-reporter=spec", "--test-timeout=600000", ...concurrency, ...runnerOptions, ...files.map((f) => relative(repositoryRoot, f))],
        { cwd: repositoryRoot, env, stdio: "inherit" },
      );
      runner.once("exit", (exitCode, signal) => resolveRun(exitCode ?? (signal ? 1 : 0)));
    });
    return code;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error("[test] harness failed:", error);
    process.exit(1);
  },
);
