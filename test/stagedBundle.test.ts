/**
 * Staged bundles (lib/backfill/stagedBundle.ts): a step that extracts several files of a day
 * stages them together. Each member reads back as the text staged on its own would be; a bundle
 * cut short fails naming it; a day combined from bundles is byte for byte the day combined from
 * files staged one by one; a failing file leaves the finished ones staged for the retry; a
 * cancelled step stages nothing; the day's combine leaves no bundle behind.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, test } from "node:test";
import { aggregatePeriod } from "../lib/backfill/aggregate.js";
import { extractDayFiles, extractToStaging, HeldExtractions, stagedFiles } from "../lib/backfill/extract.js";
import { isStagingBundle, stagedObjectOf, stagingFolder } from "../lib/backfill/names.js";
import { parseStagedBundle, serializeStagedBundle, StagedTexts } from "../lib/backfill/stagedBundle.js";
import { resolveDatasetSpec, type ResolvedDatasetSpec } from "../lib/datasets/spec.js";
import { CombineError, SourceReadError } from "../lib/errors.js";
import { LocalStorage } from "../lib/storage/local.js";
import { makeArchive, testDataset } from "./harness/archive.js";
import { testDir } from "./harness/env.js";

const DAY = "2022-05-01";
let dir: string;
let archive: string;
let keys: string[];

before(async () => {
  dir = await testDir("staged-bundle");
  archive = join(dir, "archive");
  keys = await makeArchive(archive, DAY, 1, { hours: 4, grid: [30, 60] });
});

const specFor = (name: string): ResolvedDatasetSpec => resolveDatasetSpec(testDataset(name, { kind: "local", path: archive }, { kind: "local", path: join(dir, name) }));

const stagingEntries = (spec: ResolvedDatasetSpec): string[] => {
  const folder = join(dir, spec.name, stagingFolder(spec, DAY));
  return existsSync(folder) ? readdirSync(folder) : [];
};

test("a bundle's members read back byte for byte (multi-byte text too); one cut short, padded or not a bundle fails naming it", () => {
  const members = [
    { name: "a.nc.json", text: '{"version":1,"refs":{".zattrs":"{\\"title\\":\\"Température °C — 気温\\"}"}}' },
    { name: "b#c.nc.json", text: "{}" },
    { name: "empty.json", text: "" },
  ];
  const bytes = serializeStagedBundle(members);
  assert.deepEqual([...parseStagedBundle(bytes, "bundle.tkb")], members.map((m) => [m.name, m.text]));
  const fails = (damaged: Uint8Array, why: RegExp): void =>
    assert.throws(() => parseStagedBundle(damaged, "file:///x/bundle.tkb"), (e: unknown) => e instanceof CombineError && e.message.includes("file:///x/bundle.tkb") && why.test(e.message));
  fails(bytes.subarray(0, bytes.length - 1), /cut short in member b#c\.nc\.json/);
  fails(new Uint8Array([...bytes, 32]), /1 bytes after its last member/);
  fails(new TextEncoder().encode('{"version":1,"refs":{}}'), /no header line/);
  fails(new TextEncoder().encode('{"version":1,"refs":{}}\n'), /not a staged bundle of version 1/);
});

test("a day combined from bundles equals, byte for byte, the day combined from files staged one by one", async () => {
  const single = specFor("one-by-one");
  const bundled = specFor("bundled");
  const singleKeys = [];
  for (const key of keys) singleKeys.push((await extractToStaging(single, DAY, key)).staged);
  const summaries = await extractDayFiles(bundled, DAY, keys, 2);
  const bundles = new Set(summaries.map((s) => stagedObjectOf(s.staged).object));
  assert.equal(bundles.size, 1, "one bundle for the day's files");
  assert.ok(isStagingBundle([...bundles][0]!));
  assert.deepEqual(stagingEntries(bundled), [[...bundles][0]!.split("/").pop()]);

  // Each member is the text a file's own staged object holds (its `source` names the same file).
  const storage = new LocalStorage(join(dir, "bundled"));
  const texts = new StagedTexts(storage);
  for (let i = 0; i < keys.length; i++) {
    assert.equal(await texts.read(summaries[i]!.staged), await readFile(join(dir, "one-by-one", singleKeys[i]!), "utf8"));
  }
  await assert.rejects(texts.read(`${[...bundles][0]!}#missing.nc.json`), (e: unknown) => e instanceof CombineError && /staged bundle holds no missing\.nc\.json/.test(e.message));

  const a = await aggregatePeriod(single, DAY, singleKeys, { removeInputs: true });
  const b = await aggregatePeriod(bundled, DAY, summaries.map((s) => s.staged), { removeInputs: true });
  assert.equal(b.existing, false);
  assert.equal(b.inputs, keys.length);
  const outputOf = (summary: { output: string }): Promise<Buffer> => readFile(summary.output);
  assert.ok((await outputOf(b)).equals(await outputOf(a)), "the same day file");
  assert.deepEqual(stagingEntries(bundled), [], "the bundle removed with the day's staging");
});

test("a failing file: the files that finished are staged (one bundle) before the error goes on, and the retry extracts only the others", async () => {
  const spec = specFor("failing");
  const missing = keys[2]!.replace(/\.nc$/, "-missing.nc");
  await assert.rejects(extractDayFiles(spec, DAY, [keys[0]!, keys[1]!, missing, keys[3]!], 1), (e: unknown) => e instanceof SourceReadError && e.message.includes(missing));
  const entries = stagingEntries(spec);
  assert.equal(entries.length, 1, `one bundle staged: ${entries.join(", ")}`);
  const staged = parseStagedBundle(await readFile(join(dir, "failing", stagingFolder(spec, DAY), entries[0]!)), "bundle");
  assert.deepEqual([...staged.keys()], [keys[0]!, keys[1]!].map((k) => `${k.split("/").pop()}.json`));

  const retry = await extractDayFiles(spec, DAY, keys, 1);
  assert.deepEqual(
    retry.map((s) => s.reused),
    [true, true, false, false],
  );
  assert.equal(stagingEntries(spec).length, 2, "the retry's files in a bundle of their own");
});

test("a cancelled step stages nothing, not even the files it finished", async () => {
  const spec = specFor("cancelled");
  const controller = new AbortController();
  let finished = 0;
  await assert.rejects(
    extractDayFiles(spec, DAY, keys, 1, {
      signal: controller.signal,
      around: async (_key, extract) => {
        const summary = await extract();
        finished++;
        controller.abort();
        return summary;
      },
    }),
    (e: unknown) => (e as Error).name === "AbortError",
  );
  assert.equal(finished, 1, "the first file finished before the cancel");
  assert.deepEqual(stagingEntries(spec), []);
});

test("the day's combine removes the bundles no key names: two overlapping attempts' and one that cannot be read", async () => {
  const spec = specFor("overlapping");
  const folder = join(dir, spec.name, stagingFolder(spec, DAY));
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, "0123456789abcdef.tkb"), "not a bundle");
  // Two attempts of the same step at once (a slow one outliving its timeout): neither sees the other's bundle.
  const [first, second] = await Promise.all([extractDayFiles(spec, DAY, keys, 2), extractDayFiles(spec, DAY, keys, 2)]);
  assert.deepEqual([...first, ...second].map((s) => s.reused), new Array(keys.length * 2).fill(false), "the damaged bundle names no staged file");
  assert.equal(stagingEntries(spec).length, 3, `the damaged bundle and one bundle an attempt: ${stagingEntries(spec).join(", ")}`);
  const day = await aggregatePeriod(spec, DAY, second.map((s) => s.staged), { removeInputs: true });
  assert.equal(day.existing, false);
  assert.deepEqual(stagingEntries(spec), []);
});

test("a bundle gone between the day's listing and its read (a concurrent combine removed it) names no file; the others still do", async () => {
  const spec = specFor("vanishing");
  await extractDayFiles(spec, DAY, keys.slice(0, 2), 2);
  await extractDayFiles(spec, DAY, keys.slice(2), 2);
  const bundles = stagingEntries(spec).sort();
  assert.equal(bundles.length, 2, `one bundle a step: ${bundles.join(", ")}`);
  const removed: string[] = [];
  // The first bundle read is removed just before its read, as the other run's combine does.
  class RemovedBeforeRead extends LocalStorage {
    override async read(key: string): Promise<Uint8Array> {
      if (isStagingBundle(key) && removed.length === 0) {
        await this.delete(key);
        removed.push(key);
      }
      return super.read(key);
    }
  }
  const staged = await stagedFiles(new RemovedBeforeRead(join(dir, spec.name)), stagingFolder(spec, DAY));
  assert.equal(removed.length, 1, "the fault fired");
  const readBundle = bundles.find((b) => !removed[0]!.endsWith(b))!;
  const named = parseStagedBundle(await readFile(join(dir, spec.name, stagingFolder(spec, DAY), readBundle)), "bundle");
  const objects = [...staged.values()].map(stagedObjectOf);
  assert.deepEqual([...new Set(objects.map((o) => o.object.split("/").pop()))], [readBundle], "only the bundle still there names files");
  assert.deepEqual(objects.map((o) => o.member).sort(), [...named.keys()].sort());
});

test("a step that writes its day holds its files in memory: nothing is staged, the day is the same bytes; a file an earlier attempt staged is read, then removed", async () => {
  const staged = specFor("held-baseline");
  const held = specFor("held");
  const fromStaging = await aggregatePeriod(staged, DAY, (await extractDayFiles(staged, DAY, keys, 2)).map((s) => s.staged), { removeInputs: true });
  // An earlier attempt staged the first file on its own.
  const earlier = await extractToStaging(held, DAY, keys[0]!);
  const inMemory = new HeldExtractions(held, DAY);
  const summaries = await extractDayFiles(held, DAY, keys, 2, { held: inMemory });
  assert.deepEqual(summaries.map((s) => s.reused), [true, false, false, false]);
  assert.deepEqual(stagingEntries(held), [earlier.staged.split("/").pop()], "only the earlier attempt's file is staged");
  const day = await aggregatePeriod(held, DAY, summaries.map((s) => s.staged), { removeInputs: true, held: inMemory });
  assert.deepEqual([day.existing, day.inputs], [false, keys.length]);
  assert.ok((await readFile(day.output)).equals(await readFile(fromStaging.output)), "the same day file");
  assert.deepEqual(stagingEntries(held), [], "the earlier attempt's file removed with the day's staging");
});

test("held in memory, a failing file: the files that finished are staged (one bundle) before the error goes on, and the retry extracts only the others", async () => {
  const spec = specFor("held-failing");
  const missing = keys[2]!.replace(/\.nc$/, "-missing.nc");
  const inMemory = new HeldExtractions(spec, DAY);
  await assert.rejects(extractDayFiles(spec, DAY, [keys[0]!, keys[1]!, missing, keys[3]!], 1, { held: inMemory }), (e: unknown) => e instanceof SourceReadError && e.message.includes(missing));
  const entries = stagingEntries(spec);
  assert.equal(entries.length, 1, `one bundle staged: ${entries.join(", ")}`);
  const staged = parseStagedBundle(await readFile(join(dir, spec.name, stagingFolder(spec, DAY), entries[0]!)), "bundle");
  assert.deepEqual([...staged.keys()], [keys[0]!, keys[1]!].map((k) => `${k.split("/").pop()}.json`));
  const retry = await extractDayFiles(spec, DAY, keys, 1, { held: new HeldExtractions(spec, DAY) });
  assert.deepEqual(retry.map((s) => s.reused), [true, true, false, false]);
});
