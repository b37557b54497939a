import { bundleWorkflowCode, type Logger } from "@temporalio/worker";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The workflow code as one bundle, built ahead of time so a worker starts without webpack (seconds
 * of CPU and a page of bundler log at every start otherwise). The bundle is named by a hash of
 * what goes into it (the workflow modules and the lib modules they import, and the SDK's
 * version), so a stale bundle is never used:
 *  - compiled (dist/): `npm run build` writes dist/workflow-bundle/<hash>.js;
 *  - from source (tsx: tests, `npx tsx cli/main.ts`): .work/workflow-bundle/<hash>.js, built by
 *    the first process that needs it (test/run.ts builds it before the tests start).
 */

const here = dirname(fileURLToPath(import.meta.url));
const compiled = existsSync(resolve(here, "../workflows/index.js"));
/** The workflows' entry module: the .ts source when running from source, the compiled .js in dist/. */
export const workflowsPath = resolve(here, compiled ? "../workflows/index.js" : "../workflows/index.ts");
const bundleDir = compiled ? resolve(here, "../workflow-bundle") : resolve(here, "../.work/workflow-bundle");

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']/g;

/** Every module a module imports, by specifier (relative ones and packages alike). */
export function importsOf(file: string): string[] {
  return [...readFileSync(file, "utf8").matchAll(IMPORT)].map((m) => (m[1] ?? m[2])!);
}

/** A relative specifier as the file it names (`./x.js` is `./x.ts` in the sources). */
export function resolveRelative(from: string, specifier: string): string {
  const path = resolve(dirname(from), specifier);
  if (existsSync(path)) return path;
  const ts = path.replace(/\.js$/, ".ts");
  if (existsSync(ts)) return ts;
  throw new Error(`${from}: cannot resolve '${specifier}'`);
}

/** The files the workflow bundle is made of (ours: the entry and everything it imports relatively), sorted. */
export function workflowSources(entry = workflowsPath): string[] {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    for (const specifier of importsOf(file)) {
      if (!specifier.startsWith(".")) continue;
      const target = resolveRelative(file, specifier);
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return [...seen].sort();
}

function sdkVersion(name: string): string {
  const require = createRequire(import.meta.url);
  return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version: string }).version;
}

/** Names the bundle: the workflow sources (by path and content) and the SDK versions that bundle and run them. */
export function workflowSourceHash(entry = workflowsPath): string {
  const hash = createHash("sha256");
  const root = resolve(dirname(entry), "..");
  for (const file of workflowSources(entry)) hash.update(`${relative(root, file)}\0`).update(readFileSync(file)).update("\0");
  hash.update(`@temporalio/worker ${sdkVersion("@temporalio/worker")} @temporalio/workflow ${sdkVersion("@temporalio/workflow")}`);
  return hash.digest("hex").slice(0, 16);
}

/** Only the bundler's warnings and errors: its info log is a page per build. */
const quiet: Logger = {
  log: (level, message, meta) => {
    if (level === "WARN" || level === "ERROR") console.error(`[workflow bundle] ${level}: ${message}`, meta ?? "");
  },
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message, meta) => console.error(`[workflow bundle] WARN: ${message}`, meta ?? ""),
  error: (message, meta) => console.error(`[workflow bundle] ERROR: ${message}`, meta ?? ""),
};

/** Build the bundle for the current sources into its hashed file (removing older ones); returns its path. */
export async function buildWorkflowBundle(): Promise<string> {
  const path = join(bundleDir, `${workflowSourceHash()}.js`);
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet });
  await mkdir(bundleDir, { recursive: true });
  // Written under a temporary name and renamed: a process starting meanwhile never reads half a bundle.
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, code);
  await rename(temporary, path);
  for (const name of await readdir(bundleDir)) {
    if (name !== `${path.slice(bundleDir.length + 1)}` && !name.includes(".tmp-")) await rm(join(bundleDir, name), { force: true });
  }
  return path;
}

/** The bundle for the current workflow sources, if it has been built. */
export function prebuiltWorkflowBundle(): { codePath: string } | undefined {
  const path = join(bundleDir, `${workflowSourceHash()}.js`);
  return existsSync(path) ? { codePath: path } : undefined;
}

/**
 * The bundle for the current workflow sources, built now if there is none yet (once per change of
 * the sources when running from source; never after `npm run build`).
 */
export async function workflowBundle(): Promise<{ codePath: string }> {
  const prebuilt = prebuiltWorkflowBundle();
  if (prebuilt) return prebuilt;
  const path = join(bundleDir, `${workflowSourceHash()}.js`);
  if (compiled) console.error(`[workflow bundle] ${relative(process.cwd(), path)} is missing (run 'npm run build'): bundling now`);
  return { codePath: await buildWorkflowBundle() };
}
