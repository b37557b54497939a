/**
 * Round trips of one extraction (issue 20), counted, never timed: files written by netCDF-C in the
 * Himawari layout (python/himawari_like.py) translated through the block cache in front of a
 * MemorySource, which counts requests and the longest chain of reads each issued after the one
 * before it had answered.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { before, test } from "node:test";
import { promisify } from "node:util";
import { Hdf5Context } from "../lib/hdf5/context.js";
import { Hdf5File } from "../lib/hdf5/file.js";
import { heldObjectHeaders } from "../lib/hdf5/headerScan.js";
import { firstRangeOffset } from "../lib/model/kerchunkRefs.js";
import { repositoryRoot } from "../lib/servers/process.js";
import { BlockCache, type BlockCacheOptions } from "../lib/source/blockCache.js";
import type { ByteSource } from "../lib/source/byteSource.js";
import { LayoutHints } from "../lib/source/layoutHints.js";
import { MemorySource } from "../lib/source/memory.js";
import { translateHdf5 } from "../lib/refs/translate.js";
import { testDir, venvPython } from "./harness/env.js";

const run = promisify(execFile);

/** Two hours of one archive: the same variables and chunking, other values (the data of netCDF-C's layout sit between the metadata). */
let files: Uint8Array[] = [];
/**
 * Three hours of an archive like the Himawari-sized one (bench/refs/make_himawari.py), small: ten
 * variables, each defined and written before the next, so the root group's links turn dense after
 * the eighth, in the middle of the file, and every structure after the first variable's data
 * moves with the compressed sizes, which differ from hour to hour.
 */
let movingFiles: Uint8Array[] = [];
/**
 * One hour of the same kind whose coordinate variables (`time`, `lat`, `lon`, written first) carry
 * more than eight attributes, as the Himawari product's do: their attributes, the dimension
 * scales' `REFERENCE_LIST` among them, go to dense storage in the head, while every variable's
 * header and the root group's dense links lie among the data.
 */
let scaledFile: Uint8Array = new Uint8Array(0);
/** The same, with the ten variables in a group `data` (root links compact, the group's dense, among the data). */
let groupedFile: Uint8Array = new Uint8Array(0);
/**
 * An h5py file whose dimension scale and the three datasets attached to it were deleted after
 * they reached the disk: their headers stay in the head, valid, reached by no link. The root
 * group's links turn dense after a large dataset, beyond an 8 KiB head.
 */
let staleScale: Uint8Array = new Uint8Array(0);
/** A group of 300 links (dense storage whose name index is two levels deep), written by h5py. */
let manyLinks: Uint8Array = new Uint8Array(0);
/** Two h5py files whose last object (and its attributes) is created after data of varying size: at the end. */
let lateFiles: Uint8Array[] = [];

before(async () => {
  const dir = await testDir("round-trips");
  const script = [
    "import sys",
    `sys.path.insert(0, ${JSON.stringify(resolve(repositoryRoot, "python"))})`,
    "from himawari_like import himawari_like",
    "for hour in (0, 1):",
    `    himawari_like(${JSON.stringify(dir)} + f"/h{hour}.nc", hour=hour, ny=1000, nx=2000)`,
  ].join("\n");
  await run(venvPython, ["-c", script]);
  files = await Promise.all([0, 1].map((hour) => readFile(join(dir, `h${hour}.nc`)).then((b) => new Uint8Array(b))));
  const moving = [
    "import netCDF4, numpy as np, h5py",
    "for seed in (1, 2, 3):",
    "    rng = np.random.default_rng(seed)",
    `    ds = netCDF4.Dataset(${JSON.stringify(dir)} + f"/moving{seed}.nc", "w", format="NETCDF4")`,
    "    for name, n in (('time', None), ('lat', 400), ('lon', 800)): ds.createDimension(name, n)",
    "    for i in range(10):",
    "        v = ds.createVariable(f'v{i}', 'i2', ('time', 'lat', 'lon'), zlib=True, chunksizes=(1, 200, 400), fill_value=np.int16(-1))",
    "        v.units = '1'",
    "        data = np.full((400, 800), -1, dtype='i2')",
    "        noisy = int(400 * (0.3 + 0.4 * rng.random()))  # rows of noise: the compressed size varies",
    "        data[:noisy] = rng.integers(0, 1000, (noisy, 800), dtype='i2')",
    "        v[0] = data",
    "    ds.close()",
    "for name, grouped in (('scaled', False), ('grouped', True)):",
    "    rng = np.random.default_rng(4)",
    `    ds = netCDF4.Dataset(${JSON.stringify(dir)} + f"/{name}.nc", "w", format="NETCDF4")`,
    "    for dim, n in (('time', None), ('lat', 400), ('lon', 800)): ds.createDimension(dim, n)",
    "    for dim, n in (('time', 1), ('lat', 400), ('lon', 800)):",
    "        c = ds.createVariable(dim, 'f8' if dim == 'time' else 'f4', (dim,))",
    "        c.setncatts({'long_name': dim, 'standard_name': dim, 'units': '1', 'axis': dim[0].upper(), 'valid_min': 0.0, 'valid_max': 1.0, 'comment': 'a coordinate', 'source': 'test'})",
    "        c[:] = np.arange(n)",
    "    into = ds.createGroup('data') if grouped else ds",
    "    for i in range(10):",
    "        v = into.createVariable(f'v{i}', 'i2', ('time', 'lat', 'lon'), zlib=True, chunksizes=(1, 200, 400), fill_value=np.int16(-1))",
    "        v.units = '1'",
    "        data = np.full((400, 800), -1, dtype='i2')",
    "        noisy = int(400 * (0.3 + 0.4 * rng.random()))",
    "        data[:noisy] = rng.integers(0, 1000, (noisy, 800), dtype='i2')",
    "        v[0] = data",
    "    ds.close()",
    `with h5py.File(${JSON.stringify(dir)} + "/many.h5", "w", libver="latest") as f:`,
    "    for i in range(300): f.create_dataset(f'member_with_a_long_name_{i:04d}', data=np.arange(10, dtype='i4'))",
    "rng = np.random.default_rng(5)",
    `with h5py.File(${JSON.stringify(dir)} + "/stale.h5", "w", libver="latest") as f:`,
    "    x = f.create_dataset('x', data=np.arange(1000, dtype='f4'))",
    "    x.make_scale('x')",
    "    old = [f.create_dataset(f'old{i}', shape=(1000,), dtype='f4', chunks=(100,)) for i in range(3)]",
    "    for d in old: d.dims[0].attach_scale(x)",
    "    f.create_dataset('big', data=rng.random(200_000))",
    "    for d in old: d[:] = rng.random(1000)",
    "    for i in range(9): f.create_dataset(f'd{i}', data=rng.random(50_000), chunks=(10_000,))",
    "    f.flush()",
    "    del f['x']",
    "    for i in range(3): del f[f'old{i}']",
    "for seed in (1, 2):",
    "    rng = np.random.default_rng(seed)",
    `    with h5py.File(${JSON.stringify(dir)} + f"/late{seed}.h5", "w") as f:`,
    "        n = int(300000 * (0.5 + rng.random()))",
    "        f.create_dataset('a', data=rng.integers(0, 1000, n, dtype='i4'), chunks=(50000,), compression='gzip')",
    "        b = f.create_dataset('b', data=np.arange(100, dtype='f4'))",
    "        for i in range(12): b.attrs[f'attr{i}'] = 'x' * 20",
  ].join("\n");
  await run(venvPython, ["-c", moving]);
  movingFiles = await Promise.all([1, 2, 3].map((seed) => readFile(join(dir, `moving${seed}.nc`)).then((b) => new Uint8Array(b))));
  scaledFile = new Uint8Array(await readFile(join(dir, "scaled.nc")));
  groupedFile = new Uint8Array(await readFile(join(dir, "grouped.nc")));
  manyLinks = new Uint8Array(await readFile(join(dir, "many.h5")));
  staleScale = new Uint8Array(await readFile(join(dir, "stale.h5")));
  lateFiles = await Promise.all([1, 2].map((seed) => readFile(join(dir, `late${seed}.h5`)).then((b) => new Uint8Array(b))));
});

async function translate(bytes: Uint8Array, options: BlockCacheOptions = {}, { scan = true } = {}) {
  const source = new MemorySource(bytes, "memory://h.nc");
  const cache = new BlockCache(source, options);
  const result = await translateHdf5(scan ? cache : unscanned(cache), { inlineThreshold: 100, url: "s3://bucket/h.nc" });
  return { refs: result.refs, roundTrips: source.roundTrips, requests: source.stats.requests, bytes: source.stats.bytes, learned: cache.learnedRanges() };
}

/** The cache without `peek`: the reader finds no object header by scanning (lib/hdf5/headerScan.ts), as before it did. */
function unscanned(cache: BlockCache): ByteSource {
  return { url: cache.url, size: () => cache.size(), read: (offset, length) => cache.read(offset, length), readNow: (offset, length) => cache.readNow(offset, length) };
}

test("a netCDF-C Himawari-layout file: at most 3 sequential round trips cold, 1 with its neighbour's layout, the same references", async () => {
  const [first, second] = files as [Uint8Array, Uint8Array];
  const cold = await translate(first);
  assert.ok(cold.roundTrips <= 3, `cold: ${cold.roundTrips} round trips`);
  // Metadata lies beyond the 256 KiB head (the file's later variables follow the earlier ones' data):
  // the cold read needs more than one round, and what it needed is learned.
  assert.ok(cold.roundTrips > 1 && cold.learned.length > 0, `cold: ${cold.roundTrips} round trips, learned ${JSON.stringify(cold.learned)}`);

  // The next hour, read with what the first taught: everything in the first round, with the
  // default head and with the one-block head extractToStaging uses then (fewer bytes).
  const alone = await translate(second);
  for (const headSize of [undefined, 8192]) {
    const hinted = await translate(second, { prefetch: cold.learned, ...(headSize ? { headSize } : {}) });
    assert.equal(hinted.roundTrips, 1, `with the first file's layout (head ${headSize ?? "default"}): ${hinted.roundTrips} round trips (${hinted.requests} requests)`);
    assert.deepEqual(hinted.refs, alone.refs);
    if (headSize) assert.ok(hinted.bytes < alone.bytes / 2, `read ${hinted.bytes} bytes with the hint and a small head, ${alone.bytes} without`);
  }
});

test("a wrong layout guess costs reads, never a wrong reference or an extra round trip", async () => {
  const [first, second] = files as [Uint8Array, Uint8Array];
  const alone = await translate(second);
  const learned = (await translate(first)).learned;
  const wrong = [
    ...learned.map((span) => ("offset" in span ? { offset: span.offset + 1_000_000, length: span.length } : span)),
    { offset: second.length + 100_000, length: 8192 }, // past the end of the file
    { suffix: 64 * 1024 },
  ];
  const guessed = await translate(second, { prefetch: wrong });
  assert.deepEqual(guessed.refs, alone.refs);
  assert.ok(guessed.roundTrips <= alone.roundTrips, `${guessed.roundTrips} round trips with wrong guesses, ${alone.roundTrips} without`);
  assert.ok(guessed.requests > alone.requests, "the wrong guesses were read (the check would pass without them)");
});

test("dense root links after the variables' data: hints learned from one or two hours of other sizes guess no range that moves", async () => {
  const [first, second, third] = movingFiles as [Uint8Array, Uint8Array, Uint8Array];
  const small = { headSize: 8192 }; // the head a hinted file starts from (extractToStaging)
  const alone = await translate(third, small);
  const hints = new LayoutHints();
  const taught = await translate(first);
  // The fixture's property: ranges after the first variable's data move from hour to hour, so
  // guessing the first hour's ranges as they were reads more than no guess at all.
  const asTheyWere = await translate(third, { ...small, prefetch: taught.learned });
  assert.ok(asTheyWere.bytes > alone.bytes, `one hour's ranges as they were: ${asTheyWere.bytes} bytes, ${alone.bytes} without a guess`);
  // One file taught: only what lay before its first data is guessed, and nothing misses.
  hints.learn("archive", taught.learned, () => firstRangeOffset(taught.refs));
  const fromOne = await translate(third, { ...small, prefetch: hints.get("archive") });
  assert.deepEqual(fromOne.refs, alone.refs);
  assert.ok(fromOne.bytes <= alone.bytes, `with one hour's layout: ${fromOne.bytes} bytes, ${alone.bytes} without a guess`);
  assert.ok(fromOne.roundTrips <= alone.roundTrips, `with one hour's layout: ${fromOne.roundTrips} round trips, ${alone.roundTrips} without a guess`);
  const taughtSecond = await translate(second, { ...small, prefetch: hints.get("archive") });
  hints.learn("archive", taughtSecond.learned, () => firstRangeOffset(taughtSecond.refs));
  // Two files taught: only the ranges both needed are guessed.
  const fromTwo = await translate(third, { ...small, prefetch: hints.get("archive") });
  assert.deepEqual(fromTwo.refs, alone.refs);
  assert.ok(fromTwo.bytes <= alone.bytes, `with two hours' layout: ${fromTwo.bytes} bytes, ${alone.bytes} without a guess`);
  assert.ok(fromTwo.roundTrips <= alone.roundTrips, `with two hours' layout: ${fromTwo.roundTrips} round trips, ${alone.roundTrips} without a guess`);
});

test("variables defined one after the other: the dimension scales in the head name every header at once, 3 round trips instead of 4", async () => {
  // Found by scanning what the first round read for the scales' headers, and following their
  // REFERENCE_LIST: every variable's header beside the link storage's first structures; in the
  // root group, or in a group of its own whose links are the ones not at hand.
  for (const [name, file] of [["root group", scaledFile], ["group data", groupedFile]] as const) {
    const unscanned = await translate(file, {}, { scan: false });
    const scanned = await translate(file);
    assert.deepEqual(scanned.refs, unscanned.refs);
    assert.ok(scanned.roundTrips <= 3, `${name}: ${scanned.roundTrips} round trips (${unscanned.roundTrips} without the scan)`);
    assert.ok(unscanned.roundTrips > scanned.roundTrips, `${name}: the fixture's chain is longer without the scan: ${unscanned.roundTrips} round trips`);
    assert.ok(scanned.bytes <= unscanned.bytes, `${name}: ${scanned.bytes} bytes with the scan, ${unscanned.bytes} without`);
    // What the next file is told to read is what this one needed: the scanned head is not in it.
    assert.deepEqual(scanned.learned, unscanned.learned);
  }
});

test("the scan takes a signed header only whole and with its checksum right", async () => {
  // A real header of the fixture, copied into an empty file twice: as it is, and with one byte of
  // its messages changed (its checksum then fails); and a third copy cut by the end of what is held
  // (the 64 KiB head of a 128 KiB file).
  const found = await (async () => {
    const cache = new BlockCache(new MemorySource(scaledFile, "memory://scaled.nc"));
    return heldObjectHeaders(new Hdf5Context(cache, await cache.size(), 8, 8, 0));
  })();
  // A scale's header, up to the next header found (no other signature in the copy).
  const header = scaledFile.slice(found[1]!, found[2]!);
  const bytes = new Uint8Array(128 * 1024);
  bytes.set(header, 8192);
  const damaged = header.slice();
  damaged[24] = damaged[24]! ^ 0xff;
  bytes.set(damaged, 24576);
  bytes.set(header.subarray(0, 1024), 64 * 1024 - 40);
  const cache = new BlockCache(new MemorySource(bytes, "memory://planted.h5"), { headSize: 64 * 1024 });
  const ctx = new Hdf5Context(cache, await cache.size(), 8, 8, 0);
  assert.deepEqual(heldObjectHeaders(ctx), [8192]);
});

test("a damaged chunk index the read-ahead reached first fails with the walk's own error, naming the variable", async () => {
  // Each variable's index damaged in turn, in the file read with the worker's 8 KiB head: the
  // read-ahead decodes some of them before the walk knows their names.
  const objects = await (await Hdf5File.open(new MemorySource(groupedFile, "memory://grouped.nc"))).objects();
  for (const variable of objects) {
    if (!/^\/data\/v\d$/.test(variable.path)) continue;
    assert.ok(variable.kind === "dataset" && variable.layout.kind === "chunked" && variable.layout.index.address !== undefined);
    const damaged = groupedFile.slice();
    damaged.set(new TextEncoder().encode("XXXX"), variable.layout.index.address); // the B-tree node's "TREE"
    const failure = async (scan: boolean): Promise<string> => {
      try {
        await translate(damaged, { headSize: 8192 }, { scan });
      } catch (error) {
        return (error as Error).message;
      }
      return "no error";
    };
    const unscanned = await failure(false);
    assert.match(unscanned, new RegExp(`chunk index of ${variable.path} `));
    assert.equal(await failure(true), unscanned);
  }
});

test("a dimension scale left in freed space costs reads, never a reference or a round trip", async () => {
  // Its header (and those of the datasets its REFERENCE_LIST names) is still in the head, valid,
  // but no link leads to it: the read-ahead follows it to chunk indexes the walk never reads.
  const small = { headSize: 8192 };
  const alone = await translate(staleScale, small, { scan: false });
  const guessed = await translate(staleScale, small);
  assert.deepEqual(guessed.refs, alone.refs);
  assert.equal(Object.keys(guessed.refs.refs).some((key) => key.startsWith("old")), false, "the deleted datasets are not in the references");
  assert.ok(guessed.roundTrips <= alone.roundTrips, `${guessed.roundTrips} round trips with the stale scale followed, ${alone.roundTrips} without`);
  assert.ok(guessed.requests > alone.requests, `the stale scale's datasets were read (${guessed.requests} requests, ${alone.requests} without): the check would pass without them`);
});

test("dense links: the heap's root block is read beside the name index's nodes, not after them", async () => {
  // Nothing merged, nothing in the head beyond the superblock's block: every structure is a read.
  const read = await translate(manyLinks, { headSize: 8192, maxGap: 0 });
  assert.equal(read.refs.refs["member_with_a_long_name_0299/.zarray"] !== undefined, true);
  // Head; heap header and name index header; index root and heap root block; index leaves and
  // the heap's direct blocks; the datasets' headers.
  assert.ok(read.roundTrips <= 5, `${read.roundTrips} round trips (${read.requests} requests)`);
});

test("metadata written after the data is learned from the end of the file: the next file of other data sizes is read in one round", async () => {
  const [first, second] = lateFiles as [Uint8Array, Uint8Array];
  assert.notEqual(first.length, second.length, "the fixture's data sizes differ");
  const cold = await translate(first);
  assert.ok(cold.roundTrips > 1, `cold: ${cold.roundTrips} round trips`);
  const alone = await translate(second);
  const hinted = await translate(second, { prefetch: cold.learned, headSize: 8192 });
  assert.deepEqual(hinted.refs, alone.refs);
  assert.equal(hinted.roundTrips, 1, `with the first file's layout: ${hinted.roundTrips} round trips, learned ${JSON.stringify(cold.learned)}`);
});

test("one wave of a file's reads goes out together: 20 separate ranges after the head take one more round trip", async () => {
  // A Himawari-sized granule's chunk-index leaves coalesce into 18 requests (docs/benchmarks.md,
  // "Round trips"): the default bound on a file's reads in flight must not split such a wave.
  const block = 8192;
  const source = new MemorySource(new Uint8Array(64 * 1024 * 1024), "memory://wave.bin");
  const cache = new BlockCache(source, { headSize: block });
  await cache.size();
  const ranges = Array.from({ length: 20 }, (_, i) => ({ offset: (i + 1) * 2 * 1024 * 1024, length: 4096 }));
  await Promise.all(ranges.map(({ offset, length }) => cache.read(offset, length)));
  assert.equal(source.stats.requests, 21, "the head and one request per range (none merged: the check would pass without a wave)");
  assert.equal(source.peakConcurrency, 20, `peak reads in flight ${source.peakConcurrency}`);
  assert.equal(source.roundTrips, 2, `${source.roundTrips} round trips`);
});
