/**
 * Where a worker process's CPU went, by thread and kind of work, from a `perf record -g` of it
 * (`bench/backfill/run.ts --perf FILE` records the measured run; the worker runs with
 * --perf-basic-prof so that JIT frames have names). A V8 CPU profile (`--cpu-prof`,
 * bench/profileSummary.ts) sees only the main thread's JavaScript; this sees every thread: V8's
 * optimizing compiler and GC helpers, libuv's pool doing file system calls in the kernel,
 * Temporal's workflow thread and its Rust core. For issue 20 (docs/benchmarks.md).
 *
 *   npx tsx bench/threadProfile.ts FILE.perf --pid WORKER_PID [--top 15]
 *
 * Each sample is put in one row: its thread (the main thread; another thread running JavaScript,
 * i.e. the workflow thread; Temporal's core (tokio); V8 and libuv helpers) and, by its stack, the
 * kind of work: optimizing compilation, garbage collection, file system calls, other.
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { pid: { type: "string" }, top: { type: "string", default: "15" } } });
const file = positionals[0];
if (!file || !values.pid) {
  console.error("usage: npx tsx bench/threadProfile.ts FILE.perf --pid WORKER_PID [--top 15]");
  process.exit(2);
}
const pid = values.pid;

const text = execFileSync("perf", ["script", "-i", file, "--pid", pid, "-F", "comm,tid,ip,sym,dso"], { maxBuffer: 1 << 30, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });

/** The kind of work a sample's stack (leaf first) shows. */
function kindOf(frames: string[]): string {
  const stack = frames.join("\n");
  if (/compiler::|Compile|Turbofan|Maglev/.test(stack)) return "optimizing compiler";
  if (/Scavenge|MarkCompact|Sweeper|Heap::|Marking|Evacuat|MinorMC|GCTracer/.test(stack)) return "garbage collection";
  if (/uv__fs_|__x64_sys_(openat|rename|unlink|mkdir|rmdir|statx|newfstatat|read|write|close|link|getdents64)\b/.test(stack) && !/JS:|Builtins_/.test(stack)) return "file system calls";
  return /JS:|Builtins_/.test(stack) ? "JavaScript" : "native and kernel";
}

const samples = new Map<string, number>();
const threadsWithJs = new Set<string>();
const parsed: { tid: string; comm: string; frames: string[] }[] = [];
for (const block of text.split("\n\n")) {
  const lines = block.split("\n").filter((l) => l.trim().length > 0);
  if (lines.length === 0) continue;
  const [comm, tid] = lines[0]!.trim().split(/\s+/);
  const frames = lines.slice(1).map((l) => l.trim().split(/\s+/).slice(1).join(" "));
  parsed.push({ tid: tid!, comm: comm!, frames });
  if (tid !== pid && frames.some((f) => f.startsWith("JS:") || f.startsWith("Builtins_"))) threadsWithJs.add(tid!);
}
for (const { tid, comm, frames } of parsed) {
  const thread = tid === pid ? "main thread" : comm.startsWith("tokio") || comm.startsWith("workflow-proces") ? "Temporal core (Rust)" : threadsWithJs.has(tid) ? "workflow thread (JavaScript)" : "V8 and libuv helpers";
  const key = `${thread} | ${kindOf(frames)}`;
  samples.set(key, (samples.get(key) ?? 0) + 1);
}
const total = parsed.length;
console.log(`${total} samples of pid ${pid}`);
console.log("| thread | kind of work | share |");
console.log("| --- | --- | --- |");
for (const [key, n] of [...samples].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  const [thread, kind] = key.split(" | ");
  console.log(`| ${thread} | ${kind} | ${((100 * n) / total).toFixed(1)} % |`);
}
