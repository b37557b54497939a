/**
 * Issue 13, phase 1: the Icechunk output library (lib/icechunk), on local storage and on MinIO.
 * Days of a Himawari-like archive written by netCDF4-python (consumer_fixtures.py: NaN fill values,
 * never-written chunks and scalars, packed int8) are committed day by day, then read back by
 * Python icechunk + xarray (test/fixtures/python/icechunk_read.py) and compared with the source
 * files (raw and decoded values, every time step) and with our kerchunk references (attributes).
 * Also: one commit per day, a retried commit that changes nothing, concurrent commits of one day,
 * out-of-order and overlapping days refused with typed errors, a tag that opens the store as it
 * was, and a replaced source file failing with Icechunk's checksum error while other steps read.
 *
 * Each check also runs on a broken input (a store with swapped chunks, a changed attribute, a
 * missing _FillValue, a duplicated day commit; a tag compared with the wrong files; reads before
 * the source was replaced; an in-order day offered as out-of-order) and must fail there.
 */
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { before, describe, test, type TestContext } from "node:test";
import { promisify } from "node:util";
import { combineRefs } from "../lib/combine/index.js";
import { IcechunkError } from "../lib/errors.js";
import {
  commitDay,
  containerPrefix,
  listDayCommits,
  loadIcechunkWithInfo,
  openRepository,
  parseCommitMessage,
  repositoryLocation,
  tagPeriod,
  withWriterLock,
  writerLockPath,
  type DayCommitSummary,
  type DayInput,
  type IcechunkDataset,
} from "../lib/icechunk/index.js";
import { resolveIcechunkOptions } from "../lib/icechunk/options.js";
import { serializeRefs } from "../lib/model/kerchunkJson.js";
import { translateHdf5 } from "../lib/refs/translate.js";
import type { KerchunkRefs, Reference } from "../lib/model/kerchunkRefs.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { openSource } from "../lib/source/open.js";
import { uploadArchive } from "./harness/archive.js";
import { s3, testDir, uniqueBucket } from "./harness/env.js";
import { python } from "./harness/python.js";

const run = promisify(execFile);

/** Days of the archive (two hourly files each). 2022-01-29 stays out of the store: the late day. */
const DAYS = ["2022-01-29", "2022-01-30", "2022-01-31", "2022-02-01", "2022-02-02"];
const dayOf = (file: string): string => /\/(\d{4})\/(\d{2})\/(\d{2})\//.exec(file)!.slice(1).join("-");

let dir = "";
let archive = "";
let files: string[] = [];
const localRefs = new Map<string, KerchunkRefs>();
let kerchunkAll = "";
const filesOf = (...days: string[]): string[] => files.filter((f) => days.includes(dayOf(f)));

type StoreSpec = { kind: "local"; path: string } | { kind: "s3"; bucket: string; prefix: string; endpoint: string };
interface PythonCase {
  id: string;
  store: StoreSpec;
  container: { kind: "local" | "s3"; prefix: string };
  ref: { branch: string } | { tag: string };
  files: string[];
  kerchunk?: string;
}
interface ReadReport {
  cases: Record<string, { raw: string[]; decoded: string[]; attributes: string[] }>;
  steps: Record<string, { step: number; ok: boolean; error?: string; values_equal?: boolean }[]>;
  stores: Record<string, { history: { id: string; message: string }[]; tags: Record<string, string> }>;
}

async function readBack(plan: { cases?: PythonCase[]; steps?: PythonCase[]; stores?: PythonCase[] }, label: string): Promise<ReadReport> {
  const path = join(dir, `${label}.plan.json`);
  await writeFile(path, JSON.stringify(plan));
  return python<ReadReport>("icechunk_read.py", [path]);
}

async function translate(location: string): Promise<KerchunkRefs> {
  const opened = openSource(location);
  try {
    return (await translateHdf5(opened.source, { inlineThreshold: 100 })).refs;
  } finally {
    await opened.close();
  }
}

before(async () => {
  dir = await testDir("icechunk");
  archive = join(dir, "archive");
  ({ files } = await python<{ files: string[] }>("consumer_fixtures.py", [archive, ...DAYS]));
  assert.equal(files.length, 2 * DAYS.length);
  for (const file of files) localRefs.set(file, await translate(file));
  // Our kerchunk references of the days the stores hold: what the attributes are compared with.
  const stored = filesOf(...DAYS.slice(1));
  kerchunkAll = join(dir, "kerchunk-all.json");
  await writeFile(kerchunkAll, (await combineRefs(stored.map((f) => localRefs.get(f)!), { concatDims: ["time"], identicalDims: ["lat", "lon"] })).json());
});

// ---- checks, each a function returning its problems, so it can be shown failing on a broken input

/** The days named by our commit messages, newest first. */
const committedDays = (messages: string[]): string[] => messages.map(parseCommitMessage).filter((f) => f !== undefined).map((f) => f.day);

/** One commit per expected day (in calendar order), newest first, and nothing else of ours. */
function historyProblems(committed: string[], days: string[]): string[] {
  const expected = [...days].reverse();
  return JSON.stringify(committed) === JSON.stringify(expected) ? [] : [`day commits ${JSON.stringify(committed)}, expected ${JSON.stringify(expected)}`];
}

/** A refused day: an IcechunkError with the expected problem, and the store unchanged. */
async function refusalProblems(attempt: Promise<DayCommitSummary>, problem: string, tipBefore: string, tip: () => Promise<string>): Promise<string[]> {
  const problems: string[] = [];
  try {
    const summary = await attempt;
    problems.push(`accepted (snapshot ${summary.snapshotId}, alreadyCommitted ${summary.alreadyCommitted})`);
  } catch (error) {
    if (!(error instanceof IcechunkError)) problems.push(`not an IcechunkError: ${String(error)}`);
    else if (error.problem !== problem) problems.push(`problem ${error.problem} (${error.message}), expected ${problem}`);
  }
  if ((await tip()) !== tipBefore) problems.push("the branch moved");
  return problems;
}

/** Steps that must fail with Icechunk's checksum error (and only those); the others read the source's values. */
function checksumProblems(steps: ReadReport["steps"][string], failing: number[]): string[] {
  const problems: string[] = [];
  if (steps.length === 0) problems.push("no step read");
  for (const step of failing) if (!steps.some((s) => s.step === step)) problems.push(`step ${step} not read`);
  for (const step of steps) {
    if (failing.includes(step.step)) {
      if (step.ok) problems.push(`step ${step.step} read although its source was replaced`);
      else if (!/checksum/i.test(step.error ?? "")) problems.push(`step ${step.step} failed without a checksum error: ${step.error}`);
    } else if (!step.ok) problems.push(`step ${step.step} failed: ${step.error}`);
    else if (!step.values_equal) problems.push(`step ${step.step} values differ from the source`);
  }
  return problems;
}

const allProblems = (report: ReadReport["cases"][string]): string[] => [...report.raw, ...report.decoded, ...report.attributes];

// ---- the same scenario on local storage and on MinIO

interface Setup {
  dataset: IcechunkDataset;
  input(day: string): DayInput;
  python: Pick<PythonCase, "store" | "container">;
  /** Replace a source file with other bytes (a newer version); returns how to undo it. */
  replace(file: string): Promise<() => Promise<void>>;
}

async function localSetup(): Promise<Setup> {
  const out = await mkdtemp(join(dir, "local-out-"));
  const dataset: IcechunkDataset = {
    name: "icechunk-local",
    source: { storage: { kind: "local", path: archive }, root: "AHI-L2-FLDK-SST" },
    output: { storage: { kind: "local", path: out }, prefix: "stores" },
    combine: { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] },
  };
  return {
    dataset,
    input: (day) => ({ refs: filesOf(day).map((f) => localRefs.get(f)!), labels: filesOf(day) }),
    python: { store: { kind: "local", path: repositoryLocation(dataset).description }, container: { kind: "local", prefix: containerPrefix(dataset.source.storage) } },
    replace: async (file) => {
      const other = files.find((f) => f !== file)!;
      const [original, before] = [await readFile(file), await stat(file)];
      await writeFile(file, await readFile(other));
      // A real replacement comes later: Icechunk compares whole seconds.
      const later = new Date(Date.now() + 10_000);
      await utimes(file, later, later);
      // Put the original back afterwards (other tests read the archive); its version matches again.
      return async () => {
        await writeFile(file, original);
        await utimes(file, before.atime, before.mtime);
      };
    },
  };
}

async function s3Setup(): Promise<Setup> {
  const keys = files.map((f) => relative(archive, f));
  const source = await uploadArchive(archive, keys, "icechunk-src");
  const output = uniqueBucket("icechunk-out");
  const client = s3();
  await client.send(new CreateBucketCommand({ Bucket: output }));
  // Per-file references as a backfill stages them: translated from S3, stored in the output bucket.
  const staged = new Map<string, string>();
  for (const [i, key] of keys.entries()) {
    const refs = await translate(`s3://${source}/${key}`);
    const stagedKey = `staging/${key}.json`;
    await client.send(new PutObjectCommand({ Bucket: output, Key: stagedKey, Body: serializeRefs(refs) }));
    staged.set(files[i]!, `s3://${output}/${stagedKey}`);
  }
  const dataset: IcechunkDataset = {
    name: "icechunk-s3",
    source: { storage: { kind: "s3", bucket: source }, root: "AHI-L2-FLDK-SST" },
    output: { storage: { kind: "s3", bucket: output, prefix: "stores" }, prefix: "refs" },
    combine: { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] },
  };
  return {
    dataset,
    input: (day) => ({ referenceFiles: filesOf(day).map((f) => staged.get(f)!) }),
    python: {
      store: { kind: "s3", bucket: output, prefix: "stores/refs/AHI-L2-FLDK-SST.icechunk", endpoint: process.env.AWS_ENDPOINT_URL! },
      container: { kind: "s3", prefix: containerPrefix(dataset.source.storage) },
    },
    replace: async (file) => {
      const other = files.find((f) => f !== file)!;
      await client.send(new PutObjectCommand({ Bucket: source, Key: relative(archive, file), Body: await readFile(other) }));
      return async () => undefined; // the bucket is this test's own
    },
  };
}

async function branchTip(dataset: IcechunkDataset): Promise<string> {
  const { repository } = await openRepository(dataset, resolveIcechunkOptions(), { create: false });
  return repository.lookupBranch("main");
}

function scenario(kind: "local" | "s3", makeSetup: () => Promise<Setup>): void {
  describe(`Icechunk store on ${kind === "local" ? "local storage" : "MinIO"}`, () => {
    let setup: Setup;
    const committed = new Map<string, DayCommitSummary>();
    let tipAfterDays = "";
    const stored = DAYS.slice(1);

    before(async () => {
      setup = await makeSetup();
    });

    test("commits days in order, one commit each, and tags the completed month", async (t) => {
      for (const day of ["2022-01-30", "2022-01-31", "2022-02-01"]) {
        const summary = await commitDay(setup.dataset, day, setup.input(day));
        t.diagnostic(`${day}: ${summary.snapshotId}, ${summary.virtualRefs} virtual refs, ${summary.inlineChunks} inline, combine ${summary.combineMs} ms, commit ${summary.commitMs} ms`);
        assert.equal(summary.alreadyCommitted, false);
        assert.equal(summary.steps, 2);
        assert.equal(summary.files, 2);
        assert.ok(summary.virtualRefs > 0);
        committed.set(day, summary);
      }
      assert.deepEqual([...committed.values()].map((s) => s.storeLength), [2, 4, 6]);
      // February's first day is in already: the tag still marks the end of January.
      const tag = await tagPeriod(setup.dataset, "2022-01");
      assert.deepEqual(tag, { tag: "2022-01", snapshotId: committed.get("2022-01-31")!.snapshotId, lastDay: "2022-01-31", created: true });
      assert.equal((await tagPeriod(setup.dataset, "2022-01")).created, false, "tagging again is a no-op");
      const commits = await listDayCommits(setup.dataset);
      assert.deepEqual(historyProblems(commits.map((c) => c.day), ["2022-01-30", "2022-01-31", "2022-02-01"]), []);
      assert.deepEqual(commits[0]!.files.map((f) => commits[0]!.source + f), filesOf("2022-02-01").map((f) => (kind === "local" ? `file://${f}` : `s3://${(setup.dataset.source.storage as { bucket: string }).bucket}/${relative(archive, f)}`)));
    });

    test("a retried commit of a committed day returns its snapshot and changes nothing", async () => {
      const tip = await branchTip(setup.dataset);
      const again = await commitDay(setup.dataset, "2022-01-31", setup.input("2022-01-31"));
      assert.equal(again.alreadyCommitted, true);
      assert.equal(again.snapshotId, committed.get("2022-01-31")!.snapshotId);
      assert.equal(await branchTip(setup.dataset), tip);
    });

    test("a day before the store's end is refused with a typed error; so is a partly stored one", async () => {
      const tip = await branchTip(setup.dataset);
      const tipNow = (): Promise<string> => branchTip(setup.dataset);
      assert.deepEqual(await refusalProblems(commitDay(setup.dataset, "2022-01-29", setup.input("2022-01-29")), "out-of-order", tip, tipNow), []);
      const straddling: DayInput = { refs: [filesOf("2022-01-29")[1]!, filesOf("2022-01-30")[0]!].map((f) => localRefs.get(f)!) };
      if (kind === "local") assert.deepEqual(await refusalProblems(commitDay(setup.dataset, "2022-01-29", straddling), "partial-overlap", tip, tipNow), []);
    });

    test("concurrent commits of one day: one commit, everyone gets its snapshot", async (t) => {
      const day = "2022-02-02";
      const results = await Promise.all([1, 2, 3, 4].map(() => commitDay(setup.dataset, day, setup.input(day))));
      const writers = results.filter((r) => !r.alreadyCommitted);
      t.diagnostic(`attempts ${results.map((r) => r.attempts).join(", ")}; already committed: ${results.map((r) => r.alreadyCommitted).join(", ")}`);
      assert.equal(writers.length, 1);
      assert.equal(new Set(results.map((r) => r.snapshotId)).size, 1);
      committed.set(day, results[0]!);
      tipAfterDays = await branchTip(setup.dataset);
      assert.equal(tipAfterDays, results[0]!.snapshotId);
    });

    test("Python icechunk + xarray read every step as the source files hold it, with our kerchunk attributes", async (t) => {
      const base = { ...setup.python, kerchunk: kerchunkAll };
      const cases: PythonCase[] = [
        { id: "main", ref: { branch: "main" }, files: filesOf(...stored), ...base },
        { id: "tag 2022-01", ref: { tag: "2022-01" }, files: filesOf("2022-01-30", "2022-01-31"), ...base, kerchunk: undefined },
        // Broken: the tag compared with every file (it must hold January only).
        { id: "tag 2022-01 against every file", ref: { tag: "2022-01" }, files: filesOf(...stored), ...base, kerchunk: undefined },
      ];
      const steps: PythonCase[] = [{ id: "before replacement", ref: { branch: "main" }, files: filesOf(...stored), ...setup.python }];
      const report = await readBack({ cases, steps, stores: [{ id: "store", ref: { branch: "main" }, files: [], ...setup.python }] }, `${kind}-read`);
      assert.deepEqual(allProblems(report.cases.main!), []);
      assert.deepEqual(allProblems(report.cases["tag 2022-01"]!), []);
      const wrong = report.cases["tag 2022-01 against every file"]!.raw;
      t.diagnostic(`raw check on the tag against the wrong files: ${wrong[0]}`);
      assert.ok(wrong.length > 0);
      const store = report.stores.store!;
      assert.deepEqual(historyProblems(committedDays(store.history.map((h) => h.message)), stored), []);
      assert.equal(store.history.length, stored.length + 1, "one commit per day, plus Icechunk's initial commit");
      assert.deepEqual(store.tags, { "2022-01": committed.get("2022-01-31")!.snapshotId });
      assert.equal(store.history[0]!.id, tipAfterDays);
      // Before any source changes, every step reads: the checksum check below fails here.
      const before = checksumProblems(report.steps["before replacement"]!, [3]);
      t.diagnostic(`checksum check before the replacement: ${before.join("; ")}`);
      assert.deepEqual(before, ["step 3 read although its source was replaced"]);
      // Nothing read is no pass either.
      assert.deepEqual(checksumProblems([], [3]), ["no step read", "step 3 not read"]);
    });

    test("a source replaced after commit fails that step with Icechunk's checksum error; other steps read", async () => {
      const replaced = filesOf(...stored)[3]!;
      const restore = await setup.replace(replaced);
      try {
        const report = await readBack({ steps: [{ id: "after", ref: { branch: "main" }, files: filesOf(...stored), ...setup.python }] }, `${kind}-replaced`);
        assert.deepEqual(checksumProblems(report.steps.after!, [3]), []);
      } finally {
        await restore();
      }
    });
  });
}

test("the native bindings load here (with the glibc shim only where the plain load fails)", async (t) => {
  const { icechunk, info } = await loadIcechunkWithInfo();
  assert.equal(typeof icechunk.Repository.open, "function");
  t.diagnostic(info.glibcShim ? `glibc shim loaded: ${info.glibcShim}` : "plain load, no shim needed");
  // Without a C compiler the shim cannot be built: a typed error, where the shim is needed at all.
  const script = `import { loadIcechunkWithInfo } from ${JSON.stringify(resolve(repositoryRoot, "lib/icechunk/bindings.ts"))};
loadIcechunkWithInfo().then((r) => console.log(JSON.stringify({ ok: true, shim: r.info.glibcShim ?? null })), (e) => console.log(JSON.stringify({ ok: false, kind: e.kind, problem: e.problem, message: e.message })));`;
  const cache = await testDir("shim-cache");
  const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: repositoryRoot,
    env: { ...process.env, CC: "/bin/false", TK_CACHE_DIR: cache },
  });
  const child = JSON.parse(stdout.trim().split("\n").pop()!) as { ok: boolean; kind?: string; problem?: string; message?: string };
  if (info.glibcShim) {
    assert.equal(child.ok, false);
    assert.equal(child.kind, "IcechunkError");
    assert.equal(child.problem, "bindings-unavailable");
    assert.match(child.message!, /glibc 2\.38.*C compiler/);
  } else {
    assert.equal(child.ok, true);
  }
});

scenario("local", localSetup);
scenario("s3", s3Setup);

test("broken stores fail the read-back checks: swapped chunks, a changed attribute, no _FillValue attribute, a day committed twice", async (t) => {
  const out = await mkdtemp(join(dir, "broken-"));
  const dataset: IcechunkDataset = {
    name: "icechunk-broken",
    source: { storage: { kind: "local", path: archive }, root: "AHI-L2-FLDK-SST" },
    output: { storage: { kind: "local", path: out } },
    combine: { concatDims: ["time"], identicalDims: ["lat", "lon"] },
  };
  const day = "2022-01-30";
  const refs = filesOf(day).map((f) => structuredClone(localRefs.get(f)!));
  const first = refs[0]!.refs;
  const [a, b] = [first["sea_surface_temperature/0.0.0"], first["sea_surface_temperature/0.0.1"]] as Reference[];
  assert.ok(Array.isArray(a) && Array.isArray(b));
  first["sea_surface_temperature/0.0.0"] = b;
  first["sea_surface_temperature/0.0.1"] = a;
  for (const r of refs) {
    r.refs["sea_surface_temperature/.zattrs"] = (r.refs["sea_surface_temperature/.zattrs"] as string).replace("sea surface sub-skin temperature", "changed");
    r.refs["quality_level/.zattrs"] = (r.refs["quality_level/.zattrs"] as string).replace(/,"_FillValue":-128/, "");
  }
  const summary = await commitDay(dataset, day, { refs });
  // A second commit naming the same day, as a tool without our checks could leave behind.
  const { repository } = await openRepository(dataset, resolveIcechunkOptions(), { create: false });
  const session = await repository.writableSession("main");
  await session.store.set("extra/zarr.json", Buffer.from(JSON.stringify({ zarr_format: 3, node_type: "group", attributes: {} })));
  const history = (await listDayCommits(dataset))[0]!;
  await session.commit(`again\ntemporal-kerchunk-day ${JSON.stringify({ ...history, snapshotId: undefined, writtenAt: undefined })}`);

  const python = { store: { kind: "local" as const, path: repositoryLocation(dataset).description }, container: { kind: "local" as const, prefix: containerPrefix(dataset.source.storage) } };
  const kerchunkDay = join(out, "kerchunk-day.json");
  await writeFile(kerchunkDay, (await combineRefs(filesOf(day).map((f) => localRefs.get(f)!), { concatDims: ["time"], identicalDims: ["lat", "lon"] })).json());
  const report = await readBack(
    { cases: [{ id: "broken", ref: { branch: "main" }, files: filesOf(day), kerchunk: kerchunkDay, ...python }], stores: [{ id: "broken", ref: { branch: "main" }, files: [], ...python }] },
    "broken",
  );
  const result = report.cases.broken!;
  t.diagnostic(`raw: ${result.raw.join("; ")}`);
  t.diagnostic(`decoded: ${result.decoded.join("; ")}`);
  t.diagnostic(`attributes: ${result.attributes.join("; ")}`);
  assert.ok(result.raw.some((p) => p.startsWith("sea_surface_temperature")), "swapped chunks: raw values differ");
  assert.ok(result.decoded.some((p) => p.startsWith("quality_level")), "no _FillValue attribute: quality_level is not masked");
  assert.ok(result.attributes.some((p) => p.includes("long_name")), "changed attribute");
  const problems = historyProblems(committedDays(report.stores.broken!.history.map((h) => h.message)), [day]);
  t.diagnostic(`history: ${problems.join("; ")} (committed ${summary.snapshotId})`);
  assert.ok(problems.length > 0, "a day committed twice");
  // A day whose metadata differs from the store's is refused with drift "fail" (with "split", the
  // default, it starts an era group: test/driftIcechunk.test.ts), by the combine's rule: here
  // quality_level gains a units attribute (decoding). The store's missing _FillValue beside an equal
  // fill value is no difference (the combine's rule too: older references lack the attribute).
  const dayInput = (d: string): DayInput => ({ refs: filesOf(d).map((f) => localRefs.get(f)!) });
  const withUnits: DayInput = {
    refs: filesOf("2022-01-31").map((f): KerchunkRefs => {
      const r = localRefs.get(f)!;
      return { ...r, refs: { ...r.refs, "quality_level/.zattrs": (r.refs["quality_level/.zattrs"] as string).replace(/^\{/, '{"units":"1",') } };
    }),
  };
  await assert.rejects(commitDay({ ...dataset, drift: "fail" }, "2022-01-31", withUnits), (e: unknown) => e instanceof IcechunkError && e.problem === "mismatched-array" && /quality_level: attribute units/.test(e.message));
  // References outside the repository's virtual chunk container: Icechunk returns their indices
  // instead of throwing, and the commit fails naming them.
  const elsewhere = await mkdtemp(join(dir, "elsewhere-"));
  const moved = filesOf("2022-01-31").map((f) => {
    const refs = structuredClone(localRefs.get(f)!);
    for (const [key, ref] of Object.entries(refs.refs)) {
      if (key.startsWith("sea_surface_temperature/") && Array.isArray(ref)) refs.refs[key] = [ref[0].replace(`file://${archive}/`, `file://${elsewhere}/`), ...ref.slice(1)] as Reference;
    }
    return refs;
  });
  const movedUrls = new Set(moved.flatMap((r) => Object.values(r.refs).filter((v): v is [string, number, number] => Array.isArray(v) && v.length === 3).map((v) => v[0])));
  const clean0: IcechunkDataset = { ...dataset, name: "icechunk-container", output: { storage: { kind: "local", path: join(out, "container") } } };
  await assert.rejects(
    commitDay(clean0, "2022-01-31", { refs: moved }, { sourceVersions: new Map([...movedUrls].map((u) => [u, { lastModified: new Date() }])) }),
    (e: unknown) => e instanceof IcechunkError && e.problem === "virtual-refs-rejected" && e.message.includes(elsewhere),
  );
  // The refusal check fails on a day that is in order (it is accepted, and the branch moves).
  const clean: IcechunkDataset = { ...dataset, name: "icechunk-clean", output: { storage: { kind: "local", path: join(out, "clean") } } };
  await commitDay(clean, "2022-01-30", dayInput("2022-01-30"));
  const tip = await branchTip(clean);
  const refused = await refusalProblems(commitDay(clean, "2022-01-31", dayInput("2022-01-31")), "out-of-order", tip, () => branchTip(clean));
  t.diagnostic(`refusal check on an in-order day: ${refused.join("; ")}`);
  assert.deepEqual(refused.map((p) => p.replace(/\(.*\)/, "(...)")), ["accepted (...)", "the branch moved"]);
});

test("a local repository has one writer at a time: a commit waits for a live writer's lock and breaks a dead one's", async (t) => {
  const out = await mkdtemp(join(dir, "lock-out-"));
  const dataset: IcechunkDataset = {
    name: "icechunk-lock",
    source: { storage: { kind: "local", path: archive }, root: "AHI-L2-FLDK-SST" },
    output: { storage: { kind: "local", path: out } },
    combine: { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] },
  };
  const input = (day: string): DayInput => ({ refs: filesOf(day).map((f) => localRefs.get(f)!) });
  const lock = writerLockPath(repositoryLocation(dataset));
  // Another writer (another worker's process) holds the lock and keeps it fresh: we wait, then give up with a typed, retryable error.
  await writeFile(lock, JSON.stringify({ token: "another-writer" }));
  const started = Date.now();
  await assert.rejects(
    commitDay(dataset, "2022-01-30", input("2022-01-30"), { writerLock: { waitMs: 700 } }),
    (e: unknown) => e instanceof IcechunkError && e.problem === "writer-lock" && e.retryable && e.message.includes(lock),
  );
  assert.ok(Date.now() - started >= 700, "waited for the holder");
  await assert.rejects(openRepository(dataset, resolveIcechunkOptions(), { create: false }), (e: unknown) => e instanceof IcechunkError && e.problem === "no-repository");
  // The holder died (a SIGKILLed worker stops refreshing the lock): the next writer breaks the lock and commits.
  const longAgo = new Date(Date.now() - 120_000);
  await utimes(lock, longAgo, longAgo);
  const summary = await commitDay(dataset, "2022-01-30", input("2022-01-30"));
  t.diagnostic(`committed ${summary.snapshotId} after breaking a stale lock`);
  assert.equal(summary.alreadyCommitted, false);
  await assert.rejects(stat(lock), (e: unknown) => (e as NodeJS.ErrnoException).code === "ENOENT", "the writer removed its lock");
  // A writer holding the lock keeps it fresh while it works, so a slow writer is never taken for a dead one.
  const spans: [number, number][] = [];
  const slowWriter = (): Promise<void> =>
    withWriterLock(repositoryLocation(dataset), async () => {
      const start = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 300));
      spans.push([start, performance.now()]);
    }, { staleMs: 60 });
  await Promise.all([slowWriter(), slowWriter()]);
  const [first, second] = spans.sort((a, b) => a[0] - b[0]);
  assert.ok(second![0] >= first![1], `two writers at once: ${JSON.stringify(spans)}`);
  // And many writers of one day: one commit.
  const both = await Promise.all([1, 2, 3].map(() => commitDay(dataset, "2022-01-31", input("2022-01-31"))));
  assert.deepEqual(both.map((s) => s.alreadyCommitted).sort(), [false, true, true]);
  assert.deepEqual(historyProblems((await listDayCommits(dataset)).map((c) => c.day), ["2022-01-30", "2022-01-31"]), []);
});
