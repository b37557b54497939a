import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { repositoryRoot } from "../../lib/servers/process.js";
import { venvPython } from "./env.js";

const run = promisify(execFile);

/** Run one of test/fixtures/python/*.py in the venv and parse the JSON it prints. */
export async function python<T>(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const path = resolve(repositoryRoot, "test/fixtures/python", script);
  try {
    const { stdout } = await run(venvPython, [path, ...args], { maxBuffer: 512 * 1024 * 1024, env });
    return JSON.parse(stdout) as T;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${script} failed: ${e.stderr || e.message}`);
  }
}
