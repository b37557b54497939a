import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { repositoryRoot } from "../../lib/servers/process.js";
import { venvPython } from "./env.js";

const run = promisify(execFile);

/** What a script that failed said, and how it ended: one killed by a signal (a crash in a native library) prints nothing. */
function scriptFailure(script: string, error: { stderr?: string; message: string; code?: number | string | null; signal?: string | null }): Error {
  const ended = error.signal ? `killed by ${error.signal}` : `exit code ${String(error.code)}`;
  return new Error(`${script} failed (${ended}): ${error.stderr || error.message}`);
}

/** One script run of a batch: test/fixtures/python/<script> with its arguments. */
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

/** Run one of test/fixtures/python/*.py in the venv and parse the JSON it prints. */
export async function python<T>(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const path = resolve(repositoryRoot, "test/fixtures/python", script);
  try {
    const { stdout } = await withOneRetryAfterCrash(script, () => run(venvPython, [path, ...args], { maxBuffer: 512 * 1024 * 1024, env }));
    return JSON.parse(stdout) as T;
  } catch (error) {
    throw scriptFailure(script, error as Parameters<typeof scriptFailure>[1]);
  }
}

/**
 * Run several of test/fixtures/python/*.py in one venv process (`batch.py`: each job as its own
 * script run, its imports paid once) and parse the JSON each printed, in the order of `jobs`. A
 * job that failed fails the batch, naming the job.
 */
export async function pythonBatch<T>(jobs: readonly PythonJob[], env: NodeJS.ProcessEnv = process.env): Promise<T[]> {
  const path = resolve(repositoryRoot, "test/fixtures/python/batch.py");
  const runBatch = (): Promise<{ stdout?: string; error?: string }[]> =>
    new Promise((resolveRun, rejectRun) => {
      const child = execFile(venvPython, [path], { maxBuffer: 512 * 1024 * 1024, env }, (error, stdout, stderr) => {
        if (error) rejectRun(Object.assign(scriptFailure("batch.py", { ...error, message: error.message, stderr }), { signal: error.signal }));
        else resolveRun(JSON.parse(stdout) as { stdout?: string; error?: string }[]);
      });
      child.stdin!.end(JSON.stringify(jobs));
    });
  const results = await withOneRetryAfterCrash("batch.py", runBatch);
  return results.map((result, i) => {
    const job = `${jobs[i]!.script} ${jobs[i]!.args.join(" ")}`;
    if (result.error !== undefined) throw new Error(`${job} failed: ${result.error}`);
    try {
      return JSON.parse(result.stdout!) as T;
    } catch {
      throw new Error(`${job} printed no JSON: ${result.stdout!.slice(0, 500)}`);
    }
  });
}
