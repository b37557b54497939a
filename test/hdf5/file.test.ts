/**
 * The HDF5 file-structure reader against h5py, the oracle. Fixtures come from h5py (every libver),
 * netCDF4-python and h5wasm; for each file we build, from our reader, the same JSON inventory that
 * test/fixtures/python/h5_inventory.py prints from h5py, and compare them object by object. Nothing
 * below states an expected value that h5py did not report for the same file.
 *
 * Run: node --import tsx --test test/hdf5/file.test.ts
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Hdf5FormatError, UnsupportedFeatureError } from "../../lib/errors.js";
import { Hdf5File } from "../../lib/hdf5/file.js";
import type { AttributeElement, Hdf5Datatype, Hdf5Object } from "../../lib/hdf5/model.js";
import { LocalFileSource } from "../../lib/source/localFile.js";
import { MemorySource } from "../../lib/source/memory.js";
import { BlockCache } from "../../lib/source/blockCache.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");
const python = resolve(repo, ".venv/bin/python");
const fixtureScript = resolve(repo, "test/fixtures/python/h5_structure_fixtures.py");
const fidelityScript = resolve(repo, "test/fixtures/python/h5_fidelity_fixtures.py");
const inventoryScript = resolve(repo, "test/fixtures/python/h5_inventory.py");

/** Files the fixture scripts write; the suite checks the directory holds exactly these. */
const PYTHON_FIXTURES = [
  "earliest.h5",
  "earliest_dense.h5",
  "v108.h5",
  "v110.h5",
  "latest.h5",
  "track_order.h5",
  "unicode_names.h5",
  "unicode_names_earliest.h5",
  "userblock.h5",
  "extendable_latest.h5",
  "small_sizes_earliest.h5",
  "small_sizes_latest.h5",
  "big_heap.h5",
  "himawari_l3c.nc",
  "classic_model.nc",
  "netcdf_types.nc",
];
const H5WASM_FIXTURES = ["h5wasm_earliest.h5", "h5wasm_latest.h5"];
/**
 * Files of the open-world fidelity tests (h5_fidelity_fixtures.py, in a subfolder) whose structure
 * h5py can describe: non-IEEE floats and padded integers, zero-sized and shrunk extents, strings of
 * every padding, unfiltered edge chunks, SOHM tables, a cache image.
 */
const FIDELITY_FIXTURES = [
  "fidelity/numbers.h5",
  "fidelity/zero_extent.h5",
  "fidelity/extents.h5",
  "fidelity/strings.h5",
  "fidelity/edge_chunks.h5",
  "fidelity/sohm_list.h5",
  "fidelity/sohm_btree.h5",
  "fidelity/cache_image.h5",
];
const ALL_FIXTURES = [...PYTHON_FIXTURES, ...H5WASM_FIXTURES, ...FIDELITY_FIXTURES];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Inventory {
  superblockVersion: number;
  objects: { [key: string]: Json }[];
}


let dir = "";
let inventories: Record<string, Inventory> = {};

/** h5wasm (HDF5 2.0 compiled to wasm) with its oldest and newest format bounds. */
async function writeH5wasmFixtures(outdir: string): Promise<void> {
  const h5wasm = (await import("h5wasm/node")).default;
  await h5wasm.ready;
  const variants: [string, "latest" | ["earliest", "latest"]][] = [
    ["h5wasm_earliest.h5", ["earliest", "latest"]],
    ["h5wasm_latest.h5", "latest"],
  ];
  for (const [name, libver] of variants) {
    const f = new h5wasm.File(join(outdir, name), "w", { libver });
    f.create_attribute("title", `h5wasm ${name}`);
    f.create_attribute("numbers", new Float64Array([1.5, 2.5, 3.5]));
    const g = f.create_group("grp");
    g.create_attribute("count", 7);
    g.create_dataset({ name: "ints", data: new Int32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
    g.create_dataset({
      name: "gz",
      data: new Float32Array(1000).map((_, i) => i),
      shape: [10, 100],
      chunks: [5, 50],
      compression: "gzip",
      compression_opts: 4,
    });
    f.create_dataset({ name: "strings", data: ["alpha", "beta", "gamma"] });
    f.create_dataset({ name: "bigints", data: new BigInt64Array([1n, -2n, 2n ** 60n]) });
    f.create_dataset({ name: "unsigned", data: new Uint16Array([1, 65535]) });
    f.create_soft_link("/grp/ints", "soft");
    f.create_external_link("other.h5", "/x", "ext");
    for (let i = 0; i < 12; i++) f.create_group(`g${i}`);
    f.close();
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "hdf5-structure-"));
  await run(python, [fixtureScript, dir]);
  await run(python, [fidelityScript, join(dir, "fidelity")]);
  await writeH5wasmFixtures(dir);
  const { stdout } = await run(python, [inventoryScript, ...ALL_FIXTURES.map((f) => join(dir, f))], { maxBuffer: 512 * 1024 * 1024 });
  const byPath = JSON.parse(stdout) as Record<string, Inventory>;
  inventories = Object.fromEntries(ALL_FIXTURES.map((f) => [f, byPath[join(dir, f)]!]));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Our reader's view, in the inventory's JSON shape.

function normType(t: Hdf5Datatype): Json {
  switch (t.class) {
    case "fixed":
      return { class: "fixed", size: t.size, order: t.order, signed: t.signed, precision: t.precision, offset: t.bitOffset };
    case "float": {
      const l = t.layout;
      return {
        class: "float",
        size: t.size,
        order: t.order,
        precision: l.precision,
        offset: l.bitOffset,
        fields: [l.signLocation, l.exponentLocation, l.exponentSize, l.mantissaLocation, l.mantissaSize],
        bias: l.exponentBias,
        normalization: l.normalization,
      };
    }
    case "complex":
      return { class: "complex", size: t.size, base: normType(t.base) };
    case "bitfield":
      return { class: t.class, size: t.size, order: t.order };
    case "time":
      return { class: "time", size: t.size };
    case "string":
      return { class: "string", size: t.size, padding: t.padding, charset: t.charset };
    case "vlen-string":
      return { class: "vlen-string", padding: t.padding, charset: t.charset };
    case "opaque":
      return { class: "opaque", size: t.size, tag: t.tag };
    case "compound":
      return { class: "compound", size: t.size, members: t.members.map((m) => ({ name: m.name, offset: m.offset, type: normType(m.type) })) };
    case "reference":
      return { class: "reference", kind: t.kind };
    case "enum":
      return {
        class: "enum",
        size: t.size,
        base: normType(t.base),
        members: t.members.map((m) => ({ name: m.name, value: normScalar(m.value) })),
      };
    case "vlen-sequence":
      return { class: "vlen-sequence", base: normType(t.base) };
    case "array":
      return { class: "array", size: t.size, dims: t.dims, base: normType(t.base) };
  }
}

function normScalar(v: number | bigint): Json {
  return typeof v === "bigint" ? { $bigint: v.toString() } : v;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function normValue(v: AttributeElement, t: Hdf5Datatype): Json {
  if (t.class === "reference") {
    if (t.kind !== "object") return { $region: true };
    return v === null ? null : { $ref: (v as { objectAddress: number }).objectAddress };
  }
  if (typeof v === "bigint") return { $bigint: v.toString() };
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { $float: "nan" };
    if (!Number.isFinite(v)) return { $float: v > 0 ? "inf" : "-inf" };
    return v;
  }
  if (typeof v === "string" || v === null) return v;
  if (v instanceof Uint8Array) return { $bytes: hex(v) };
  if (t.class === "compound") {
    const record = v as { [field: string]: AttributeElement };
    return Object.fromEntries(t.members.map((m) => [m.name, normValue(record[m.name]!, m.type)]));
  }
  if (t.class === "array") return nestedNorm(v as AttributeElement[], t.base, t.dims.length);
  if (t.class === "vlen-sequence") return (v as AttributeElement[]).map((x) => normValue(x, t.base));
  throw new Error(`unexpected value ${String(v)} for ${t.class}`);
}

function nestedNorm(v: AttributeElement[], base: Hdf5Datatype, rank: number): Json {
  return rank <= 1 ? v.map((x) => normValue(x, base)) : v.map((x) => nestedNorm(x as AttributeElement[], base, rank - 1));
}

async function ourInventory(file: Hdf5File): Promise<Inventory> {
  const objects: { [key: string]: Json }[] = [];
  for (const obj of await file.objects()) objects.push(await describe_(file, obj));
  return { superblockVersion: file.superblock.version, objects };
}

async function describe_(file: Hdf5File, obj: Hdf5Object): Promise<{ [key: string]: Json }> {
  const entry: { [key: string]: Json } = {
    path: obj.path,
    address: obj.address,
    attributes: obj.attributes.map((a) => ({
      name: a.name,
      type: normType(a.datatype),
      space: { kind: a.dataspace.kind, shape: a.dataspace.shape },
      values: a.values.map((v) => normValue(v, a.datatype)),
    })),
  };
  if (obj.kind === "group") {
    entry.kind = "group";
    entry.links = obj.links.map((l) => ({ ...l }));
  } else if (obj.kind === "datatype") {
    entry.kind = "datatype";
    entry.type = normType(obj.datatype);
  } else if (obj.kind === "unsupported") {
    entry.kind = "unsupported";
    entry.reason = obj.reason;
  } else {
    entry.kind = "dataset";
    entry.type = normType(obj.datatype);
    entry.space = { kind: obj.dataspace.kind, shape: obj.dataspace.shape };
    entry.maxshape = obj.dataspace.maxShape;
    entry.layout = obj.layout.kind;
    entry.chunks = obj.layout.kind === "chunked" ? obj.layout.chunkShape : null;
    const fill: { [key: string]: Json } = {
      state: obj.fillValue.state,
      allocationTime: obj.fillValue.allocationTime,
      writeTime: obj.fillValue.writeTime,
    };
    const cls = obj.datatype.class;
    if (obj.fillValue.state === "user" && cls !== "vlen-string" && cls !== "vlen-sequence" && cls !== "reference") {
      fill.value = hex(obj.fillValue.value!);
    }
    entry.fill = fill;
    entry.filters = obj.filters.map((f) => ({ id: f.id, optional: f.optional, clientData: f.clientData, ...(f.name === undefined ? {} : { name: f.name }) }));
    const chunks = await file.chunks(obj);
    if (obj.layout.kind === "contiguous") {
      entry.storage = chunks.length === 0 ? null : { address: chunks[0]!.address, size: chunks[0]!.size };
    } else if (obj.layout.kind === "chunked") {
      entry.chunkList = chunks.map((c) => ({ coords: c.coords, address: c.address, size: c.size, filterMask: c.filterMask }));
    }
    if (cls === "vlen-string") entry.vlenStrings = await file.readVlenStrings(obj);
  }
  return entry;
}

/** h5py always names filters (from the registered filter when the file omits the name). */
function alignFilterNames(theirs: { [key: string]: Json }, ours: { [key: string]: Json }): void {
  const t = theirs.filters as { [key: string]: Json }[] | undefined;
  const o = ours.filters as { [key: string]: Json }[] | undefined;
  if (!t || !o) return;
  t.forEach((f, i) => {
    if (o[i] && !("name" in o[i]!)) delete f.name;
  });
}

function sortChunks(list: Json | undefined): void {
  if (!Array.isArray(list)) return;
  const coords = (x: Json): number[] => (x as { coords: number[] }).coords;
  list.sort((a, b) => {
    const [x, y] = [coords(a), coords(b)];
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  });
}

/**
 * A fixture read as its structures come (`LocalFileSource`), or `held`: through a block cache
 * whose first round fetched the whole file, so that the walk is made without waiting
 * (`Hdf5File.objectsNow`) wherever it can be.
 */
async function openFixture(name: string, held = false): Promise<{ file: Hdf5File; source: LocalFileSource }> {
  const source = new LocalFileSource(join(dir, name));
  if (!held) return { file: await Hdf5File.open(source), source };
  const size = await source.size();
  return { file: await Hdf5File.open(new BlockCache(source, { headSize: size })), source };
}

/** The fixtures walked without waiting when held, each noted by the structure test that walked it. */
const walkedHeld = new Set<string>();

// ---------------------------------------------------------------------------------------------

describe("HDF5 structure matches h5py", () => {
  test("the fixture directory holds exactly the listed files", async () => {
    const present = (await readdir(dir)).filter((f) => f.endsWith(".h5") || f.endsWith(".nc")).sort();
    assert.deepEqual(present, [...PYTHON_FIXTURES, ...H5WASM_FIXTURES].sort());
  });

  for (const [name, held] of ALL_FIXTURES.flatMap((name) => [[name, false], [name, true]] as const)) {
    test(held ? `${name}, its bytes held` : name, async () => {
      const theirs = inventories[name]!;
      assert.ok(theirs, `no inventory for ${name}`);
      const { file, source } = await openFixture(name, held);
      try {
        const ours = await ourInventory(file);
        if (held && file.lastWalk === "held") walkedHeld.add(name);
        assert.equal(ours.superblockVersion, theirs.superblockVersion, "superblock version");
        assert.deepEqual(
          ours.objects.map((o) => `${o.kind as string} ${o.path as string}`),
          theirs.objects.map((o) => `${o.kind as string} ${o.path as string}`),
          "objects in walk order",
        );
        theirs.objects.forEach((expected, i) => {
          const actual = ours.objects[i]!;
          alignFilterNames(expected, actual);
          sortChunks(expected.chunkList);
          sortChunks(actual.chunkList);
          for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
            assert.deepEqual(actual[key], expected[key], `${name} ${expected.path as string}: ${key}`);
          }
        });
      } finally {
        await source.close();
      }
    });
  }
});

describe("coverage of the fixtures", () => {
  test("files are walked without waiting when their bytes are held", () => {
    // SOHM-shared messages and huge heap objects are read with reads either way; attributes whose
    // datatype is a committed one (earliest.h5, small_sizes_earliest.h5) follow it without.
    const expected = ["earliest.h5", "small_sizes_earliest.h5", "unicode_names.h5", "unicode_names_earliest.h5", "earliest_dense.h5", "big_heap.h5", "himawari_l3c.nc", "netcdf_types.nc", "extendable_latest.h5", "h5wasm_latest.h5", "h5wasm_earliest.h5"];
    assert.deepEqual(expected.filter((name) => !walkedHeld.has(name)), [], `walked without waiting: ${[...walkedHeld].join(", ")}`);
  });

  // Guards that the fixtures really exercise the encodings this suite claims to cover; the
  // comparisons above are what check the decoding.
  test("superblock versions 0, 2 and 3, user block, v1 and v2 object headers", async () => {
    const versions = new Set(ALL_FIXTURES.map((f) => inventories[f]!.superblockVersion));
    assert.deepEqual([...versions].sort(), [0, 2, 3]);
    const { file, source } = await openFixture("userblock.h5");
    assert.equal(file.superblock.signatureOffset, 512);
    await source.close();
    const headerVersions = new Set<number>();
    for (const name of ["earliest.h5", "latest.h5"]) {
      const fx = await openFixture(name);
      for (const obj of await fx.file.objects()) headerVersions.add((await fx.file.header(obj.address)).version);
      await fx.source.close();
    }
    assert.deepEqual([...headerVersions].sort(), [1, 2]);
  });

  test("dense links and dense attributes are present in the latest-format file", async () => {
    const { file, source } = await openFixture("latest.h5");
    const seen = { denseLinks: false, denseAttributes: false };
    for (const obj of await file.objects()) {
      const header = await file.header(obj.address);
      for (const m of header.messages) {
        const body = m.body.bytes;
        // link info / attribute info with a defined fractal heap address (not all 0xff)
        if (m.type === 0x0002 || m.type === 0x0015) {
          const offset = 2 + (m.type === 0x0002 ? (body[1]! & 1 ? 8 : 0) : body[1]! & 1 ? 2 : 0);
          const heap = body.subarray(offset, offset + 8);
          if (!heap.every((b) => b === 0xff)) seen[m.type === 0x0002 ? "denseLinks" : "denseAttributes"] = true;
        }
      }
    }
    await source.close();
    assert.deepEqual(seen, { denseLinks: true, denseAttributes: true });
  });
});

describe("round trips", () => {
  test("siblings are read concurrently during a walk", async () => {
    const bytes = new Uint8Array(await readFile(join(dir, "latest.h5")));
    const source = new MemorySource(bytes, "mem://latest.h5", { delayMs: 5 });
    const file = await Hdf5File.open(source);
    for (const obj of await file.objects()) void obj;
    assert.ok(source.peakConcurrency >= 8, `peak concurrency ${source.peakConcurrency}`);
  });

  test("an object header is read with one request", async () => {
    const bytes = new Uint8Array(await readFile(join(dir, "himawari_l3c.nc")));
    const source = new MemorySource(bytes, "mem://himawari.nc", { delayMs: 0 });
    const file = await Hdf5File.open(source);
    const root = await file.root();
    const sst = root.links.find((l) => l.name === "sea_surface_temperature");
    assert.ok(sst && sst.kind === "hard");
    // Opening the root prefetches its children, so measure on a fresh file: open (superblock) + one header.
    const fresh = new MemorySource(bytes, "mem://himawari-2.nc", { delayMs: 0 });
    const second = await Hdf5File.open(fresh);
    const before = fresh.stats.requests;
    await second.header(sst.address);
    assert.equal(fresh.stats.requests - before, 1);
  });
});

describe("hostile input", () => {
  const isTyped = (e: unknown): boolean => e instanceof Hdf5FormatError || e instanceof UnsupportedFeatureError;

  async function exercise(source: MemorySource): Promise<void> {
    const file = await Hdf5File.open(source);
    for (const obj of await file.objects()) {
      if (obj.kind === "dataset") {
        await file.chunks(obj);
        if (obj.datatype.class === "vlen-string") await file.readVlenStrings(obj);
      }
    }
  }

  /** Read the file through: "read" when it reads, "typed" when a typed error stops it; any other error fails. */
  async function typedOrRead(source: MemorySource, what: string): Promise<"typed" | "read"> {
    try {
      await exercise(source);
      return "read";
    } catch (e) {
      if (isTyped(e)) return "typed";
      throw new Error(`${what}: untyped error ${(e as Error).stack ?? String(e)}`);
    }
  }

  /** The file must be refused with a typed error: reading it through is a failure too. */
  async function expectTyped(source: MemorySource, what: string): Promise<void> {
    assert.equal(await typedOrRead(source, what), "typed", `${what}: read without an error`);
  }

  test("superblock version 1 (h5py cannot write one): an empty new-style root group", async () => {
    const undefinedAddress = new Array<number>(8).fill(0xff);
    const { bytes } = syntheticV1File(
      () => [messageV1(0x0002, Uint8Array.from([0, 0, ...undefinedAddress, ...undefinedAddress])), messageV1(0x000a, Uint8Array.of(0, 0))],
      undefined,
      1,
    );
    const file = await Hdf5File.open(new MemorySource(bytes, "mem://superblock-v1"));
    assert.equal(file.superblock.version, 1);
    assert.equal(file.superblock.indexedStorageInternalNodeK, 32);
    const root = await file.root();
    assert.deepEqual({ kind: root.kind, path: root.path, links: root.links, address: root.address }, { kind: "group", path: "/", links: [], address: HEADER_ADDRESS });
  });

  test("bytes that are not HDF5", async () => {
    const noise = new Uint8Array(5000).map((_, i) => (i * 7919) % 251);
    await assert.rejects(Hdf5File.open(new MemorySource(noise, "mem://noise")), Hdf5FormatError);
    await assert.rejects(Hdf5File.open(new MemorySource(new Uint8Array(0), "mem://empty")), Hdf5FormatError);
    await assert.rejects(Hdf5File.open(new MemorySource(Uint8Array.of(0x89, 0x48, 0x44), "mem://tiny")), Hdf5FormatError);
  });

  test("truncated files fail with typed errors", async () => {
    for (const name of ["earliest.h5", "latest.h5", "himawari_l3c.nc"]) {
      const bytes = new Uint8Array(await readFile(join(dir, name)));
      for (const length of [9, 40, 100, 300, 700, 1500, 3000, 6000, 12000, Math.floor(bytes.length / 2), bytes.length - 1]) {
        if (length >= bytes.length) continue;
        await expectTyped(new MemorySource(bytes.slice(0, length), `mem://${name}@${length}`), `${name} truncated at ${length}`);
      }
    }
  });

  test("a v1 continuation pointing into its own header is a format error", async () => {
    const { bytes, headerAddress } = syntheticV1File((header) => [continuation(header, 32)]);
    await assert.rejects(exercise(new MemorySource(bytes, "mem://self-continuation")), (e) => e instanceof Hdf5FormatError && /overlaps|cycle/.test(e.message));
    void headerAddress;
  });

  test("a continuation cycle between two chunks is a format error", async () => {
    // Chunk A (in the header) -> chunk B at 512 -> chunk B again.
    const { bytes } = syntheticV1File(() => [continuation(512, 24)], (file) => {
      const chunk = messageV1(0x0010, addressAndLength(512, 24));
      file.set(chunk, 512);
    });
    await assert.rejects(exercise(new MemorySource(bytes, "mem://cycle")), (e) => e instanceof Hdf5FormatError && /cycle|overlaps|twice/.test(e.message));
  });

  test("offsets past the end and absurd sizes are format errors", async () => {
    const cases: [string, Uint8Array][] = [
      ["continuation past the end", syntheticV1File(() => [continuation(1 << 30, 64)]).bytes],
      ["continuation of absurd length", syntheticV1File(() => [continuation(512, 2 ** 40)]).bytes],
      ["message larger than its chunk", syntheticV1File(() => [rawMessageV1(0x0001, 0xfff0, new Uint8Array(8))]).bytes],
      ["symbol table past the end", syntheticV1File(() => [messageV1(0x0011, addressAndLength(2 ** 40, 2 ** 41))]).bytes],
      [
        "dataspace of absurd rank",
        syntheticV1File(() => [messageV1(0x0001, Uint8Array.of(1, 200, 0, 0, 0, 0, 0, 0)), messageV1(0x0008, Uint8Array.of(3, 1, ...le(96, 8), ...le(8, 8)))]).bytes,
      ],
    ];
    for (const [what, bytes] of cases) {
      await assert.rejects(exercise(new MemorySource(bytes, `mem://${what}`)), (e) => isTyped(e), what);
    }
    // Root object header address beyond the end of the file, in an otherwise valid superblock.
    const { bytes } = syntheticV1File(() => []);
    const patched = bytes.slice();
    patched.set(le(2 ** 40, 8), ROOT_ADDRESS_FIELD);
    await assert.rejects(Hdf5File.open(new MemorySource(patched, "mem://root-past-end")), Hdf5FormatError);
  });

  test("random corruption of metadata never escapes as an untyped error or a hang", async () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    for (const name of ["earliest.h5", "latest.h5", "himawari_l3c.nc", "netcdf_types.nc"]) {
      const original = new Uint8Array(await readFile(join(dir, name)));
      // Half the damage anywhere in the first 16 KiB, half inside header message bodies (where
      // datatypes, dataspaces, layouts and links are), found by reading the intact file first.
      const messageRanges: [number, number][] = [];
      const intact = await Hdf5File.open(new MemorySource(original, `mem://${name}`));
      for (const obj of await intact.objects()) {
        for (const m of (await intact.header(obj.address)).messages) {
          if (m.body.bytes.length > 0) messageRanges.push([intact.context.baseAddress + m.body.address, m.body.bytes.length]);
        }
      }
      const metadataEnd = Math.min(original.length, 16384);
      const outcomes = { typed: 0, read: 0 };
      for (let trial = 0; trial < 120; trial++) {
        const bytes = original.slice();
        const flips = 1 + Math.floor(random() * 4);
        for (let k = 0; k < flips; k++) {
          let at = Math.floor(random() * metadataEnd);
          if (trial % 2 === 1) {
            const [start, length] = messageRanges[Math.floor(random() * messageRanges.length)]!;
            at = start + Math.floor(random() * length);
          }
          bytes[at] = Math.floor(random() * 256);
        }
        const started = Date.now();
        // A flip may hit bytes nothing checks (reserved fields, names, padding): such a file reads.
        outcomes[await typedOrRead(new MemorySource(bytes, `mem://${name}#${trial}`), `${name} trial ${trial}`)]++;
        assert.ok(Date.now() - started < 10_000, `${name} trial ${trial} took too long`);
      }
      // The damage reached the parser: some trials were refused.
      assert.ok(outcomes.typed > 0, `${name}: no corruption refused (${JSON.stringify(outcomes)})`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A minimal synthetic file: superblock v0 (8-byte offsets and lengths) and one v1 object header
// at 96 whose messages the test chooses. Only used for damage the real libraries never write.

const HEADER_ADDRESS = 96;
/** Offset of the root entry's object header address in a v0 superblock with 8-byte fields. */
const ROOT_ADDRESS_FIELD = 24 + 4 * 8 + 8;

function le(value: number, size: number): number[] {
  const out: number[] = [];
  let v = value;
  for (let i = 0; i < size; i++) {
    out.push(v % 256);
    v = Math.floor(v / 256);
  }
  return out;
}

function addressAndLength(address: number, length: number): Uint8Array {
  return Uint8Array.from([...le(address, 8), ...le(length, 8)]);
}

function rawMessageV1(type: number, declaredSize: number, body: Uint8Array): Uint8Array {
  return Uint8Array.from([...le(type, 2), ...le(declaredSize, 2), 0, 0, 0, 0, ...body]);
}

function messageV1(type: number, body: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.ceil(body.length / 8) * 8);
  padded.set(body);
  return rawMessageV1(type, padded.length, padded);
}

function continuation(address: number, length: number): Uint8Array {
  return messageV1(0x0010, addressAndLength(address, length));
}

function syntheticV1File(
  messages: (headerAddress: number) => Uint8Array[],
  extra?: (file: Uint8Array) => void,
  superblockVersion: 0 | 1 = 0,
): { bytes: Uint8Array; headerAddress: number } {
  const file = new Uint8Array(1024);
  const superblock = [
    0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, // signature
    superblockVersion, 0, 0, 0, 0, 8, 8, 0, // versions, sizes of offsets and lengths
    ...le(4, 2), ...le(16, 2), ...le(0, 4), // group K values, consistency flags
    ...(superblockVersion === 1 ? [...le(32, 2), 0, 0] : []), // v1: indexed storage K, reserved
    ...le(0, 8), ...new Array<number>(8).fill(0xff), ...le(1024, 8), ...new Array<number>(8).fill(0xff),
    ...le(0, 8), ...le(HEADER_ADDRESS, 8), ...le(0, 4), ...le(0, 4), ...new Array<number>(16).fill(0),
  ];
  file.set(superblock, 0);
  const body = messages(HEADER_ADDRESS);
  const size = body.reduce((n, m) => n + m.length, 0);
  file.set([1, 0, ...le(body.length, 2), ...le(1, 4), ...le(size, 4), 0, 0, 0, 0], HEADER_ADDRESS);
  let at = HEADER_ADDRESS + 16;
  for (const m of body) {
    file.set(m, at);
    at += m.length;
  }
  extra?.(file);
  return { bytes: file, headerAddress: HEADER_ADDRESS };
}
