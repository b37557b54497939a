/**
 * What a user sees when a command fails (issue 18): the CLI run as a user runs it prints one line
 * on standard error naming what is wrong and what to do, exits 1, and shows no stack trace; with
 * TK_DEBUG=1 the whole error follows that line.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { failureLine } from "../cli/failure.js";
import { makeArchive, testDataset, writeConfig } from "./harness/archive.js";
import { runCli, type CliResult } from "./harness/cli.js";
import { temporalAddress, testDir } from "./harness/env.js";

/** Nothing listens on the discard port of the loopback address here. */
const nowhere = "127.0.0.1:9";
const stackLine = /^\s+at /m;

/** Exit code 1, exactly one line on standard error ("error: ..."), matching `expected`, no stack. */
function assertOneLine(result: CliResult, expected: RegExp, what: string): void {
  const lines = result.stderr.split("\n").filter((line) => line.trim() !== "");
  assert.equal(lines.length, 1, `${what}: one line on standard error, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^error: /, what);
  assert.match(lines[0]!, expected, what);
  assert.doesNotMatch(result.stderr, stackLine, `${what}: a stack trace`);
  assert.equal(result.code, 1, `${what}: exit code`);
}

describe("a failed command says what is wrong in one line", () => {
  test("refs: a folder, a missing output folder, an output that is a folder, a missing file", async () => {
    const dir = await testDir("cli");
    const [key] = await makeArchive(join(dir, "archive"), "2022-01-13", 1, { hours: 1 });
    const file = join(dir, "archive", key!);
    const missingFolder = join(dir, "missing", "sub");
    const [folder, missingOut, folderOut, missingFile] = await Promise.all([
      runCli(["refs", dir]),
      runCli(["refs", file, "-o", join(missingFolder, "x.json")]),
      runCli(["refs", file, "-o", dir]),
      runCli(["refs", join(dir, "nothing.nc")]),
    ]);
    assertOneLine(folder, new RegExp(`${dir}: read failed: it is a folder; give the path of a file`), "refs <folder>");
    assertOneLine(missingOut, new RegExp(`x\\.json: the folder ${missingFolder} does not exist; create it or give another path`), "refs -o <missing folder>/x.json");
    assert.equal(existsSync(missingFolder), false, "the missing folder was not made");
    assertOneLine(folderOut, new RegExp(`${dir} is a folder; give a file`), "refs -o <folder>");
    assertOneLine(missingFile, /nothing\.nc: read failed: cannot open: ENOENT/, "refs <missing file>");
  });

  test("every command that connects, with no Temporal there: the address tried and how to set it", async () => {
    const [worker, backfill, schedule, fromEnvironment] = await Promise.all([
      runCli(["worker", "--address", nowhere]),
      runCli(["backfill", "--dataset", "himawari8-sst", "--start", "2022-01-01", "--end", "2022-01-02", "--address", nowhere]),
      runCli(["schedule", "--dataset", "himawari8-sst", "--address", nowhere]),
      runCli(["backfill", "--dataset", "himawari8-sst", "--start", "2022-01-01", "--end", "2022-01-02"], { TEMPORAL_ADDRESS: nowhere }),
    ]);
    const unreachable = /cannot reach Temporal at 127\.0\.0\.1:9: .*; is a Temporal server running there\? Give its address with --address or TEMPORAL_ADDRESS; 'npm run demo -- --keep' starts a local one/;
    assertOneLine(worker, unreachable, "worker");
    assertOneLine(backfill, unreachable, "backfill");
    assertOneLine(schedule, unreachable, "schedule");
    assertOneLine(fromEnvironment, unreachable, "backfill with TEMPORAL_ADDRESS");
  });

  test("a server that answers with an error (no such namespace): what it said, in one line", async () => {
    const result = await runCli(["schedule", "--dataset", "himawari8-sst", "--address", temporalAddress(), "--namespace", "tk-no-such-namespace"]);
    assertOneLine(result, /Temporal: .*tk-no-such-namespace.*; check the server, --address\/TEMPORAL_ADDRESS and --namespace\/TEMPORAL_NAMESPACE/, "schedule --namespace <missing>");
  });

  test("a worker given a config with a '..' in a path refuses it before connecting", async () => {
    const dir = await testDir("cli");
    const dataset = testDataset("escapes", { kind: "local", path: join(dir, "archive") }, { kind: "local", path: join(dir, "out") });
    const config = await writeConfig(dir, [{ ...dataset, output: { ...dataset.output, prefix: "../../elsewhere" } }]);
    const result = await runCli(["worker", "--config", config, "--address", nowhere]);
    assertOneLine(result, /invalid datasets\.escapes\.output\.prefix: expected a path inside the storage .*, got '\.\.\/\.\.\/elsewhere' \(in .*datasets\.json\)/, "worker --config");
  });

  test("TK_DEBUG=1 adds the whole error after the line", async () => {
    const dir = await testDir("cli");
    const result = await runCli(["refs", dir], { TK_DEBUG: "1" });
    assert.equal(result.code, 1);
    assert.match(result.stderr.split("\n")[0]!, /^error: .*: read failed: it is a folder/);
    assert.match(result.stderr, stackLine, "the stack follows with TK_DEBUG=1");
  });

  test("a worker's service error: what the server said, without the Rust core's status dump", () => {
    // As `temporal-kerchunk worker --namespace nope` gets it from NativeConnection (seen by hand; the
    // worker's own log line before it keeps this out of a one-line CLI test).
    const error = Object.assign(new Error(`Namespace nope was not found or otherwise could not be described: Status { code: NotFound, message: "Namespace nope is not found.", details: b"\\x08" }`), { name: "NamespaceNotFoundError" });
    assert.equal(failureLine(error), "Temporal: Namespace nope was not found or otherwise could not be described; check the server, --address/TEMPORAL_ADDRESS and --namespace/TEMPORAL_NAMESPACE");
  });

  test("an unexpected error: its name and message in one line, and how to see the stack", () => {
    const line = failureLine(new TypeError("Cannot read properties of undefined (reading 'x')\n    at somewhere (file.ts:1:1)"));
    assert.equal(line, "TypeError: Cannot read properties of undefined (reading 'x') (unexpected: run with TK_DEBUG=1 to see where)");
  });
});
