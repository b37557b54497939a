import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import os from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { repositoryRoot } from "../../lib/servers/process.js";
import { testDir, venvPython } from "./env.js";

/** What a script that failed said, and how it ended: one killed by a signal (a crash in a native library) prints nothing. */
function scriptFailure(script: string, error: { stderr?: string; message: string; code?: number | string | null; signal?: string | null }): Error {
  const ended = error.signal ? `killed by ${error.signal}` : `exit code ${String(error.code)}`;
  return new Error(`${script} failed (${ended}): ${error.stderr || error.message}`);
}

/** One script run: test/fixtures/python/<script> with its arguments. */
export interface PythonJob {
  script: string;
  args: string[];
}

/**
 * A consumer killed by a signal is run once more. Native code in the consumers' libraries has
 * crashed under the full suite's load with nothing useful on stderr: a netCDF-3 VirtualiZarr check
 * once (3df3a05), and Python icechunk once, reading a step that fails its checksum (a segmentation
 * fault in a thread without Python frames, 2026-12-07), which 21 runs of that test alone, 15 of
 * them with both cores kept busy, did not bring back. A crash our output causes comes back and fails
 * the second run the same way; the first is reported on stderr, so it is never silent.
 */
async function withOneRetryAfterCrash<T>(script: string, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    const signal = (error as { signal?: string | null }).signal;
    if (!signal) throw error;
    console.error(`[python] ${script} was killed by ${signal}; running it once more (a second crash fails the test)`);
    return await attempt();
  }
}

/** A job's end as the zygote reports it: an exit code, or the signal that killed it. */
interface JobEnd {
  id: number;
  code?: number;
  signal?: number;
}

interface PendingJob {
  settle: (end: JobEnd) => void;
  fail: (error: Error) => void;
}

const signalNames = new Map(Object.entries(os.constants.signals).map(([name, number]) => [number, name]));

/**
 * test/fixtures/python/zygote.py, started at this process's first consumer run: it imports the
 * consumers' libraries once and runs each job in a fork of itself (see there). Kept referenced
 * only while a job runs, so it never keeps a test file's process alive; it ends when that
 * process's end closes its stdin.
 */
class Zygote {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, PendingJob>();
  private nextId = 0;
  private stderr = "";
  private ended: Error | undefined;

  constructor(private readonly dir: string) {
    this.child = spawn(venvPython, [resolve(repositoryRoot, "test/fixtures/python/zygote.py")], { stdio: "pipe" });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const end = JSON.parse(line) as JobEnd;
      const job = this.pending.get(end.id);
      if (!job) return;
      this.pending.delete(end.id);
      this.holdOpen();
      job.settle(end);
    });
    this.child.stderr.setEncoding("utf8").on("data", (text: string) => {
      this.stderr = (this.stderr + text).slice(-4000);
    });
    this.child.once("exit", (code, signal) => {
      this.ended = new Error(`the Python zygote ended (${signal ?? `exit code ${String(code)}`}): ${this.stderr}`);
      for (const job of this.pending.values()) job.fail(this.ended);
      this.pending.clear();
    });
    this.child.once("error", (error) => {
      this.ended = error;
    });
    this.holdOpen();
  }

  get alive(): boolean {
    return this.ended === undefined;
  }

  /** Keep this process alive while a job runs, and only then. */
  private holdOpen(): void {
    const streams = [this.child, this.child.stdout, this.child.stderr, this.child.stdin] as unknown as { ref(): void; unref(): void }[];
    for (const stream of streams) {
      if (this.pending.size > 0) stream.ref();
      else stream.unref();
    }
  }

  /** Run one script with its arguments and environment; what it printed, or how it failed. */
  run(script: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
    const id = this.nextId++;
    const files = { stdout: join(this.dir, `${id}.out`), stderr: join(this.dir, `${id}.err`) };
    return new Promise<JobEnd>((settle, fail) => {
      if (this.ended) return fail(this.ended);
      this.pending.set(id, { settle, fail });
      this.holdOpen();
      const definedEnv = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined));
      this.child.stdin.write(`${JSON.stringify({ id, script, args, env: definedEnv, ...files })}\n`);
    }).then(async (end) => {
      const [stdout, stderr] = await Promise.all([readFile(files.stdout, "utf8"), readFile(files.stderr, "utf8")]);
      await Promise.all([rm(files.stdout, { force: true }), rm(files.stderr, { force: true })]);
      if (end.code === 0) return { stdout, stderr };
      const signal = end.signal === undefined ? null : (signalNames.get(end.signal) ?? `signal ${end.signal}`);
      throw Object.assign(new Error(`${script} failed`), { stderr, code: end.code ?? null, signal });
    });
  }
}

let zygote: Promise<Zygote> | undefined;

/** This process's zygote: one, however many runs ask for it at once; a new one if it ended. */
async function theZygote(): Promise<Zygote> {
  const current = zygote;
  if (current && (await current).alive) return current;
  if (zygote === current) zygote = testDir("python").then((dir) => new Zygote(dir));
  return zygote!;
}

/**
 * Run one of test/fixtures/python/*.py with the venv's Python and parse the JSON it prints. It
 * runs as `python SCRIPT ARGS` would, in a fork of a process that has the consumers' libraries
 * imported (zygote.py): calls side by side run side by side.
 */
export async function python<T>(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const path = resolve(repositoryRoot, "test/fixtures/python", script);
  let stdout: string;
  try {
    ({ stdout } = await withOneRetryAfterCrash(script, async () => (await theZygote()).run(path, args, env)));
  } catch (error) {
    throw scriptFailure(script, error as Parameters<typeof scriptFailure>[1]);
  }
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new Error(`${script} printed no JSON: ${stdout.slice(0, 500)}`);
  }
}

/** Run several scripts side by side; the JSON each printed, in the order of `jobs`. */
export async function pythonAll<T>(jobs: readonly PythonJob[], env: NodeJS.ProcessEnv = process.env): Promise<T[]> {
  return Promise.all(jobs.map((job) => python<T>(job.script, job.args, env)));
}
