/**
 * The workflow code's own rules, checked without servers: small files, imports only of what the
 * workflows own (so the bundle holds no I/O), and failure descriptions that always end.
 */
import { ActivityFailure, ApplicationFailure, CancelledFailure, ChildWorkflowFailure, RetryState, TerminatedFailure, TimeoutFailure, TimeoutType } from "@temporalio/common";
import proto from "@temporalio/proto";
import { DefaultLogger, Runtime, Worker } from "@temporalio/worker";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { importsOf, workflowBundle, workflowSources, workflowsPath } from "../worker/bundle.js";
import { describeFailure } from "../workflows/failures.js";

const root = resolve(fileURLToPath(import.meta.url), "../..");
const workflowsDir = join(root, "workflows");
const run = promisify(execFile);

/** Modules outside workflows/ that workflow code may import: the backfill's and the census's models and boundedAll, pure and import-free. */
const workflowOwned = (file: string): boolean =>
  file.startsWith(join(root, "lib/backfill/model/")) || file.startsWith(join(root, "lib/census/model/")) || file.startsWith(join(root, "lib/live/model/")) || file === join(root, "lib/concurrency.ts");
const allowedPackages = new Set(["@temporalio/workflow", "@temporalio/common"]);

describe("workflow code", () => {
  test("no file in workflows/ over 200 lines", () => {
    const sizes = readdirSync(workflowsDir).map((name) => [name, readFileSync(join(workflowsDir, name), "utf8").split("\n").length] as const);
    assert.ok(sizes.length >= 10, `only ${sizes.length} files`);
    for (const [name, lines] of sizes) assert.ok(lines <= 200, `workflows/${name}: ${lines} lines`);
  });

  test("imports only workflow files, the workflow-owned model and the SDK's workflow packages; nothing from activities/", () => {
    const sources = workflowSources(workflowsPath);
    const places = sources.map((file) => relative(root, file));
    assert.ok(places.includes("lib/backfill/model/result.ts") && places.includes("workflows/day.ts") && places.includes("lib/census/model/search.ts"), places.join(", "));
    for (const file of sources) {
      assert.ok(file.startsWith(workflowsDir) || workflowOwned(file), `the workflow bundle reaches ${relative(root, file)}`);
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith(".")) continue;
        // The owned lib modules import nothing but each other; workflow files only the SDK's workflow side.
        assert.ok(file.startsWith(workflowsDir) && allowedPackages.has(specifier), `${relative(root, file)} imports '${specifier}'`);
      }
    }
  });
});

describe("histories of the old workflow types (test/fixtures/histories)", () => {
  test("are refused by a worker of this code, never replayed into results of another shape", async () => {
    // The refusals are what this test expects: the SDK's own logs of them (both sides) are dropped.
    Runtime.install({ logger: new DefaultLogger("ERROR", () => undefined), telemetryOptions: { logging: { filter: { core: "ERROR", other: "ERROR" }, forward: {} } } });
    const bundle = await workflowBundle();
    // Each old version's types, and what a worker of this code says to a history of it.
    const refusals: Record<string, RegExp> = {};
    for (const [version, suffix] of [["v1", ""], ["v2", "V2"]] as const) {
      for (const level of ["backfill", "backfillYear", "backfillMonth", "backfillDay"]) {
        refusals[`${version}-${level}`] = new RegExp(`type '${level}${suffix}': no such function is exported`);
      }
      // Schedules start `updateDataset` by name, so it kept it: an old run in flight meets a child of another type.
      refusals[`${version}-updateDataset`] = new RegExp(`Child workflow type of scheduled event 'backfill${suffix}' does not match child workflow type of command 'backfillV3'`);
    }
    for (const [name, refusal] of Object.entries(refusals)) {
      const history = proto.temporal.api.history.v1.History.decode(readFileSync(join(root, `test/fixtures/histories/${name}.binpb`)));
      assert.ok((history.events?.length ?? 0) > 10, `${name}: ${history.events?.length} events`);
      await assert.rejects(Worker.runReplayHistory({ workflowBundle: bundle }, history, `old-${name}`), (e: unknown) => refusal.test((e as Error).message), name);
    }
  });
});

describe("a month of workflow type V3 recorded before batches of small days (test/fixtures/histories/v3-backfillMonth.binpb)", () => {
  test("replays as recorded on this code: its days stay day workflows (patched 'small-day-batches' is not taken)", async () => {
    const history = proto.temporal.api.history.v1.History.decode(readFileSync(join(root, "test/fixtures/histories/v3-backfillMonth.binpb")));
    const children = (history.events ?? []).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === "backfillDayV3");
    assert.equal(children.length, 3, "the recorded month started a day workflow per day");
    // A worker of this code that batched this month's days would meet its recorded day workflows
    // with an activity: a non-determinism error, and the run stuck. It must replay it as it was.
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, "v3-month-before-batches");
  });
});

describe("describeFailure", () => {
  const application = ApplicationFailure.create({ message: "a.nc: invalid HDF5 superblock", type: "Hdf5FormatError", nonRetryable: true });

  test("names the innermost cause's kind through activity and child failures", () => {
    const activity = new ActivityFailure("activity failed", "extractFile", "7", RetryState.NON_RETRYABLE_FAILURE, "worker", application);
    const child = new ChildWorkflowFailure("default", { workflowId: "ds/2022-01-13", runId: "r" }, "backfillDayV3", RetryState.NON_RETRYABLE_FAILURE, activity);
    assert.deepEqual(describeFailure(child), { outcome: "failed", kind: "Hdf5FormatError", message: "a.nc: invalid HDF5 superblock" });
    assert.deepEqual(describeFailure(new TypeError("boom")), { outcome: "failed", kind: "TypeError", message: "boom" });
  });

  test("says a child was terminated, cancelled or timed out, with its id, as the kinds Terminated, Cancelled, TimedOut", () => {
    const child = (cause: Error) => new ChildWorkflowFailure("default", { workflowId: "ds/2022-01", runId: "r" }, "backfillMonthV3", RetryState.NON_RETRYABLE_FAILURE, cause);
    const cases: [Error, string, RegExp][] = [
      [new TerminatedFailure("by the operator"), "Terminated", /^ds\/2022-01 was terminated/],
      [new CancelledFailure("cancelled"), "Cancelled", /^ds\/2022-01 was cancelled/],
      [new TimeoutFailure("timed out", undefined, TimeoutType.START_TO_CLOSE), "TimedOut", /^ds\/2022-01 timed out/],
    ];
    for (const [cause, kind, message] of cases) {
      const described = describeFailure(child(cause));
      assert.equal(described.kind, kind);
      assert.match(described.message, message);
    }
  });

  test("ends on failures without a cause (run in a child process, so a loop fails the test instead of hanging it)", async () => {
    const script = `
      import { ActivityFailure, ChildWorkflowFailure, RetryState } from "@temporalio/common";
      import { describeFailure } from "./workflows/failures.ts";
      const activity = new ActivityFailure("activity task timed out", "listDaySources", "3", RetryState.TIMEOUT, "worker");
      const child = new ChildWorkflowFailure("default", { workflowId: "w", runId: "r" }, "backfillDayV3", RetryState.TIMEOUT, undefined);
      console.log(JSON.stringify([describeFailure(activity), describeFailure(child)]));`;
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root, timeout: 20_000 });
    assert.deepEqual(JSON.parse(stdout), [
      { outcome: "failed", kind: "ActivityFailure", message: "activity task timed out" },
      { outcome: "failed", kind: "ChildWorkflowFailure", message: "Child Workflow execution failed" },
    ]);
  });
});
