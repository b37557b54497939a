/**
 * Staged per-file references carry the stored bytes of the chunks the day's combine reads from
 * every file (its time value, the identical latitudes and longitudes: issue 20), so the combine
 * sends no request to the source. Checked on local files: once staged, the sources are removed,
 * and the day must still come out byte for byte as the combine of plain staged files (read from
 * the sources) wrote it.
 */
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { aggregatePeriod } from "../lib/backfill/aggregate.js";
import { extractToStaging } from "../lib/backfill/extract.js";
import { outputKey } from "../lib/backfill/names.js";
import { readStaged } from "../lib/backfill/staged.js";
import { openStorage, resolveDatasetSpec } from "../lib/datasets/spec.js";
import { rangeKey } from "../lib/model/chunkBytes.js";
import { makeArchive, testDataset } from "./harness/archive.js";
import { testDir } from "./harness/env.js";

const DAY = "2022-01-01";

test("staged files carry their coordinate chunks: the day's combine needs no source, and writes the same bytes", () => carriesCoordinates([30, 60], false));

// The real product's 18,000 longitudes, stored as netCDF-C stores a dimension coordinate by
// default, without filters: 72 kB, more than a staged file carried before files of that size were
// measured.
test("the same with the real product's longitudes (72 kB, unfiltered)", () => carriesCoordinates([30, 18_000], true));

async function carriesCoordinates(grid: [number, number], plainCoordinates: boolean): Promise<void> {
  const dir = await testDir("staged-bytes");
  const archive = join(dir, "archive");
  const keys = await makeArchive(archive, DAY, 1, { hours: 3, grid, plainCoordinates });
  const spec = (output: string) => resolveDatasetSpec(testDataset("staged", { kind: "local", path: archive }, { kind: "local", path: join(dir, output) }));
  const carrying = spec("carrying");
  const plain = spec("plain");
  const carryingStorage = openStorage(carrying.output.storage);
  const plainStorage = openStorage(plain.output.storage);
  const decoder = new TextDecoder();

  const staged: string[] = [];
  for (const key of keys) {
    const { staged: stagedKey } = await extractToStaging(carrying, DAY, key);
    staged.push(stagedKey);
    const parsed = JSON.parse(decoder.decode(await carryingStorage.read(stagedKey))) as { refs: Record<string, unknown>; chunkBytes?: Record<string, string> };
    // The arrays the combine reads (cooMap time: data:time, identicalDims lat and lon), each the file's own bytes.
    assert.deepEqual(Object.keys(parsed.chunkBytes ?? {}).sort(), ["lat/0", "lon/0", "time/0"], stagedKey);
    const file = await readFile(join(archive, key));
    for (const [chunk, base64] of Object.entries(parsed.chunkBytes!)) {
      const [, offset, length] = parsed.refs[chunk] as [string, number, number];
      assert.ok(Buffer.from(base64, "base64").equals(file.subarray(offset, offset + length)), `${stagedKey}: ${chunk} carries the file's bytes`);
    }
    // The same references as files staged before carrying (no chunkBytes), for the plain day.
    const { chunkBytes: _, ...without } = parsed;
    await plainStorage.write(stagedKey, new TextEncoder().encode(JSON.stringify(without)));
  }

  // Carried bytes that do not fit their reference (another length) are not trusted: the source is read.
  const text = decoder.decode(await carryingStorage.read(staged[0]!));
  const set = readStaged(text, "staged");
  const time = set.arrays.get("time")!.chunkRefs[0] as [string, number, number];
  assert.ok(set.knownBytes?.has(rangeKey(...time)), "the time chunk's bytes are known");
  const parsed = JSON.parse(text) as { chunkBytes: Record<string, string> };
  parsed.chunkBytes["time/0"] = Buffer.from("short").toString("base64");
  assert.equal(readStaged(JSON.stringify(parsed), "staged").knownBytes?.has(rangeKey(...time)), false, "bytes of another length are left out");

  // The plain day, combined from the sources, then the sources are gone.
  await aggregatePeriod(plain, DAY, staged);
  await rm(archive, { recursive: true });
  await aggregatePeriod(carrying, DAY, staged);
  const expected = await plainStorage.read(outputKey(plain, DAY));
  assert.ok(Buffer.from(await carryingStorage.read(outputKey(carrying, DAY))).equals(Buffer.from(expected)), "the same day, byte for byte");

  // Without the carried bytes the combine reads the sources: now gone, it fails (the check above could).
  const again = spec("plain-again");
  const againStorage = openStorage(again.output.storage);
  for (const key of staged) await againStorage.write(key, await plainStorage.read(key));
  await assert.rejects(aggregatePeriod(again, DAY, staged));
  await Promise.all([carryingStorage.close(), plainStorage.close(), againStorage.close()]);
}
