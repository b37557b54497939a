/**
 * The combine benchmark: one month (744 hourly reference sets) and one year (8,760) of synthetic
 * Himawari-8 L3C SST references (bench/combine/generate.ts), combined along time by us and by
 * kerchunk's MultiZarrToZarr in the same run, each measurement in its own process (peak RSS is
 * that process's). Results go to stdout as a Markdown table and to .work/bench-combine/results.json.
 *
 * usage: npx tsx bench/combine/run.ts [--skip-kerchunk-year] [--kerchunk-timeout SECONDS]
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const work = join(root, ".work/bench-combine");
const python = join(root, ".venv/bin/python");
const skipKerchunkYear = process.argv.includes("--skip-kerchunk-year");
const timeoutArg = process.argv.indexOf("--kerchunk-timeout");
const kerchunkTimeout = timeoutArg > 0 ? Number(process.argv[timeoutArg + 1]) : 1800;

interface Row {
  set: string;
  who: string;
  what: string;
  ms?: number;
  serializeMs?: number;
  peakRssMiB?: number;
  note?: string;
}

async function child(command: string, args: string[], timeoutMs = 3_600_000): Promise<Record<string, number | string>> {
  const { stdout } = await run(command, args, { cwd: root, maxBuffer: 1 << 26, timeout: timeoutMs });
  return JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, number | string>;
}

const rows: Row[] = [];
for (const [set, hours] of [["month", 744], ["year", 8760]] as const) {
  const dir = join(work, set);
  const list = join(dir, "list.txt");
  if (!existsSync(list)) await run(process.execPath, ["--import", "tsx", "bench/combine/generate.ts", dir, String(hours)], { cwd: root });
  const ours = (mode: string, out: string) => child(process.execPath, ["--import", "tsx", "bench/combine/ours.ts", mode, list, join(dir, out)]);
  if (set === "month") {
    const memory = await ours("memory", "");
    rows.push({ set, who: "ours", what: "combineRefs on parsed inputs (+ JSON bytes)", ms: Number(memory.combineMs), serializeMs: Number(memory.serializeMs), peakRssMiB: Number(memory.peakRssMiB) });
  }
  const json = await ours("json", "combined.json");
  rows.push({ set, who: "ours", what: "files → JSON file, end to end", ms: Number(json.wallMs), peakRssMiB: Number(json.peakRssMiB) });
  const parquet = await ours("parquet", "combined.parq");
  rows.push({ set, who: "ours", what: "files → Parquet folder, streaming, end to end", ms: Number(parquet.wallMs), peakRssMiB: Number(parquet.peakRssMiB) });
  if (set === "year" && skipKerchunkYear) {
    rows.push({ set, who: "kerchunk", what: "MultiZarrToZarr.translate() on parsed inputs", note: "skipped (--skip-kerchunk-year)" });
    continue;
  }
  try {
    const k = await child(python, ["bench/combine/kerchunk_combine.py", list], kerchunkTimeout * 1000);
    rows.push({ set, who: "kerchunk", what: "MultiZarrToZarr.translate() on parsed inputs (+ ujson.dumps)", ms: Number(k.combineMs), serializeMs: Number(k.serializeMs), peakRssMiB: Number(k.peakRssMiB) });
  } catch (error) {
    const e = error as { killed?: boolean; signal?: string; code?: number; message: string };
    rows.push({ set, who: "kerchunk", what: "MultiZarrToZarr.translate() on parsed inputs", note: e.killed ? `did not finish within ${kerchunkTimeout} s` : `failed: ${e.signal ?? e.code ?? ""} ${e.message.split("\n")[0]}` });
  }
}

await writeFile(join(work, "results.json"), JSON.stringify(rows, null, 2));
const fmt = (n: number | undefined): string => (n === undefined ? "" : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);
console.log("| set | who | what | time | serialize | peak RSS |\n| --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(`| ${r.set} | ${r.who} | ${r.what} | ${r.note ?? fmt(r.ms)} | ${fmt(r.serializeMs)} | ${r.peakRssMiB === undefined ? "" : `${Math.round(r.peakRssMiB)} MiB`} |`);
}
