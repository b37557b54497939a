/**
 * `temporal-kerchunk setup` makes a namespace ready (issue 21): on a namespace created bare (no
 * search attributes, as on a real cluster), a worker refuses to start in one line saying what to
 * run; setup adds our search attributes and says so; a second setup finds them and changes
 * nothing; then the worker starts.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { msToTs } from "@temporalio/common/lib/time.js";
import { sleep } from "../lib/servers/process.js";
import { searchAttributeStatus } from "../worker/namespace.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";
import { startWorkerProcess, writeConfig } from "./harness/archive.js";
import { runCli } from "./harness/cli.js";
import { temporalAddress, testDir } from "./harness/env.js";
import { clientFor } from "./harness/temporal.js";

test("setup adds our search attributes to a bare namespace, once; the worker refuses to start before it and starts after", async () => {
  const dir = await testDir("setup");
  const namespace = `tk-setup-${Date.now().toString(36)}`;
  const { connection } = await clientFor();
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs("1 day") });
    // A new namespace is served once the frontend's namespace cache has it (a few seconds).
    for (let tries = 0; ; tries++) {
      const ok = await connection.operatorService.listSearchAttributes({ namespace }).then(() => true, () => false);
      if (ok) break;
      assert.ok(tries < 100, `namespace ${namespace} not served after registering`);
      await sleep(200);
    }
    const names = Object.keys(searchAttributeRegistrations);
    assert.deepEqual((await searchAttributeStatus(connection, namespace)).missing, names, "a new namespace has none of ours");

    const connect = ["--address", temporalAddress(), "--namespace", namespace];
    const refused = await runCli(["worker", ...connect]);
    const lines = refused.stderr.split("\n").filter((l) => l.trim() !== "" && !/^\d{4}-\d\d-\d\dT.*\[INFO\]/.test(l));
    assert.equal(refused.code, 1, refused.stderr);
    assert.deepEqual(lines, [
      `error: invalid namespace ${namespace}: search attributes ${names.join(", ")} missing; run 'temporal-kerchunk setup --namespace ${namespace}' (with this worker's connection settings) once`,
    ]);

    const first = await runCli(["setup", ...connect]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), `namespace ${namespace} on ${temporalAddress()}: added search attributes ${names.join(", ")} (Keyword); ready`);
    const again = await runCli(["setup", ...connect]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), `namespace ${namespace} on ${temporalAddress()}: found ${names.join(", ")}; ready`);
    assert.deepEqual(await searchAttributeStatus(connection, namespace), { found: names, missing: [], conflicting: [] });

    const logFile = join(dir, "worker.log");
    const worker = await startWorkerProcess({ address: temporalAddress(), taskQueue: "tk-setup", config: await writeConfig(dir, []), logFile, args: ["--namespace", namespace], env: { TK_LOG_LEVEL: "WARN" } });
    try {
      await worker.waitUntil(async () => /polling \d+ ms after start/.test(await readFile(logFile, "utf8")), 120_000);
    } finally {
      await worker.stop();
    }
    assert.match(await readFile(logFile, "utf8"), new RegExp(`worker on .* namespace ${namespace} task queue tk-setup`));
  } finally {
    await connection.close();
  }
});
