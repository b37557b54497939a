/**
 * How long a worker takes from `node` to polling, with the workflow bundle prebuilt (`npm run
 * build`) and, side by side, bundled at start as before (webpack in the worker). Each run is a new
 * process against a dev server started here; "ready" is the worker's own line (the time since its
 * process started) and, end to end, a `ping` workflow started with the process and answered by it.
 *
 *   npm run build && npx tsx bench/worker/startup.ts [--runs 5]
 */
import { Client, Connection } from "@temporalio/client";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { repositoryRoot } from "../../lib/servers/process.js";
import { TemporalDevServer } from "../../worker/devServer.js";
import { ping } from "../../workflows/ping.js";
import { searchAttributeRegistrations } from "../../workflows/searchAttributes.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);

/** The old way, for comparison: a Worker given the workflows' source path bundles them with webpack at start. */
const bundlingAtStart = `
  import { NativeConnection, Worker, DefaultLogger, Runtime } from "@temporalio/worker";
  Runtime.install({ logger: new DefaultLogger("WARN") });
  const [address, taskQueue] = process.argv.slice(-2);
  const worker = await Worker.create({ connection: await NativeConnection.connect({ address }), taskQueue,
    workflowsPath: ${JSON.stringify(resolve(repositoryRoot, "dist/workflows/index.js"))},
    activities: { describeWorker: async () => "bundled at start" } });
  console.error("polling " + Math.round(performance.now()) + " ms after start");
  await worker.run();`;

interface Variant {
  name: string;
  args: (address: string, taskQueue: string) => string[];
}

const variants: Variant[] = [
  { name: "prebuilt bundle, compiled (node dist/cli/main.js worker)", args: (a, q) => ["dist/cli/main.js", "worker", "--address", a, "--task-queue", q] },
  { name: "prebuilt bundle, from source (tsx cli/main.ts worker)", args: (a, q) => ["--import", "tsx", "cli/main.ts", "worker", "--address", a, "--task-queue", q] },
  { name: "bundled at start with webpack (as before)", args: (a, q) => ["--input-type=module", "-e", bundlingAtStart, a, q] },
];

async function once(client: Client, address: string, variant: Variant, taskQueue: string): Promise<{ polling: number; ping: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, variant.args(address, taskQueue), { cwd: repositoryRoot, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TK_LOG_LEVEL: "WARN" } });
  let stderr = "";
  const polling = new Promise<number>((resolvePolling, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /polling (\d+) ms after start/.exec(stderr);
      if (match) resolvePolling(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`worker exited (${code}): ${stderr}`)));
  });
  try {
    await client.workflow.execute(ping, { taskQueue, workflowId: `startup-${taskQueue}`, args: ["bench"] });
    return { polling: await polling, ping: Math.round(performance.now() - started) };
  } finally {
    child.kill("SIGINT");
    await new Promise((r) => child.once("exit", r));
  }
}

async function main(): Promise<void> {
  if (!existsSync(resolve(repositoryRoot, "dist/workflow-bundle"))) throw new Error("run 'npm run build' first");
  const dir = await mkdtemp(join(tmpdir(), "tk-startup-"));
  const server = await new TemporalDevServer({ searchAttributes: searchAttributeRegistrations, dbFile: join(dir, "temporal.db") }).start();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  try {
    for (const [v, variant] of variants.entries()) {
      const results = [];
      for (let i = 0; i < runs; i++) results.push(await once(client, server.address, variant, `startup-${v}-${i}`));
      console.log(
        `${variant.name}: polling after ${median(results.map((r) => r.polling))} ms (median of ${runs}; ${results.map((r) => r.polling).join(", ")}), ` +
          `first ping answered ${median(results.map((r) => r.ping))} ms after spawn`,
      );
    }
  } finally {
    await connection.close();
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
