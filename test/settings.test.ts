/**
 * Strict settings: a key nobody declared, anywhere in a config file or a dataset spec, and a flag
 * a command does not know, are rejected at once with the setting's path and the nearest known name.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DatasetRegistry, loadDatasetRegistry } from "../lib/datasets/config.js";
import { resolveDatasetSpec, type DatasetSpec } from "../lib/datasets/spec.js";
import { ConfigError } from "../lib/errors.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { nearestName } from "../lib/settings/suggest.js";
import { testDataset } from "./harness/archive.js";
import { runCli } from "./harness/cli.js";
import { testDir } from "./harness/env.js";

/** A valid dataset as a user would write it in a config file (plain JSON). */
function validDataset(): Record<string, any> {
  return JSON.parse(
    JSON.stringify({
      ...testDataset("x", { kind: "s3", bucket: "tk-src", endpoint: "http://127.0.0.1:9", region: "us-east-1" }, { kind: "local", path: "out" }, "month"),
      description: "strict settings",
    }),
  );
}

async function loadConfig(dir: string, config: unknown): Promise<DatasetRegistry> {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, JSON.stringify(config));
  return loadDatasetRegistry(path);
}

/**
 * A valid dataset spoiled by `spoil` is refused with `message`, in one line naming the config file,
 * and the same spec handed to a worker in code (plugin options) is refused the same way.
 */
async function assertRefused(spoil: (d: Record<string, any>) => void, message: RegExp): Promise<void> {
  const dir = await testDir("settings");
  const dataset = validDataset();
  spoil(dataset);
  await assert.rejects(loadConfig(dir, { datasets: [dataset] }), (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, message);
    assert.match(error.message, /\(in .*config-.*\.json\)$/, "the message names the config file");
    assert.doesNotMatch(error.message, /\n/, "one line");
    return true;
  });
  assert.throws(() => new DatasetRegistry([dataset as DatasetSpec]), (error: unknown) => error instanceof ConfigError && message.test(error.message));
}

describe("config file: unknown keys are rejected at every level", () => {
  // [level, how to spoil a valid dataset, expected message]
  const cases: Array<[string, (d: Record<string, any>) => void, RegExp]> = [
    ["dataset", (d) => (d.agregation = "month"), /datasets\.x\.agregation: unknown setting; did you mean aggregation\?/],
    ["source", (d) => (d.source.extention = ".nc"), /datasets\.x\.source\.extention: unknown setting; did you mean extension\?/],
    ["source.storage", (d) => (d.source.storage.bucke = "b"), /datasets\.x\.source\.storage\.bucke: unknown setting; did you mean bucket\?/],
    ["output", (d) => (d.output.sufix = ".v1"), /datasets\.x\.output\.sufix: unknown setting; did you mean suffix\?/],
    ["output.format (a misspelt key)", (d) => (d.output.fromat = "icechunk"), /datasets\.x\.output\.fromat: unknown setting; did you mean format\?/],
    ["output.format (a misspelt value)", (d) => (d.output.format = "icechunck"), /datasets\.x\.output\.format: expected kerchunk, parquet or icechunk, got 'icechunck'/],
    ["output.format icechunk with month rollups", (d) => (d.output.format = "icechunk"), /datasets\.x\.aggregation: 'month' with output\.format "icechunk"/],
    ["output.format icechunk with two concat dims", (d) => ((d.output.format = "icechunk"), (d.aggregation = "day"), (d.combine.concatDims = ["time", "band"])), /datasets\.x\.combine\.concatDims: an Icechunk store grows along exactly one dimension/],
    ["output.storage", (d) => (d.output.storage.paht = "elsewhere"), /datasets\.x\.output\.storage\.paht: unknown setting; did you mean path\?/],
    ["refs", (d) => (d.refs.inline_threshold = 50), /datasets\.x\.refs\.inline_threshold: unknown setting; did you mean inlineThreshold\?/],
    ["combine", (d) => (d.combine.concatDim = ["time"]), /datasets\.x\.combine\.concatDim: unknown setting; did you mean concatDims\?/],
  ];

  test("a valid config loads, with defaults and relative paths resolved", async () => {
    const dir = await testDir("settings");
    const registry = await loadConfig(dir, { datasets: [validDataset()] });
    const spec = registry.get("x");
    assert.equal(spec.aggregation, "month");
    assert.deepEqual(spec.output.storage, { kind: "local", path: join(dir, "out") });
    assert.deepEqual(spec.combine.cooMap, { time: "data:time" });
    assert.deepEqual(registry.names(), ["himawari8-sst", "x"]);
  });

  for (const [level, spoil, message] of cases) {
    test(`an unknown key in ${level}`, () => assertRefused(spoil, message));
  }

  test("an unknown key at the top level of the file", async () => {
    const dir = await testDir("settings");
    await assert.rejects(loadConfig(dir, { datasets: [validDataset()], dataset: [] }), /invalid dataset: unknown setting; did you mean datasets\?/);
    await assert.rejects(loadConfig(dir, { dataset: [validDataset()] }), /invalid dataset: unknown setting; did you mean datasets\?/);
  });

  test("wrong types, a dataset defined twice, credentials: each named by its path", async () => {
    const dir = await testDir("settings");
    const typed = validDataset();
    typed.refs.inlineThreshold = "100";
    await assert.rejects(loadConfig(dir, { datasets: [typed] }), /datasets\.x\.refs\.inlineThreshold: expected a whole number >= 0, got '100'/);
    const anonymous = validDataset();
    anonymous.source.storage.anonymous = "yes";
    await assert.rejects(loadConfig(dir, { datasets: [anonymous] }), /datasets\.x\.source\.storage\.anonymous: expected true or false/);
    const noName = validDataset();
    delete noName.name;
    await assert.rejects(loadConfig(dir, { datasets: [validDataset(), noName] }), /datasets\.\[1\]\.name: missing/);
    await assert.rejects(loadConfig(dir, { datasets: [validDataset(), validDataset()] }), /datasets\.x: defined twice/);
    const secret = validDataset();
    secret.source.storage.secretAccessKey = "canary-secret";
    await assert.rejects(loadConfig(dir, { datasets: [secret] }), (error: unknown) => {
      assert.match((error as Error).message, /datasets\.x\.source\.storage\.secretAccessKey: credentials do not belong/);
      assert.doesNotMatch((error as Error).message, /canary-secret/);
      return true;
    });
  });

  test("a resolved spec resolves to itself (the registry re-checks specs it is handed)", () => {
    const resolved = resolveDatasetSpec(validDataset() as DatasetSpec);
    assert.deepEqual(resolveDatasetSpec(resolved), resolved);
  });
});

describe("config file: paths and URLs are checked when the settings are read", () => {
  // [setting, how to spoil a valid dataset, expected message]. Each used to be accepted and fail
  // per day at write time (a '..' leaves the output folder) or at the first request (an endpoint).
  const pathRule = "expected a path inside the storage \\('/' between folders, no '\\.' or '\\.\\.' folder";
  const cases: Array<[string, (d: Record<string, any>) => void, RegExp]> = [
    ["output.prefix", (d) => (d.output.prefix = "../elsewhere"), new RegExp(`datasets\\.x\\.output\\.prefix: ${pathRule}\\), got '\\.\\./elsewhere'`)],
    ["source.root", (d) => (d.source.root = "AHI/../../etc"), new RegExp(`datasets\\.x\\.source\\.root: ${pathRule}\\), got 'AHI/\\.\\./\\.\\./etc'`)],
    ["source.template", (d) => (d.source.template = "{year}/../{year}{month}{day}*"), new RegExp(`datasets\\.x\\.source\\.template: ${pathRule}, not empty\\)`)],
    ["a '.' folder", (d) => (d.output.prefix = "refs/./v1"), /datasets\.x\.output\.prefix: expected a path inside the storage/],
    ["source.storage.prefix", (d) => (d.source.storage.prefix = "archive/.."), /datasets\.x\.source\.storage\.prefix: expected a path inside the storage/],
    ["output.suffix", (d) => (d.output.suffix = "/../../x"), /datasets\.x\.output\.suffix: expected part of a file name \(no '\/'\), got '\/\.\.\/\.\.\/x'/],
    ["source.extension", (d) => (d.source.extension = "/../*.nc"), /datasets\.x\.source\.extension: expected part of a file name \(no '\/'\)/],
    ["endpoint without a scheme", (d) => (d.source.storage.endpoint = "localhost:9000"), /datasets\.x\.source\.storage\.endpoint: expected an http:\/\/ or https:\/\/ URL, e\.g\. http:\/\/127\.0\.0\.1:9000, got 'localhost:9000'/],
    ["endpoint not a URL", (d) => (d.source.storage.endpoint = "minio at port 9000"), /datasets\.x\.source\.storage\.endpoint: expected an http:\/\/ or https:\/\/ URL.*, got 'minio at port 9000'/],
    ["endpoint of another scheme", (d) => (d.source.storage.endpoint = "s3://tk-src"), /datasets\.x\.source\.storage\.endpoint: expected an http:\/\/ or https:\/\/ URL/],
  ];

  for (const [setting, spoil, message] of cases) {
    test(`${setting} is refused with its path, its value and the rule`, () => assertRefused(spoil, message));
  }

  test("credentials in an endpoint URL are refused without being repeated", async () => {
    const dir = await testDir("settings");
    const dataset = validDataset();
    dataset.source.storage.endpoint = "http://minio:canary-secret@127.0.0.1:9000";
    await assert.rejects(loadConfig(dir, { datasets: [dataset] }), (error: unknown) => {
      assert.match((error as Error).message, /datasets\.x\.source\.storage\.endpoint: credentials do not belong in a URL setting/);
      assert.doesNotMatch((error as Error).message, /canary-secret/);
      return true;
    });
  });

  test("dots inside names, an https endpoint and the bucket root are fine", async () => {
    const dir = await testDir("settings");
    const dataset = validDataset();
    Object.assign(dataset.output, { prefix: "v1.2/..refs../.hidden", suffix: ".v1..x" });
    Object.assign(dataset.source, { root: "", extension: ".nc" });
    dataset.source.storage.endpoint = "https://s3.example.org:8443/path-style";
    const spec = (await loadConfig(dir, { datasets: [dataset] })).get("x");
    assert.equal(spec.output.prefix, "v1.2/..refs../.hidden");
    assert.equal(spec.output.suffix, ".v1..x");
    assert.deepEqual(spec.source.storage, { ...dataset.source.storage });
  });
});

describe("suggestions", () => {
  test("the nearest known name, or none when nothing is near", () => {
    const known = ["name", "description", "source", "output", "refs", "combine", "aggregation"];
    assert.equal(nearestName("agregation", known), "aggregation");
    assert.equal(nearestName("Aggregation", known), "aggregation");
    assert.equal(nearestName("ouptut", known), "output");
    assert.equal(nearestName("concat_dims", ["concatDims", "cooMap"]), "concatDims");
    assert.equal(nearestName("format", known), undefined);
    assert.equal(nearestName("ref", ["refs", "name"]), "refs");
    assert.equal(nearestName("x", known), undefined);
  });
});

describe("command line: unknown flags", () => {
  const cli = (...args: string[]) => runCli(args);

  test("a misspelt flag names the nearest one, for several commands, before anything starts", async () => {
    const results = await Promise.all([
      cli("backfill", "--dataset", "x", "--start", "2022-01-01", "--end", "2022-01-02", "--max-dayz", "3", "--address", "127.0.0.1:9"),
      cli("schedule", "--dataset", "x", "--lag-hour", "2", "--address", "127.0.0.1:9"),
      cli("demo", "--dayz", "2"),
      cli("refs", "--inline-treshold", "10", "file.nc"),
      cli("worker", "--confg", "datasets.json", "--address", "127.0.0.1:9"),
      cli("backfil", "--dataset", "x"),
    ]);
    const [backfill, schedule, demo, refs, worker, command] = results;
    assert.equal(backfill!.code, 1);
    assert.match(backfill!.stderr, /--max-dayz: unknown flag; did you mean --max-days\?/);
    assert.equal(schedule!.code, 1);
    assert.match(schedule!.stderr, /--lag-hour: unknown flag; did you mean --lag-hours\?/);
    assert.match(demo!.stderr, /--dayz: unknown flag; did you mean --days\?/);
    assert.match(refs!.stderr, /--inline-treshold: unknown flag; did you mean --inline-threshold\?/);
    assert.match(worker!.stderr, /--confg: unknown flag; did you mean --config\?/);
    assert.equal(command!.code, 2);
    assert.match(command!.stderr, /unknown command 'backfil'; did you mean backfill\?/);
    // Failing on the flag, not later: nothing tried to reach the (unreachable) server or wrote output.
    for (const r of results) assert.doesNotMatch(r.stderr, /ECONNREFUSED|TransportError|started /);
  });

  test("flag values are checked by one rule: numbers, ranges, choices", async () => {
    const [days, files, every, duplicates, workflowTasks, cachedWorkflows] = await Promise.all([
      cli("demo", "--days", "400"),
      cli("backfill", "--dataset", "x", "--start", "2022-01-01", "--end", "2022-01-02", "--max-files", "2.5"),
      cli("schedule", "--dataset", "x", "--every", "soon"),
      cli("combine", "a.json", "--concat-dims", "time", "--duplicates", "drop"),
      cli("worker", "--max-workflow-tasks", "0", "--address", "127.0.0.1:9"),
      cli("worker", "--max-cached-workflow", "100", "--address", "127.0.0.1:9"),
    ]);
    assert.match(days!.stderr, /invalid --days: expected a whole number from 1 to 366, got 400/);
    assert.match(files!.stderr, /invalid --max-files: expected a whole number >= 1, got '2\.5'/);
    assert.match(every!.stderr, /invalid --every: expected a duration like 1h, 30m or 7d, got 'soon'/);
    assert.match(duplicates!.stderr, /invalid --duplicates: expected error or keep-first, got 'drop'/);
    // The worker's sizing flags (README, "Sizing a cluster") go by the same rules.
    assert.match(workflowTasks!.stderr, /invalid --max-workflow-tasks: expected a whole number >= 1, got 0/);
    assert.match(cachedWorkflows!.stderr, /--max-cached-workflow: unknown flag; did you mean --max-cached-workflows\?/);
  });
});

describe("declared once", () => {
  test("the combine's and the store's options are checked by their declarations: no library checks a setting by hand", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const byHand = ["lib/combine", "lib/icechunk"].flatMap((dir) =>
      readdirSync(join(repositoryRoot, dir), { recursive: true, encoding: "utf8" })
        .filter((name) => name.endsWith(".ts") && /\bnew ConfigError\(/.test(readFileSync(join(repositoryRoot, dir, name), "utf8")))
        .map((name) => `${dir}/${name}`),
    );
    assert.deepEqual(byHand, []);
  });

  test("a dataset's combine settings follow the combine's rules: a bad coordinate selector or a dimension both concatenated and identical is named", () => {
    const dataset = validDataset();
    dataset.combine = { concatDims: ["time"], cooMap: { time: "date:time" } };
    assert.throws(() => resolveDatasetSpec(dataset as DatasetSpec), (e: unknown) => e instanceof ConfigError && e.setting === "datasets.x.combine.cooMap.time");
    dataset.combine = { concatDims: ["time"], identicalDims: ["time"] };
    assert.throws(() => resolveDatasetSpec(dataset as DatasetSpec), (e: unknown) => e instanceof ConfigError && e.setting === "datasets.x.combine.identicalDims");
  });
});
