/**
 * The day's steps, written once (lib/backfill/model/day.ts) and run by the day workflow, a batch of
 * small days and backfillDirect, and the output format, decided once (lib/backfill/model/output.ts):
 * checked here on made-up steps and on the sources, without servers.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { noFileCounts, outputRules, runDaySteps, type DaySteps, type DaySurvey, type ExtractSummary } from "../lib/backfill/model/index.js";

const root = resolve(fileURLToPath(import.meta.url), "../..");

const summary = (source: string, reused = false): ExtractSummary => ({ source, staged: `staged/${source}.json`, reused, chunks: 1, requests: 1, bytesRead: 1, skippedVariables: [] });

/** Steps that record what was called. */
function recorded(survey: DaySurvey, reused: string[] = []): DaySteps & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    survey: async () => (calls.push("survey"), survey),
    extract: async (sources) => (calls.push(`extract ${sources.join(",")}`), sources.map((s) => summary(s, reused.includes(s)))),
    write: async (staged) => (calls.push(`write ${staged.length}`), { output: "out/day.json", existing: false }),
  };
}

describe("a day's steps (runDaySteps)", () => {
  test("an existing output ends the day before anything is listed or extracted", async () => {
    const steps = recorded({ output: "out/day.json" });
    const files = noFileCounts();
    assert.deepEqual(await runDaySteps(steps, { handBackStaged: false }, files), { result: { outcome: "existing", output: "out/day.json" } });
    assert.deepEqual(steps.calls, ["survey"]);
    assert.deepEqual(files, noFileCounts());
  });

  test("no files: noFiles, counted as listed 0, nothing extracted or written", async () => {
    const steps = recorded({ sources: [] });
    assert.deepEqual(await runDaySteps(steps, { handBackStaged: false }, noFileCounts()), { result: { outcome: "noFiles" } });
    assert.deepEqual(steps.calls, ["survey"]);
  });

  test("files: extracted once, counted (reused apart), written once from the staged keys", async () => {
    const steps = recorded({ sources: ["a", "b", "c"] }, ["b"]);
    const files = noFileCounts();
    let listed = 0;
    const ended = await runDaySteps(steps, { handBackStaged: false, listed: (n) => (listed = n) }, files);
    assert.deepEqual(ended, { result: { outcome: "written", output: "out/day.json" } });
    assert.deepEqual(steps.calls, ["survey", "extract a,b,c", "write 3"]);
    assert.deepEqual({ listed: files.listed, extracted: files.extracted, reused: files.reused }, { listed: 3, extracted: 2, reused: 1 });
    assert.equal(listed, 3);
  });

  test("calendar order (a store): the staged keys are handed back, nothing written", async () => {
    const steps = recorded({ sources: ["a", "b"] });
    assert.deepEqual(await runDaySteps(steps, { handBackStaged: true }, noFileCounts()), { staged: ["staged/a.json", "staged/b.json"] });
    assert.deepEqual(steps.calls, ["survey", "extract a,b"]);
  });

  test("more files than maxFiles: handed back before anything is extracted or counted", async () => {
    const steps = recorded({ sources: ["a", "b", "c"] });
    const files = noFileCounts();
    assert.deepEqual(await runDaySteps(steps, { handBackStaged: false, maxFiles: 2 }, files), { tooManyFiles: 3 });
    assert.deepEqual(steps.calls, ["survey"]);
    assert.equal(files.listed, 0);
  });

  test("the day workflow, the batch of small days and backfillDirect all run it, and none lists or combines a day by itself", () => {
    for (const file of ["workflows/day.ts", "lib/backfill/smallDays.ts", "lib/backfill/direct.ts"]) {
      const text = readFileSync(resolve(root, file), "utf8");
      assert.match(text, /runDaySteps\(/, file);
      assert.doesNotMatch(text, /\b(noFiles|existing)\(/, `${file} decides a day's result itself`);
    }
  });
});

describe("output rules", () => {
  test("a store keeps calendar order and tags every month and year; reference files neither", () => {
    assert.deepEqual([outputRules("icechunk").calendarOrder, outputRules("icechunk").aggregation("day")], [true, "year"]);
    assert.deepEqual([outputRules("kerchunk").calendarOrder, outputRules("kerchunk").aggregation("month")], [false, "month"]);
  });
});

/** A comparison of an output format with a name: `format === "icechunk"`, `"parquet" !== kind`. */
const FORMAT_COMPARISON = /\bformat\??\s*[!=]==?\s*["'`]|["'`](?:icechunk|kerchunk|parquet|json)["'`]\s*[!=]==?/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : entry.name.endsWith(".ts") ? [path] : [];
  });
}

test("no code compares an output format with a name, except the setting's own rule (a store is aggregated by day)", () => {
  const found = ["lib", "workflows", "activities", "worker", "cli"]
    .flatMap((dir) => sources(join(root, dir)))
    .flatMap((file) => readFileSync(file, "utf8").split("\n").map((line, i) => ({ file: relative(root, file), line: i + 1, text: line.trim() })))
    .filter(({ text }) => FORMAT_COMPARISON.test(text) && !text.startsWith("*") && !text.startsWith("//"));
  assert.deepEqual(
    found.map(({ file, line, text }) => `${file}:${line}: ${text}`),
    found.filter(({ file }) => file === "lib/datasets/spec.ts").map(({ file, line, text }) => `${file}:${line}: ${text}`),
  );
  assert.equal(found.length, 1, "the setting's own rule is still seen");
});
