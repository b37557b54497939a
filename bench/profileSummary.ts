/**
 * Where a V8 CPU profile's time went (`node --cpu-prof`), by area of code (this repository's
 * modules, the AWS SDK, Temporal's SDK, node internals, GC) and by function: self time, and
 * inclusive time for our entry points. For the throughput work (issue 20) and its benchmarks.
 *
 *   npx tsx bench/profileSummary.ts PROFILE.cpuprofile [--top 40] [--skip-ms N] [--until-ms N] [--timeline] [--callers FUNCTION]
 *
 * --skip-ms leaves out the profile's first N ms (a worker's start-up, before the measured run),
 * --until-ms what came after its first N ms (e.g. a worker's first month apart from its second);
 * --timeline prints the busy ms of each second of the profile, to tell where such windows lie.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "40" }, callers: { type: "string" }, "skip-ms": { type: "string", default: "0" }, "until-ms": { type: "string" }, timeline: { type: "boolean", default: false }, other: { type: "boolean", default: false } } });
const profile = JSON.parse(readFileSync(positionals[0]!, "utf8")) as Profile;

/** The area a frame belongs to. */
export function area(url: string, name: string): string {
  if (name === "(garbage collector)") return "GC";
  if (name === "(idle)") return "idle";
  if (name === "(program)") return "program (native, unattributed)";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) {
    const pkg = m[1]!;
    if (pkg.startsWith("@aws-sdk") || pkg.startsWith("@smithy") || pkg.startsWith("@aws-crypto")) return `aws sdk (${pkg})`;
    if (pkg.startsWith("@temporalio")) return `temporal (${pkg})`;
    return pkg;
  }
  const lib = /\/(lib|activities|worker|workflows|cli)\/([^/]+)/.exec(url);
  if (lib) return `${lib[1]}/${lib[2]!.replace(/\.[jt]s$/, "")}`;
  if (url.startsWith("node:")) return `node (${url.slice(5).split("/")[0]})`;
  if (url === "") return `native (${name || "anonymous"})`;
  return url;
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>();
let clock = 0;
const skipUs = Number(values["skip-ms"]) * 1000;
const untilUs = values["until-ms"] === undefined ? Infinity : Number(values["until-ms"]) * 1000;
const busyBySecond: number[] = [];
profile.samples.forEach((id, i) => {
  clock += profile.timeDeltas[i] ?? 0;
  if (byId.get(id)!.callFrame.functionName !== "(idle)") busyBySecond[Math.floor(clock / 1e6)] = (busyBySecond[Math.floor(clock / 1e6)] ?? 0) + (profile.timeDeltas[i] ?? 0);
  if (clock >= skipUs && clock < untilUs) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
if (values.timeline) console.log(`busy ms by second: ${Array.from(busyBySecond, (us, s) => `${s}:${Math.round((us ?? 0) / 1000)}`).join(" ")}`);

const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === "(idle)").reduce((a, [, t]) => a + t, 0);
const busy = total - idle;
const byArea = new Map<string, number>();
const byFunction = new Map<string, number>();
// Inclusive time per area: a sample counts once for every distinct area on its stack.
const inclusiveArea = new Map<string, number>();
for (const [id, t] of self) {
  const node = byId.get(id)!;
  const a = area(node.callFrame.url, node.callFrame.functionName);
  byArea.set(a, (byArea.get(a) ?? 0) + t);
  const f = `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.replace(/.*\/(node_modules|wt-[^/]+)\//, "")}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(f, (byFunction.get(f) ?? 0) + t);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const c = byId.get(cur)!.callFrame;
    seen.add(area(c.url, c.functionName));
  }
  for (const s of seen) inclusiveArea.set(s, (inclusiveArea.get(s) ?? 0) + t);
}
/**
 * The step of the worker's path a sample belongs to: the innermost frame of ours (or of a library
 * we call) on its stack names it, so time in node's internals, natives and GC under, say, the S3
 * reads counts for the S3 reads. GC and idle stand alone.
 */
function step(id: number): string {
  const leaf = byId.get(id)!.callFrame;
  if (leaf.functionName === "(garbage collector)") return "GC";
  if (leaf.functionName === "(program)") return "native, unattributed";
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const { url } = byId.get(cur)!.callFrame;
    // .js too: a worker run as deployed (`run.ts --compiled`) runs dist/, not the sources.
    if (/lib\/source\/(s3Get|sigv4|s3|s3Client)\.[jt]s|@smithy|@aws-sdk|@aws-crypto/.test(url)) return "S3 requests (SDK, light GETs, signing)";
    if (/lib\/source\//.test(url)) return "byte cache";
    if (/lib\/hdf5\//.test(url)) return "HDF5 parse";
    if (/lib\/(refs|netcdf3)\/|lib\/translateFile/.test(url)) return "refs (translation)";
    if (/lib\/(combine|model|json)\//.test(url)) return "refs model, JSON, combine";
    if (/lib\/storage\//.test(url)) return "staging and outputs (storage)";
    if (/lib\/backfill\/|activities\//.test(url)) return "backfill steps (extract, day, staging)";
    if (/@temporalio|rxjs|protobufjs|long\.js|proto3-json/.test(url)) return "Temporal SDK (activity dispatch, workflows, payloads)";
  }
  return "other (node internals, module loading, ...)";
}
const bySteps = new Map<string, number>();
const otherRoots = new Map<string, number>();
for (const [id, t] of self) {
  if (byId.get(id)!.callFrame.functionName === "(idle)") continue;
  const k = step(id);
  bySteps.set(k, (bySteps.get(k) ?? 0) + t);
  if (k.startsWith("other")) {
    // The outermost frames below the root say what kind of work it was (a timer, an I/O callback, ...).
    const frames: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) frames.push(byId.get(cur)!.callFrame.functionName || "(anon)");
    const key = `${frames.at(-2) ?? ""} > ${frames.at(-3) ?? ""} ... ${frames[0]}`;
    otherRoots.set(key, (otherRoots.get(key) ?? 0) + t);
  }
}

const ms = (us: number): string => (us / 1000).toFixed(0).padStart(7);
const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
console.log(`profile: ${ms(total)} ms sampled, ${ms(busy)} ms busy (not idle)`);
console.log("\nby step (the innermost of our steps on the stack; share of busy):");
for (const [k, t] of [...bySteps].sort((x, y) => y[1] - x[1])) console.log(`${ms(t)} ms ${pct(t)}  ${k}`);
if (values.other) {
  console.log("\n'other', by outermost frames ... leaf:");
  for (const [k, t] of [...otherRoots].sort((x, y) => y[1] - x[1]).slice(0, 25)) console.log(`${ms(t)} ms  ${k}`);
}
console.log("\nself time by area (share of busy):");
for (const [a, t] of [...byArea].filter(([a]) => a !== "idle").sort((x, y) => y[1] - x[1]).slice(0, 30)) console.log(`${ms(t)} ms ${pct(t)}  ${a}`);
console.log("\ninclusive time by area (share of busy; a sample counts for every area on its stack):");
for (const [a, t] of [...inclusiveArea].filter(([a]) => a !== "idle").sort((x, y) => y[1] - x[1]).slice(0, 30)) console.log(`${ms(t)} ms ${pct(t)}  ${a}`);
console.log(`\nself time by function (top ${values.top}):`);
for (const [f, t] of [...byFunction].sort((x, y) => y[1] - x[1]).slice(0, Number(values.top))) console.log(`${ms(t)} ms ${pct(t)}  ${f}`);

// --callers NAME: the stacks (outermost areas first) under which a function's self time was spent.
const callersOf = process.argv.indexOf("--callers");
if (callersOf > 0) {
  const name = process.argv[callersOf + 1]!;
  const stacks = new Map<string, number>();
  for (const [id, t] of self) {
    if (byId.get(id)!.callFrame.functionName !== name) continue;
    const frames: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && frames.length < 8; cur = parent.get(cur)) {
      const c = byId.get(cur)!.callFrame;
      frames.push(`${c.functionName || "(anon)"}@${c.url.replace(/.*\//, "")}`);
    }
    const key = frames.join(" < ");
    stacks.set(key, (stacks.get(key) ?? 0) + t);
  }
  console.log(`\ncallers of ${name}:`);
  for (const [s, t] of [...stacks].sort((x, y) => y[1] - x[1]).slice(0, 12)) console.log(`${ms(t)} ms  ${s}`);
}
