/**
 * What V8's optimizing compiler did in a worker, from its log when run with `--trace-opt
 * --trace-deopt[-verbose]` (e.g. `bench/backfill/run.ts ... --worker-node-arg=--trace-opt
 * --worker-node-arg=--trace-deopt`): optimizing jobs and their compile time, by function, the
 * repeated compilations (a function compiled again after a deoptimization: compile time paid twice),
 * and the deoptimizations with their reasons (and, with -verbose, the source position of each),
 * the lazy ones for "code dependencies" included: optimized code V8 throws away because an
 * assumption it was compiled under broke elsewhere (a map's field generalised, a protector cell).
 * Only what follows the worker's "polling" line counts (start-up left out) unless --all.
 *
 *   npx tsx bench/compileTrace.ts WORKER.log [--top 30] [--all]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "30" }, all: { type: "boolean", default: false } } });
const lines = readFileSync(positionals[0]!, "utf8").split("\n");
const start = values.all ? 0 : Math.max(0, lines.findIndex((l) => /polling \d+ ms after start/.test(l)));

const compileMs = new Map<string, number>();
const jobs = new Map<string, number>();
const deopts = new Map<string, number>();
let totalMs = 0;
let totalJobs = 0;
let lastDeopt: string | undefined;
for (const line of lines.slice(start)) {
  const done = /completed (?:compiling|optimizing) \S+ <JSFunction (.*?) ?\(sfi = (\w+)\)>.*took ([\d.]+), ([\d.]+), ([\d.]+) ms/.exec(line);
  if (done) {
    // Keyed by the function's shared info: functions of the same name are told apart.
    const name = `${done[1] || "(anonymous)"} ${done[2]}`;
    const ms = Number(done[3]) + Number(done[4]) + Number(done[5]);
    compileMs.set(name, (compileMs.get(name) ?? 0) + ms);
    jobs.set(name, (jobs.get(name) ?? 0) + 1);
    totalMs += ms;
    totalJobs++;
    continue;
  }
  const bailout = /bailout \(kind: ([^,]+), reason: ([^)]*)\): begin\. deoptimizing \S+ <JSFunction (.*?) ?\(sfi/.exec(line);
  if (bailout) {
    lastDeopt = `${bailout[3] || "(anonymous)"}: ${bailout[1]}, ${bailout[2]}`;
    deopts.set(lastDeopt, (deopts.get(lastDeopt) ?? 0) + 1);
    continue;
  }
  // No bailout line for these: the code is marked, and compiled again when next hot.
  const dependent = /marking dependent code \S+ <Code TURBOFAN> \(\S+ <SharedFunctionInfo ?(.*?)>\) .*reason: (.*)\]/.exec(line);
  if (dependent) {
    const what = `${dependent[1] || "(anonymous)"}: lazy, ${dependent[2]}`;
    deopts.set(what, (deopts.get(what) ?? 0) + 1);
    continue;
  }
  const at = /;;; deoptimize at <([^>]+)>/.exec(line);
  if (at && lastDeopt) {
    const where = `${lastDeopt} at ${at[1]!.replace(/^file:\/\/.*?\/(dist|node_modules)\//, "$1/")}`;
    deopts.set(where, (deopts.get(where) ?? 0) + 1);
    deopts.set(lastDeopt, deopts.get(lastDeopt)! - 1);
    if (deopts.get(lastDeopt) === 0) deopts.delete(lastDeopt);
    lastDeopt = undefined;
  }
}
const repeated = [...jobs].filter(([, n]) => n > 1);
const repeatedMs = repeated.reduce((sum, [name, n]) => sum + (compileMs.get(name)! * (n - 1)) / n, 0);
console.log(`${totalJobs} optimizing jobs, ${totalMs.toFixed(0)} ms of compile time; functions compiled more than once: ${repeated.length}, about ${repeatedMs.toFixed(0)} ms of it again`);
console.log(`\ncompile time by function (top ${values.top}): ms, jobs, function and its shared info`);
for (const [name, ms] of [...compileMs].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${ms.toFixed(1).padStart(8)} ${String(jobs.get(name)).padStart(3)}  ${name}`);
console.log(`\ndeoptimizations (${[...deopts.values()].reduce((a, b) => a + b, 0)}):`);
for (const [what, n] of [...deopts].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(4)}  ${what}`);
