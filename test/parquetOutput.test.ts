/**
 * A backfill's Parquet reference folder (lib/combine/parquetOutput.ts, `storageParquetFolder`) when
 * it is not written once from empty: a rewrite over a folder a run cut short leaves only the files
 * its `.zmetadata` uses; two runs of one period from changed sources never leave a published
 * `.zmetadata` over the other run's data files, whichever way their writes interleave. The final
 * folder is read by fsspec's LazyReferenceMapper and xarray (test/fixtures/python/combine_xarray.py)
 * and gives the sources' values.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { before, describe, test } from "node:test";
import { combineInto, type CombineSummary } from "../lib/combine/combine.js";
import { memoryInputs } from "../lib/combine/inputs.js";
import { ParquetRefSink, storageParquetFolder } from "../lib/combine/parquetOutput.js";
import { readKerchunkParquet } from "../lib/model/kerchunkParquet.js";
import type { KerchunkRefs } from "../lib/model/kerchunkRefs.js";
import { serializeReferenceSet } from "../lib/model/kerchunkJson.js";
import { BlockCache } from "../lib/source/blockCache.js";
import { referenceUrl } from "../lib/source/localFile.js";
import { LocalStorage } from "../lib/storage/local.js";
import { translateFile } from "../lib/translateFile.js";
import { makeDriftArchive, type DriftChange } from "./harness/archive.js";
import { testDir } from "./harness/env.js";
import { python } from "./harness/python.js";

const OPTIONS = { concatDims: ["time"], cooMap: { time: "data:time" as const }, identicalDims: ["lat", "lon"] };
/** Small records, so data files are written while the combine runs, as a year's are. */
const RECORD_SIZE = 2;
const OUTPUT = "refs/20220301.parq";

let dir: string;

/** One version of the day's 4 sources: their files and per-file references. */
interface Sources {
  files: string[];
  inputs: { refs: KerchunkRefs; label: string }[];
}

async function sources(name: string, changes: DriftChange[]): Promise<Sources> {
  const root = join(dir, name);
  const keys = await makeDriftArchive(root, "2022-03-01", 1, changes, { hours: 4, grid: [6, 8] });
  const storage = new LocalStorage(root);
  const inputs = [];
  for (const key of keys) {
    const url = referenceUrl(storage.url(key));
    const origin = storage.source(key);
    try {
      inputs.push({ refs: (await translateFile(new BlockCache(origin), { inlineThreshold: 0, url })).refs, label: url });
    } finally {
      await origin.close?.();
    }
  }
  return { files: keys.map((key) => join(root, key)), inputs };
}

/** Local storage whose next write can be held until the test releases it, and which runs a step right after a write lands. */
class SteppedStorage extends LocalStorage {
  private gate: { reached: () => void; release: Promise<void> } | undefined;
  private readonly afterWrite = new Map<string, () => Promise<void>>();

  /** The next write (of any key) waits until `release` is called; `reached` resolves when it is waiting. */
  holdNextWrite(): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const reachedPromise = new Promise<void>((done) => (reached = done));
    this.gate = { reached, release: new Promise<void>((done) => (release = done)) };
    return { reached: reachedPromise, release };
  }

  /** Run `step` once, right after the next write of `key` ("*": of any key) lands. */
  afterNextWrite(key: string, step: () => Promise<void>): void {
    this.afterWrite.set(key, step);
  }

  override async write(key: string, bytes: Uint8Array, options?: { ifAbsent?: boolean }): Promise<boolean> {
    const gate = this.gate;
    if (gate) {
      this.gate = undefined;
      gate.reached();
      await gate.release;
    }
    const wrote = await super.write(key, bytes, options);
    for (const name of [key, "*"]) {
      const step = this.afterWrite.get(name);
      if (step) {
        this.afterWrite.delete(name);
        await step();
      }
    }
    return wrote;
  }
}

/** A run of the period: its combine into the folder, then `close` (publish). */
function run(storage: LocalStorage, from: Sources): { sink: ParquetRefSink; combined: Promise<CombineSummary> } {
  const sink = new ParquetRefSink(storageParquetFolder(storage, OUTPUT), { recordSize: RECORD_SIZE });
  return { sink, combined: sink.open().then(() => combineInto(memoryInputs(from.inputs), OPTIONS, sink)) };
}

/** The references a run from `from` alone writes, through the model. */
async function alone(from: Sources, name: string): Promise<string> {
  const storage = new LocalStorage(join(dir, name));
  const { sink, combined } = run(storage, from);
  await combined;
  assert.equal(await sink.close(), true);
  return serializeReferenceSet(await readKerchunkParquet(join(dir, name, OUTPUT)));
}

const filesIn = async (folder: string): Promise<string[]> =>
  (await readdir(folder, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => relative(folder, join(e.parentPath, e.name))).sort();

/** The folder, read through the model, is exactly `expected`; fsspec + xarray read it as the sources. */
async function assertWhole(root: string, expected: string, from: Sources, label: string): Promise<void> {
  const folder = join(root, OUTPUT);
  assert.equal(serializeReferenceSet(await readKerchunkParquet(folder)), expected, `${label}: the published .zmetadata and the data files are one run's`);
  const report = await python<{ errors: string[]; mismatches: unknown[]; checked: Record<string, number> }>("combine_xarray.py", [folder, ...from.files, "--parquet"]);
  assert.deepEqual({ errors: report.errors, mismatches: report.mismatches }, { errors: [], mismatches: [] }, label);
  assert.ok(Object.keys(report.checked).length > 0, `${label}: values were compared`);
}

let first: Sources;
let changed: Sources;
let firstRefs: string;
let changedRefs: string;

before(async () => {
  dir = await testDir("parquet-output");
  // The same day's files, then rewritten by the producer with another compression level (other
  // offsets and sizes, same variables) and a new variable: a re-run's references differ.
  first = await sources("first", [{ at: "2022-03-01T00", set: { wind_speed: true } }]);
  changed = await sources("changed", [{ at: "2022-03-01T00", set: { complevel: 1 } }]);
  firstRefs = await alone(first, "first-alone");
  changedRefs = await alone(changed, "changed-alone");
  assert.notEqual(firstRefs, changedRefs);
});

describe("a Parquet output folder written over", () => {
  test("a rewrite over a folder a run cut short (no .zmetadata) leaves only the files its .zmetadata uses", async () => {
    const root = join(dir, "cut-short");
    const storage = new LocalStorage(root);
    // The first run writes its data files (wind_speed too) and dies before publishing.
    const cut = run(storage, first);
    await cut.combined;
    const left = await filesIn(join(root, OUTPUT));
    assert.ok(left.some((f) => f.startsWith("wind_speed/")) && !left.includes(".zmetadata"), left.join(", "));
    const rewrite = run(storage, changed);
    await rewrite.combined;
    assert.equal(await rewrite.sink.close(), true);
    assert.deepEqual(await filesIn(join(root, OUTPUT)), await filesIn(join(dir, "changed-alone", OUTPUT)), "no stray data file");
    await assertWhole(root, changedRefs, changed, "rewrite");
  });

  test("two runs racing: the one whose data files were written over publishes nothing (retryable); the other's output stands whole", async () => {
    const root = join(dir, "race-before");
    const a = run(new LocalStorage(root), first);
    await a.combined;
    const b = run(new LocalStorage(root), changed);
    await b.combined; // b's data files land over a's before a publishes
    await assert.rejects(a.sink.close(), (error: Error & { retryable?: boolean }) => {
      assert.match(error.message, /another run of this output wrote \d+ of its data files at the same time: not published \(a retry finds that output or writes this one again\)/);
      assert.equal(error.retryable, true);
      return true;
    });
    assert.deepEqual((await filesIn(join(root, OUTPUT))).includes(".zmetadata"), false, "a published nothing");
    assert.equal(await b.sink.close(), true);
    await assertWhole(root, changedRefs, changed, "race before publishing");
  });

  test("two runs racing: a write begun before the other's .zmetadata and landing after it takes the publication back", async () => {
    const root = join(dir, "race-after");
    const storageA = new SteppedStorage(root);
    const storageB = new SteppedStorage(root);
    const a = run(storageA, first);
    await a.combined;
    // b checks that nothing is published, and its first data file write waits ...
    const order: string[] = [];
    const gate = storageB.holdNextWrite();
    let bLanded!: () => void;
    const landed = new Promise<void>((done) => (bLanded = done));
    storageB.afterNextWrite("*", async () => {
      order.push("b wrote a data file");
      bLanded();
    });
    const b = run(storageB, changed);
    await gate.reached;
    // ... until a's .zmetadata has landed; a reads its data files back only after b's write.
    storageA.afterNextWrite(`${OUTPUT}/.zmetadata`, async () => {
      order.push("a published");
      gate.release();
      await landed;
    });
    await assert.rejects(a.sink.close(), /another run of this output wrote 1 of its data files at the same time: not published \(a retry finds that output or writes this one again\)/);
    assert.deepEqual(order, ["a published", "b wrote a data file"], "the fault fired: b's write landed after a's publication");
    assert.equal((await filesIn(join(root, OUTPUT))).includes(".zmetadata"), false, "a took its publication back");
    await b.combined;
    // b either publishes, or (having seen a's short-lived .zmetadata) stood down: then its retry does.
    if (!(await b.sink.close())) {
      const retry = run(new LocalStorage(root), changed);
      await retry.combined;
      assert.equal(await retry.sink.close(), true);
    }
    await assertWhole(root, changedRefs, changed, "race after publishing");
  });
});
