/**
 * `temporal-kerchunk demo` as a user runs it, in a work folder of the test's own (--work-dir): it
 * starts its own dev server (in its own process group) and worker. Interrupted by each signal a
 * user or a process manager sends, at two points, it must stop by itself with one line and no
 * stack trace, leave no process it started and nothing running in its server's database, and the
 * next run must complete. Its terminal shows one line per failed day; the worker's log goes to a
 * file. No timing is asserted: a demo that does not stop is caught by the bound on the wait.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { canConnect, processesNaming, repositoryRoot, sleep } from "../lib/servers/process.js";
import { makeArchive, testDataset, writeConfig } from "./harness/archive.js";
import { testDir } from "./harness/env.js";

/** Long enough for a demo to stop under load; the demo before the fix took ~22 s or did not stop at all. */
const EXIT_BOUND_MS = 60_000;

interface DemoRun {
  child: ChildProcess;
  /** stdout and stderr as they came. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The CLI's demo in its own process group (as a terminal runs a command), so a group SIGINT reaches it and what it started, not the test. */
function startDemo(workDir: string, args: string[]): DemoRun {
  const child = spawn(process.execPath, ["--import", "tsx", resolve(repositoryRoot, "cli/main.ts"), "demo", "--work-dir", workDir, ...args], {
    cwd: repositoryRoot,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => child.once("close", (code, signal) => resolveExit({ code, signal })));
  return { child, output: () => output, exited };
}

async function waitForOutput(run: DemoRun, pattern: RegExp, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(run.output())) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) assert.fail(`the demo exited before printing ${pattern}:\n${run.output()}`);
    if (Date.now() > deadline) assert.fail(`no ${pattern} after ${timeoutMs} ms:\n${run.output()}`);
    await sleep(50);
  }
}

/** Its exit within EXIT_BOUND_MS of `since` (the signal, or its start), or a failure (after killing it and what it started). */
async function exitOf(t: TestContext, run: DemoRun, since: number, what = "the signal"): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const exit = await Promise.race([run.exited, sleep(EXIT_BOUND_MS).then(() => undefined)]);
  if (!exit) {
    run.child.kill("SIGKILL");
    await killLeftovers(run);
    assert.fail(`the demo did not exit within ${EXIT_BOUND_MS} ms of ${what}:\n${run.output()}`);
  }
  t.diagnostic(`exited ${Date.now() - since} ms after ${what} (code ${exit.code}, signal ${exit.signal})`);
  return exit;
}

const workDirOfRun = new WeakMap<DemoRun, string>();
async function killLeftovers(run: DemoRun): Promise<void> {
  const dir = workDirOfRun.get(run);
  if (dir) for (const { pid } of await processesNaming(dir)) process.kill(pid, "SIGKILL");
}

/** No stack trace, no error object, no log line: what a user sees must be lines meant for them. */
function assertNoStackTrace(output: string): void {
  assert.doesNotMatch(output, /^\s+at .*:\d+:\d+\)?$/m, `a stack trace:\n${output}`);
  assert.doesNotMatch(output, /^\w*Error: |ApplicationFailure|\bWARN\b|\[(INFO|WARN|ERROR)\]/m, `an error object or a log line:\n${output}`);
}

type Delivery = "SIGINT to the process group" | "SIGINT to the process" | "SIGTERM to the process";

function deliver(run: DemoRun, how: Delivery): void {
  const pid = run.child.pid!;
  if (how === "SIGINT to the process group") process.kill(-pid, "SIGINT");
  else if (how === "SIGINT to the process") process.kill(pid, "SIGINT");
  else process.kill(pid, "SIGTERM");
}

/**
 * Run the demo, interrupt it once `point` shows in its output, and check how it stopped: the
 * interruption's one line (naming what it stopped, `stopping`), the exit code, no stack trace, no
 * process left, the dev server's port closed.
 */
async function interrupt(t: TestContext, workDir: string, args: string[], point: RegExp, how: Delivery, stopping: RegExp): Promise<void> {
  const run = startDemo(workDir, args);
  workDirOfRun.set(run, workDir);
  await waitForOutput(run, point);
  const port = Number(/Temporal 127\.0\.0\.1:(\d+)/.exec(run.output())?.[1]);
  const signalled = Date.now();
  deliver(run, how);
  const exit = await exitOf(t, run, signalled);
  const output = run.output();
  const signal = how.startsWith("SIGTERM") ? "SIGTERM" : "SIGINT";
  assert.deepEqual(exit, { code: signal === "SIGINT" ? 130 : 143, signal: null }, output);
  const line = new RegExp(`^interrupted \\(${signal}\\): stopping .*$`, "m").exec(output)?.[0];
  assert.ok(line, `no 'interrupted' line:\n${output}`);
  // The interruption landed where it was meant to: what it stopped was running then, and the backfill had not ended.
  assert.match(line, stopping);
  assert.doesNotMatch(output, /: completed;/);
  assertNoStackTrace(output);
  assert.deepEqual(await processesNaming(workDir), [], "a process the demo started is left");
  if (port) assert.equal(await canConnect("127.0.0.1", port), false, `the dev server's port ${port} still answers`);
}

/**
 * Run the demo to its end: it completes and opens its first day; unless `leftRunning`, it says
 * nothing of workflows an earlier run left running (the interrupted run left none).
 */
async function completes(t: TestContext, workDir: string, args: string[], leftRunning = false): Promise<string> {
  const run = startDemo(workDir, args);
  workDirOfRun.set(run, workDir);
  const exit = await exitOf(t, run, Date.now(), "its start");
  const output = run.output();
  assert.deepEqual(exit, { code: 0, signal: null }, output);
  assert.match(output, /: completed; \d+ days/);
  assert.match(output, /^opened .* with xarray/m);
  // Nothing an interrupted run left running: the fresh run terminated nothing, --resume followed nothing.
  if (!leftRunning) assert.doesNotMatch(output, /terminated \d+ workflows|going on with|that a killed demo left running/);
  assertNoStackTrace(output);
  assert.deepEqual(await processesNaming(workDir), [], "a process the demo started is left");
  return output;
}

// Two days one after another: the backfill is still running when its progress shows.
const sample = ["--days", "2", "--max-days", "1"];
const duringBackfill = /^\[[#-]+\] \d+\/\d+ days/m;
const afterServerStart = /^Temporal 127\.0\.0\.1:\d+; Web UI/m;

describe("demo", () => {
  test("Ctrl-C at the terminal (SIGINT to the process group) while the backfill runs; then --resume completes", async (t) => {
    const dir = await testDir("demo-group");
    await interrupt(t, dir, sample, duringBackfill, "SIGINT to the process group", /^interrupted \(SIGINT\): stopping the backfill, the worker and the Temporal dev server/);
    await completes(t, dir, [...sample, "--resume"]);
  });

  test("SIGINT to the demo's process right after its server started; then a fresh run completes", async (t) => {
    const dir = await testDir("demo-sigint");
    await interrupt(t, dir, sample, afterServerStart, "SIGINT to the process", /the Temporal dev server \.\.\.$/);
    await completes(t, dir, sample);
  });

  test("SIGTERM to the demo's process while the backfill runs; then a fresh run completes", async (t) => {
    const dir = await testDir("demo-sigterm");
    await interrupt(t, dir, sample, duringBackfill, "SIGTERM to the process", /^interrupted \(SIGTERM\): stopping the backfill, the worker and the Temporal dev server/);
    await completes(t, dir, sample);
  });

  test("SIGKILL to the demo's process while the backfill runs (nothing can stop then); then --resume stops the server it left and finishes its backfill", async (t) => {
    const dir = await testDir("demo-sigkill");
    const run = startDemo(dir, sample);
    workDirOfRun.set(run, dir);
    await waitForOutput(run, duringBackfill);
    run.child.kill("SIGKILL");
    await run.exited;
    const left = (await processesNaming(dir)).filter(({ args }) => args.includes("start-dev"));
    assert.equal(left.length, 1, "the killed demo's dev server runs on (in its own process group)");
    const output = await completes(t, dir, [...sample, "--resume"], true);
    assert.match(output, new RegExp(`^stopping the dev server \\(pid ${left[0]!.pid}\\) that a killed demo left running`, "m"));
    assert.match(output, /^going on with himawari8-sst-demo\/backfill\/2022-01-13\.\.2022-01-14, left running by an earlier demo/m);
  });

  test("--config with one dataset runs it; a failed day is one line on the terminal, its failure in the worker's log", async (t) => {
    const dir = await testDir("demo-config");
    const corrupt = "AHI-L2-FLDK-SST/2022/04/02/0100/20220402010000-NCCF-L3C_GHRSST-SSTsubskin-AHI_H08-ACSPO_V2.80-v02.0-fv01.0.nc";
    // Days of 10 files run in a batch of small days, as the sample's do: the batch logs the failed file (a day workflow's failed activity is logged by the SDK).
    await makeArchive(join(dir, "archive"), "2022-04-01", 2, { hours: 10, grid: [20, 40], corrupt: [corrupt] });
    const config = await writeConfig(dir, [testDataset("demo-mine", { kind: "local", path: join(dir, "archive") }, { kind: "local", path: join(dir, "out") })]);
    const run = startDemo(join(dir, "work"), ["--config", config, "--start", "2022-04-01", "--days", "2"]);
    workDirOfRun.set(run, join(dir, "work"));
    const exit = await exitOf(t, run, Date.now(), "its start");
    const output = run.output();
    assert.deepEqual(exit, { code: 1, signal: null }, output);
    assert.match(output, /^demo-mine 2022-04-01\.\.2022-04-02: partial; 2 days: 1 written/m, "the file's dataset, not the sample");
    assert.doesNotMatch(output, /writing a Himawari-like archive/);
    const failures = output.split("\n").filter((l) => l.includes("20220402010000"));
    assert.equal(failures.length, 1, `one line for the failed day:\n${output}`);
    assert.match(failures[0]!, /^2022-04-02: ERROR\(Hdf5FormatError\): /);
    assertNoStackTrace(output);
    const logPath = /worker log: (\S+)\)/.exec(output)?.[1];
    assert.equal(logPath, join(dir, "work", "worker.log"));
    assert.equal(output.split(logPath).length - 1, 1, "the log's path is printed once");
    assert.match(await readFile(logPath, "utf8"), /Hdf5FormatError/, "the failure is in the worker's log");
  });

  test("--config with several datasets and no --dataset: one line naming them, nothing started", async (t) => {
    const dir = await testDir("demo-choose");
    const local = { kind: "local" as const, path: dir };
    const config = await writeConfig(dir, [testDataset("demo-a", local, local), testDataset("demo-b", local, local)]);
    const run = startDemo(join(dir, "work"), ["--config", config]);
    const exit = await exitOf(t, run, Date.now(), "its start");
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.equal(run.output(), `error: invalid --config: ${config} defines 2 datasets: name one with --dataset (demo-a, demo-b)\n`);
  });
});
