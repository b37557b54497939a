/**
 * The `temporal-kerchunk` bin's first line (cli/main.ts): run as a program, it starts node with the
 * flags it names (cli/binFlags.ts reads them for whatever starts the code through `node` itself),
 * and those flags give the young generation room beyond V8's default (docs/benchmarks.md, "Young
 * generation").
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { binNodeFlags } from "../cli/binFlags.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { testDir } from "./harness/env.js";

const run = promisify(execFile);
const mainPath = join(repositoryRoot, "cli/main.ts");

/** A program with `firstLine` that reports its node flags and its young generation after churning through short-lived objects. */
async function programWith(firstLine: string, name: string): Promise<string> {
  const path = join(await testDir("bin"), name);
  const body = [
    'import { getHeapSpaceStatistics } from "node:v8";',
    "let kept = [];",
    "for (let i = 0; i < 3e6; i++) { kept.push({ i, a: [i] }); if (kept.length > 200000) kept = []; }",
    'const young = getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;',
    "console.log(JSON.stringify({ execArgv: process.execArgv, youngMiB: young / 1048576 }));",
  ];
  await writeFile(path, [firstLine, ...body].join("\n") + "\n");
  await chmod(path, 0o755);
  return path;
}

describe("the bin's first line", () => {
  test("run as a program, it starts node with the flags binNodeFlags reads, and the young generation grows past V8's default", async () => {
    const firstLine = (await readFile(mainPath, "utf8")).split("\n", 1)[0]!;
    const flags = binNodeFlags(mainPath);
    assert.ok(flags.length > 0, `no flags on ${JSON.stringify(firstLine)}`);
    const { stdout } = await run(await programWith(firstLine, "with-flags.mjs"));
    const seen = JSON.parse(stdout) as { execArgv: string[]; youngMiB: number };
    assert.deepEqual(seen.execArgv, flags);
    // The same program under plain node: V8's default semi-spaces (16 MB each on 64-bit Node 20).
    const { stdout: plain } = await run(process.execPath, [await programWith("", "plain.mjs")]);
    const defaults = JSON.parse(plain) as { youngMiB: number };
    assert.ok(seen.youngMiB > defaults.youngMiB, `with ${flags.join(" ")}: ${seen.youngMiB} MiB, without: ${defaults.youngMiB} MiB`);
  });

  test("a first line that names no node flags the bin's way is refused, naming the file", () => {
    assert.throws(() => binNodeFlags(join(repositoryRoot, "package.json")), /package\.json: the first line is not "#!\/usr\/bin\/env -S node \[flags\]"/);
  });
});
