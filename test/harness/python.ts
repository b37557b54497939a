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

/** Run one of test/fixtures/python/*.py in the venv and parse the JSON it prints. */
export async function python<T>(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const path = resolve(repositoryRoot, "test/fixtures/python", script);
  try {
    const { stdout } = await run(venvPython, [path, ...args], { maxBuffer: 512 * 1024 * 1024, env });
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
  const results = await new Promise<{ stdout?: string; error?: string }[]>((resolveRun, rejectRun) => {
    const child = execFile(venvPython, [path], { maxBuffer: 512 * 1024 * 1024, env }, (error, stdout, stderr) => {
      if (error) rejectRun(scriptFailure("batch.py", { ...error, message: error.message, stderr }));
      else resolveRun(JSON.parse(stdout) as { stdout?: string; error?: string }[]);
    });
    child.stdin!.end(JSON.stringify(jobs));
  });
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
