/**
 * The floors of the code (README "Layout", docs/design.md "Floors"), checked without servers: a
 * module imports only modules on lower floors (or its own files), and no chain of imports comes
 * back to where it started. Data flows one way: source → byte cache → HDF5 → reference model →
 * combine → writers → storage, with the backfill rules above them and Temporal on top.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { importsOf, resolveRelative } from "../worker/bundle.js";

const root = resolve(fileURLToPath(import.meta.url), "../..");

/**
 * Modules (a folder or a file) and their floor, lowest first. A module may import its own files and
 * modules on lower floors; modules on one floor know nothing of each other.
 */
export const floors: Record<string, number> = {
  "lib/errors.ts": 0,
  "lib/shape.ts": 0,
  "lib/concurrency.ts": 0,
  "lib/json": 0,
  "lib/settings": 1,
  "lib/calendar": 1,
  "lib/source": 1,
  "lib/servers": 1,
  "lib/storage": 2,
  "lib/codecs": 2,
  "lib/hdf5": 3,
  "lib/model": 3,
  "lib/datasets": 3,
  "lib/refs": 4,
  "lib/combine": 5,
  "lib/netcdf3": 5,
  "lib/icechunk": 6,
  "lib/translateFile.ts": 6,
  "lib/backfill/model": 7,
  "lib/census/model": 7,
  "lib/live/model": 7,
  "lib/backfill": 8,
  "lib/census": 9,
  "lib/live": 9,
  activities: 10,
  workflows: 10,
  worker: 11,
  cli: 12,
};

/** The most specific module a file belongs to ("lib/backfill/model" before "lib/backfill"). */
export function moduleOf(file: string): string | undefined {
  const path = relative(root, file);
  let best: string | undefined;
  for (const module of Object.keys(floors)) {
    if ((path === module || path.startsWith(`${module}/`)) && (best === undefined || module.length > best.length)) best = module;
  }
  return best;
}

function sourcesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sourcesUnder(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) found.push(path);
  }
  return found;
}

const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** Every relative import of `file` (static, re-exports, type-only and dynamic), as files. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...importsOf(file), ...[...text.matchAll(DYNAMIC)].map((m) => m[1]!)];
  return specifiers.filter((s) => s.startsWith(".")).map((s) => resolveRelative(file, s));
}

/** The import graph of the given files: file → the files it imports. */
export function importGraph(files: string[]): Map<string, string[]> {
  return new Map(files.map((file) => [file, relativeImports(file)]));
}

/** Imports that go up or sideways between modules, as "from → to" lines. */
export function wrongWayImports(graph: Map<string, string[]>): string[] {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    const from = moduleOf(file);
    for (const target of imports) {
      const to = moduleOf(target);
      if (from === undefined || to === undefined || from === to) continue;
      if (floors[to]! >= floors[from]!) wrong.push(`${relative(root, file)} → ${relative(root, target)} (${from}: floor ${floors[from]}, ${to}: floor ${floors[to]})`);
    }
  }
  return wrong;
}

/** A chain of imports that returns to its start, or undefined. */
export function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next].map((f) => relative(root, f));
      if (state.get(next) === undefined) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(file, "done");
    return undefined;
  };
  for (const file of graph.keys()) {
    if (state.get(file) === undefined) {
      const cycle = visit(file);
      if (cycle) return cycle;
    }
  }
  return undefined;
}

describe("floors", () => {
  const files = ["lib", "activities", "workflows", "worker", "cli"].flatMap((dir) => sourcesUnder(join(root, dir)));
  const graph = importGraph(files);

  test("every source file belongs to a module with a floor", () => {
    assert.ok(files.length > 100, `only ${files.length} files`);
    assert.deepEqual(files.filter((f) => moduleOf(f) === undefined).map((f) => relative(root, f)), []);
  });

  test("no import goes up a floor or sideways to another module on the same floor", () => {
    assert.deepEqual(wrongWayImports(graph), []);
  });

  test("no circular import", () => {
    assert.equal(findCycle(graph)?.join(" → "), undefined);
  });

  test("the checks see a wrong-way import and a cycle when there is one", () => {
    const model = join(root, "lib/model/referenceSet.ts");
    const combine = join(root, "lib/combine/combine.ts");
    const upward = new Map([[model, [combine]]]);
    assert.equal(wrongWayImports(upward).length, 1);
    const sideways = new Map([[join(root, "lib/hdf5/file.ts"), [model]]]);
    assert.equal(wrongWayImports(sideways).length, 1);
    assert.deepEqual(findCycle(new Map([[model, [combine]], [combine, [model]]])), ["lib/model/referenceSet.ts", "lib/combine/combine.ts", "lib/model/referenceSet.ts"]);
  });
});
