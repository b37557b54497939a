/**
 * Eras in a store (issue 17): real archives drift, and a change one Zarr array cannot hold (packing
 * `scale_factor`/`add_offset`, dtype, chunk shape, codecs, fill value, units, the time calendar)
 * starts a new era instead of failing the day and blocking every later one.
 *
 * Layout: the root group is the first era, exactly as a store without drift holds it (so such a
 * store stays byte-identical); each later era is a group `era002`, `era003`, ... beside the root's
 * arrays, with its own arrays and its own concat coordinate, and group attributes recording where
 * it starts (`temporal_kerchunk_era`: its number, first day, first file, what changed). Later days
 * go to the latest era. Within an era variables may come and go (the group holds the union). What
 * one array can hold is the combine's rule (`structureDifference`, lib/combine/drift.ts), so a
 * store's eras begin where reference-file parts and the census's aggregates do; one more start is
 * the store's own: a variable whose chunks along time cannot follow the era's steps.
 *
 * A day whose files span two eras is split into runs of consecutive files one array each can hold, each
 * combined on its own and placed in its era: one commit, every time step exactly once.
 */
import type { Store } from "@earthmover/icechunk";
import { boundedAll } from "../concurrency.js";
import { IcechunkError } from "../errors.js";
import type { PyJsonValue } from "../json/pyJson.js";
import { pyJsonKey } from "../json/pyJsonParse.js";
import { chunkGrid } from "../shape.js";
import { appendDay, dayArrays, eraDifference, type AppendContext, type AppendResult } from "./append.js";
import type { EraPart } from "./commitMessage.js";
import type { DayReferences } from "./dayRefs.js";
import { placeDay, valuesInStoreUnits } from "./placement.js";
import type { SourceVersion } from "./sourceVersions.js";
import { readStoreState, type StoreState } from "./storeState.js";
import { chunkKey, inGroup, metadataText, parseMetadata, type V3GroupMetadata } from "./zarrV3.js";

/** The group attribute naming an era's start. */
export const ERA_ATTRIBUTE = "temporal_kerchunk_era";

/** The group of era `n` (1-based): "" (the root) for the first, then "era002", "era003", ... */
export const eraGroup = (n: number): string => (n === 1 ? "" : `era${String(n).padStart(3, "0")}`);

const eraGroupPattern = /^era(\d{3,})$/;

export interface StoredEra {
  group: string;
  state: StoreState;
}

/** The store's eras: their groups in time order, each one's state read when first asked for. */
export interface StoreEras {
  /** "" (the root group), then "era002", ...; empty for an empty store. */
  groups: string[];
  /** The number of the last era's group (1 for the root): the next era is one more. */
  last: number;
  era(index: number): Promise<StoredEra>;
}

/**
 * The store's eras in time order: the root group's, then each `eraNNN` group's. Only the group
 * list is read here; an era's arrays and coordinate are read when placing a day needs them (the
 * latest era for a day after the store's end, the usual case).
 */
export async function readEras(store: Store, description: string, dim: string, paths: readonly string[]): Promise<StoreEras> {
  if (!(await store.get("zarr.json"))) return { groups: [], last: 0, era: () => Promise.reject(new Error("an empty store has no era")) };
  const numbered = (await store.listDir(""))
    .map((name) => ({ name, n: Number(eraGroupPattern.exec(name)?.[1] ?? 0) }))
    .filter(({ n }) => n >= 2)
    .sort((a, b) => a.n - b.n);
  const groups = ["", ...numbered.map(({ name }) => name)];
  const read = new Map<number, Promise<StoredEra>>();
  const era = (index: number): Promise<StoredEra> => {
    let found = read.get(index);
    if (!found) {
      const group = groups[index]!;
      found = readStoreState(store, description, dim, paths, group).then((state) => {
        if (state.empty) throw new IcechunkError("not-our-store", description, `the era group '${group}' has no group metadata`, false);
        return { group, state };
      });
      read.set(index, found);
    }
    return found;
  };
  return { groups, last: numbered.length > 0 ? numbered[numbered.length - 1]!.n : 1, era };
}

/** Where a run of the day goes. */
export type RunPlacement =
  | { kind: "committed"; group: string }
  | { kind: "append"; group: string; state: StoreState; values: number[] }
  | { kind: "new-era"; group: string; era: number; state: StoreState; values: number[]; changes: string[] };

interface Context {
  store: string;
  day: string;
  dim: string;
}

const emptyState = (): StoreState => ({ empty: true, arrays: new Map(), values: [] });

/** The run's values in the era's units, or undefined when they cannot be compared (another calendar). */
function comparable(run: DayReferences, era: StoredEra, context: Context): { values?: number[]; why?: string } {
  try {
    return { values: valuesInStoreUnits(run, era.state.arrays.get(run.dim)!, context) };
  } catch (error) {
    if (error instanceof IcechunkError && (error.problem === "mismatched-calendar" || error.problem === "mismatched-time-units")) {
      const stored = era.state.arrays.get(run.dim)!.attributes;
      const show = (attrs: Record<string, PyJsonValue>): string => `units ${pyJsonKey(attrs.units ?? null)}, calendar ${pyJsonKey(attrs.calendar ?? null)}`;
      return { why: `${run.dim}: ${error.problem}: ${show(run.coordinateAttrs)} against the store's ${show(stored)}` };
    }
    throw error;
  }
}

/** What keeps the run out of the era: each array one array of the era cannot hold with it (`eraDifference`: the combine's rule). */
function changesAgainst(run: DayReferences, era: StoredEra): string[] {
  const changes: string[] = [];
  for (const { entry, meta, role } of dayArrays(run)) {
    if (role.kind === "coordinate") continue; // its calendar: `comparable`
    const stored = era.state.arrays.get(entry.path);
    const found = stored && eraDifference(stored, meta, entry.path, run, era.group);
    if (found) changes.push(`${entry.path}: ${found}`);
  }
  return changes;
}

/**
 * Arrays of the run whose chunks along the concat dimension cannot follow the era's steps (the era
 * ends inside one of their chunks): a variable that appears (or comes back) chunked by more than
 * one step. An Icechunk-only rule (a store grows arrays in place; reference-file parts start anew):
 * such a run starts a new era, where its chunks begin at 0, rather than failing the day.
 */
function misalignedAgainst(run: DayReferences, era: StoredEra): string[] {
  const length = era.state.values.length;
  return dayArrays(run).flatMap(({ entry, meta, role }) => {
    if (role.kind !== "along") return [];
    const chunk = meta.chunk_grid.configuration.chunk_shape[role.axis]!;
    if (length % chunk === 0) return [];
    const how = era.state.arrays.has(entry.path) ? "comes back" : "appears";
    return [`${entry.path}: ${how} after the era's ${length} steps along ${run.dim}, inside one of its chunks (chunk size ${chunk} along ${run.dim}): its chunks cannot follow them`];
  });
}

/**
 * Place a run of the day among the store's eras (newest first):
 *  - inside an era's range: committed before (exactly a stored run) or refused (`placeDay`);
 *  - between two eras, not stored: refused as out of order;
 *  - after the latest era: appended to it when it can hold the run and the run's chunks along the
 *    concat dimension can follow its steps (or when `split` is off: then the append fails as
 *    before, "mismatched-array" or "misaligned-chunks"), else the start of a new era.
 */
export async function placeRun(eras: StoreEras, run: DayReferences, context: Context, split: boolean): Promise<RunPlacement> {
  if (eras.groups.length === 0) return { kind: "new-era", group: eraGroup(1), era: 1, state: emptyState(), values: run.values, changes: [] };
  const latest = await eras.era(eras.groups.length - 1);
  let laterComparable = false;
  for (let e = eras.groups.length - 1; e >= 0; e--) {
    const era = await eras.era(e);
    const { values } = comparable(run, era, context);
    if (!values) continue;
    const stored = era.state.values;
    if (values[0]! > stored[stored.length - 1]!) {
      if (!laterComparable) break; // after the store's end
      throw new IcechunkError(
        "out-of-order",
        context.store,
        `the day's ${context.dim} values (${values[0]} to ${values[values.length - 1]}) fall between era '${era.group || "/"}' and the next one: ` +
          `a store grows only at its end, so days must be committed in calendar order`,
        false,
        { day: context.day, variable: context.dim },
      );
    }
    laterComparable = true;
    if (values[0]! < stored[0]! && e > 0) continue; // an earlier era's
    placeDay(stored, values, context); // committed, or an IcechunkError (out-of-order, partial-overlap)
    return { kind: "committed", group: era.group };
  }
  const { values, why } = comparable(run, latest, context);
  if (!split) {
    // As before eras existed: the append's own checks fail the day (valuesInStoreUnits, mismatched-array, ...).
    return { kind: "append", group: latest.group, state: latest.state, values: values ?? valuesInStoreUnits(run, latest.state.arrays.get(run.dim)!, context) };
  }
  const structural = values ? changesAgainst(run, latest) : [why!];
  const changes = structural.length > 0 ? structural : misalignedAgainst(run, latest);
  if (changes.length === 0) return { kind: "append", group: latest.group, state: latest.state, values: values! };
  const era = eras.last + 1;
  return { kind: "new-era", group: eraGroup(era), era, state: emptyState(), values: run.values, changes };
}

/** The era group's attribute: where it starts and why. */
function eraAttribute(era: number, day: string, firstFile: string | undefined, changes: readonly string[]): PyJsonValue {
  return { era, first_day: day, first_file: firstFile ?? null, changes: [...changes] };
}

/**
 * Write a run where `placeRun` put it (appended to its era, or the first run of a new one, whose
 * group then records where it starts and why): the one way a run is written, by the backfill's
 * `commitDay` and by live arrivals (lib/live/commit.ts), so both lay a store out alike.
 */
export async function writeRun(
  store: Store,
  run: DayReferences,
  placement: Exclude<RunPlacement, { kind: "committed" }>,
  versions: ReadonlyMap<string, SourceVersion>,
  context: AppendContext,
  split: boolean,
): Promise<{ appended: AppendResult; part: EraPart; storeLength: number }> {
  const appended = await appendDay(store, run, placement.state, placement.values, versions, { ...context, group: placement.group, union: split });
  if (placement.kind === "new-era" && placement.era > 1) {
    // The era group records where it starts and why (the first run wrote its attributes).
    const group = (await groupMetadata(store, placement.group))!;
    group.attributes = { ...group.attributes, [ERA_ATTRIBUTE]: eraAttribute(placement.era, context.day, run.firstFile ?? appended.files[0], placement.changes) };
    await store.set(inGroup(placement.group, "zarr.json"), Buffer.from(metadataText(group), "utf8"));
  }
  const values = placement.values;
  return { appended, part: { group: placement.group, steps: values.length, first: values[0]!, last: values[values.length - 1]! }, storeLength: placement.state.values.length + values.length };
}

/** Where a rewrite cuts the store: the era, the steps of it that stay, the stored steps from there on, whether a writer appended since (`findTail`). */
export interface StoreTail {
  era: number;
  keep: number;
  stepsAfter: number;
  moved: boolean;
}

/**
 * Where a rewrite from `first` (the first run to write again) begins among the store's eras: the
 * era holding the first stored step at or after the run's first value, and how many of its steps
 * stay; every later era goes. `stepsAfter`: the stored steps from there to the store's end; `moved`:
 * whether any is after `last`'s last value (a writer appended since the rewrite was planned).
 * Undefined: the run is after the store's end (nothing to cut). Eras are read from the newest back
 * to the cut (usually only the newest). An era whose calendar the run cannot be compared with (a
 * change of calendar) is passed when the era after it begins with the run's first file (a retry of
 * the commit that began it); otherwise the cut cannot be found: `live-calendar`, a backfill's work.
 * (A run after the store's end needs no cut: the caller knows that from the store's records.)
 */
export async function findTail(store: Store, eras: StoreEras, first: DayReferences, last: DayReferences, context: Context): Promise<StoreTail | undefined> {
  let tail: StoreTail | undefined;
  let stepsAfter = 0;
  let moved = false;
  for (let e = eras.groups.length - 1; e >= 0; e--) {
    const era = await eras.era(e);
    const from = comparable(first, era, context).values?.[0];
    if (from === undefined) {
      if (tail && first.firstFile !== undefined && (await eraStart(store, eras.groups[e + 1]!))?.first_file === first.firstFile) break;
      throw new IcechunkError("live-calendar", context.store, `the era '${era.group || "/"}' has another calendar than the files from ${context.day}: a rewrite across it is a backfill's work (a new store)`, false, { day: context.day, variable: first.dim });
    }
    const stored = era.state.values;
    const keep = stored.filter((v) => v < from).length;
    if (keep === stored.length) break;
    const until = comparable(last, era, context).values;
    if (until && stored[stored.length - 1]! > until[until.length - 1]!) moved = true;
    stepsAfter += stored.length - keep;
    tail = { era: e, keep, stepsAfter, moved };
    if (keep > 0) break;
  }
  return tail;
}

/** An era group's `temporal_kerchunk_era` attribute (where it starts), if it has one. */
async function eraStart(store: Store, group: string): Promise<{ first_file?: string } | undefined> {
  return (await groupMetadata(store, group))?.attributes[ERA_ATTRIBUTE] as { first_file?: string } | undefined;
}

/** A group's metadata in the store, if the group is there. */
async function groupMetadata(store: Store, group: string): Promise<V3GroupMetadata | undefined> {
  const bytes = await store.get(inGroup(group, "zarr.json"));
  return bytes ? (parseMetadata(new TextDecoder().decode(bytes)) as V3GroupMetadata) : undefined;
}

/**
 * Cut the store back to `tail` in the session: the eras after its era deleted, its era's arrays
 * along the concat dimension shortened to the steps that stay (or the era deleted when none
 * stays; the whole store when that is the first era). Returns the keys of the chunks past the cut
 * in the era it shortened, for `removeStale`. What is left is the store as committing the days
 * before the cut left it, so the days from there are placed and written as a backfill would.
 */
export async function cutTail(store: Store, eras: StoreEras, tail: StoreTail, dim: string): Promise<string[]> {
  const stale: string[] = [];
  for (let e = eras.groups.length - 1; e > tail.era; e--) await store.deleteDir(eras.groups[e]!);
  if (tail.keep === 0) {
    if (tail.era === 0) await store.clear();
    else await store.deleteDir(eras.groups[tail.era]!);
    return stale;
  }
  const { group, state } = await eras.era(tail.era);
  for (const [path, meta] of state.arrays) {
    const axis = meta.dimension_names?.indexOf(dim) ?? -1;
    if (axis < 0) continue;
    await store.set(inGroup(group, `${path}/zarr.json`), Buffer.from(metadataText({ ...meta, shape: meta.shape.map((n, i) => (i === axis ? tail.keep : n)) }), "utf8"));
    // The chunks past the cut: a rewritten step whose file lacks a chunk (a variable it no longer
    // has) must read as the fill value, not as the old file's chunk. Removed once the rewritten
    // days are written (`removeStale`): a removal before the array grows again does not hold.
    const chunks = meta.chunk_grid.configuration.chunk_shape;
    const grid = chunkGrid(meta.shape, chunks);
    const visit = (index: number[]): void => {
      if (index.length === grid.length) return void stale.push(chunkKey(inGroup(group, path), index));
      const i = index.length;
      for (let k = i === axis ? Math.ceil(tail.keep / chunks[axis]!) : 0; k < grid[i]!; k++) visit([...index, k]);
    };
    visit([]);
  }
  return stale;
}

/** The chunks past a cut (`cutTail`) that the rewritten days did not write again. */
export async function removeStale(store: Store, stale: readonly string[], written: ReadonlySet<string>): Promise<void> {
  await boundedAll(stale.filter((key) => !written.has(key)), 16, (key) => store.delete(key));
}
