/**
 * One measurement of our combine, in its own process so peak memory is its own.
 * usage: tsx bench/combine/ours.ts MODE LIST_FILE [OUT]   -> one JSON line on stdout
 *   memory   inputs read and parsed first (not timed); time combineRefs (incl. coordinate reads)
 *            and, separately, serializing the result to JSON (the MultiZarrToZarr.translate() equivalent)
 *   json     end to end: writeCombinedReferences(files → OUT.json)
 *   parquet  end to end, streaming: writeCombinedReferences(files → OUT.parq)
 */
import { readFile } from "node:fs/promises";
import { combineRefs, writeCombinedReferences, type CombineOptions } from "../../lib/combine/index.js";
import { parseRefsJson } from "../../lib/model/kerchunkJson.js";

const [mode, listFile, out] = process.argv.slice(2);
const files = (await readFile(listFile!, "utf8")).split("\n").filter(Boolean);
const options: CombineOptions = { concatDims: ["time"], cooMap: { time: "data:time" }, identicalDims: ["lat", "lon"] };
const peakMiB = (): number => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;

if (mode === "memory") {
  const inputs = await Promise.all(files.map(async (f) => parseRefsJson(await readFile(f, "utf8"), f)));
  const started = performance.now();
  const result = await combineRefs(inputs, options);
  const combineMs = performance.now() - started;
  const serializeStarted = performance.now();
  const json = result.json();
  const serializeMs = performance.now() - serializeStarted;
  console.log(JSON.stringify({ mode, inputs: files.length, combineMs, serializeMs, bytes: json.length, chunkRefs: result.summary.chunkRefs, peakRssMiB: peakMiB() }));
} else {
  const started = performance.now();
  const summary = await writeCombinedReferences(files, out!, { ...options, format: mode === "parquet" ? "parquet" : "json" });
  const wallMs = performance.now() - started;
  console.log(JSON.stringify({ mode, inputs: files.length, wallMs, chunkRefs: summary.chunkRefs, reads: summary.reads, peakRssMiB: peakMiB() }));
}
