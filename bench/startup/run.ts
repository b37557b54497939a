/**
 * Start-up reliability: starts and stops the Temporal dev server (with its Web UI, as the demo
 * does) and MinIO (as the test harness does) many times in a row while another process keeps
 * opening and closing ephemeral ports on 127.0.0.1 (bench/startup/portChurn.ts). Records failed
 * starts, retries used and start times. Results go in docs/reliability.md.
 *
 *   npx tsx bench/startup/run.ts [--dev-starts 200] [--minio-starts 100] [--churn-loops 32]
 *        [--attempts 4] [--ports ours|kernel] [--json out.json]
 *
 * `--ports kernel --attempts 1` is the old way (ports from bind(0), no retry), for comparison.
 */
import { spawn } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { kernelPort, pickPort, type PortPicker } from "../../lib/servers/ports.js";
import { repositoryRoot, type StartReport } from "../../lib/servers/process.js";
import { MinioServer } from "../../test/harness/servers/minio.js";
import { TemporalDevServer } from "../../worker/devServer.js";
import { searchAttributeRegistrations } from "../../workflows/searchAttributes.js";

const { values: options } = parseArgs({
  options: {
    "dev-starts": { type: "string", default: "200" },
    "minio-starts": { type: "string", default: "100" },
    "churn-loops": { type: "string", default: "32" },
    attempts: { type: "string", default: "4" },
    ports: { type: "string", default: "ours" },
    json: { type: "string" },
  },
});
const attempts = Number(options.attempts);
const picker: PortPicker = options.ports === "kernel" ? () => kernelPort() : () => pickPort();
const workDir = resolve(repositoryRoot, ".work/bench-startup");

interface Series {
  server: string;
  starts: number;
  failed: number;
  failures: string[];
  /** Starts that needed more than one try, and tries beyond the first in all. */
  startsRetried: number;
  retries: number;
  retryReasons: string[];
  startMs: { median: number; p95: number; max: number };
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

async function series(server: string, count: number, once: (i: number) => Promise<StartReport>): Promise<Series> {
  const times: number[] = [];
  const failures: string[] = [];
  const retryReasons: string[] = [];
  let startsRetried = 0;
  let retries = 0;
  for (let i = 0; i < count; i++) {
    const began = performance.now();
    try {
      const report = await once(i);
      times.push(report.ms);
      if (report.attempts > 1) startsRetried++;
      retries += report.attempts - 1;
      retryReasons.push(...report.retried.map((r) => r.slice(0, 160)));
    } catch (error) {
      failures.push(`#${i} after ${Math.round(performance.now() - began)} ms: ${(error as Error).message.split("\n").slice(0, 3).join(" | ").slice(0, 400)}`);
    }
    if ((i + 1) % 25 === 0) console.error(`[bench] ${server}: ${i + 1}/${count} starts, ${failures.length} failed, ${retries} retries`);
  }
  times.sort((a, b) => a - b);
  return {
    server,
    starts: count,
    failed: failures.length,
    failures,
    startsRetried,
    retries,
    retryReasons,
    startMs: { median: percentile(times, 50), p95: percentile(times, 95), max: times[times.length - 1] ?? 0 },
  };
}

async function main(): Promise<void> {
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const churn = spawn(process.execPath, ["--import", "tsx", resolve(repositoryRoot, "bench/startup/portChurn.ts"), options["churn-loops"]!], {
    cwd: repositoryRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let churnOutput = "";
  churn.stdout.on("data", (chunk: Buffer) => (churnOutput += chunk.toString()));
  await new Promise((r) => setTimeout(r, 1500)); // let the churn get going
  const quiet = { attempts, onRetry: () => undefined };
  const results: Series[] = [];
  try {
    results.push(
      await series("temporal dev server (Web UI, search attributes)", Number(options["dev-starts"]), async (i) => {
        const dir = join(workDir, `dev-${i}`);
        const server = new TemporalDevServer({
          ui: true,
          searchAttributes: searchAttributeRegistrations,
          dbFile: join(dir, "temporal.db"),
          logFile: join(dir, "temporal.log"),
          pickPort: picker,
          retry: quiet,
        });
        try {
          await server.start();
          return server.lastStart!;
        } finally {
          await server.stop();
          await rm(dir, { recursive: true, force: true });
        }
      }),
    );
    results.push(
      await series("minio", Number(options["minio-starts"]), async (i) => {
        const dir = join(workDir, `minio-${i}`);
        const minio = new MinioServer({ dataDir: join(dir, "data"), logFile: join(dir, "minio.log"), pickPort: picker, retry: quiet });
        try {
          await minio.start();
          return minio.lastStart!;
        } finally {
          await minio.stop();
          await rm(dir, { recursive: true, force: true });
        }
      }),
    );
  } finally {
    churn.kill("SIGTERM");
    await new Promise((r) => churn.once("exit", r));
  }
  const report = { ports: options.ports, attempts, churnLoops: Number(options["churn-loops"]), churn: JSON.parse(churnOutput || "{}") as unknown, results };
  console.log(JSON.stringify(report, null, 2));
  if (options.json) await writeFile(options.json, JSON.stringify(report, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
