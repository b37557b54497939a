import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { repositoryRoot } from "../../lib/servers/process.js";

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `temporal-kerchunk <args>` as a user would (a process of its own, from source), with `env`
 * added to this process's environment (a variable set to undefined is removed). Never rejects:
 * the exit code is in the result.
 */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete merged[name];
  return run(process.execPath, ["--import", "tsx", resolve(repositoryRoot, "cli/main.ts"), ...args], { cwd: repositoryRoot, env: merged, timeout: 120_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}
