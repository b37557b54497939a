import { CombineError } from "../errors.js";
import type { KerchunkRefs, Reference } from "./kerchunkRefs.js";
import { referenceSetOf, type ReferenceSet } from "./referenceSet.js";

/**
 * Order of keys in written reference files: group metadata first, then per array its metadata and
 * chunks, chunks in numeric grid order ("t/10.0" after "t/9.0"). Any run over the same inputs
 * writes the same bytes, so outputs can be compared and re-runs detected byte for byte.
 */
export function compareRefKeys(a: string, b: string): number {
  // Compared in place (no slices or splits: staging sorts every file's keys with it, and a
  // comparison that allocates made a tenth of the worker's garbage, issue 20).
  const slashA = a.lastIndexOf("/");
  const slashB = b.lastIndexOf("/");
  const dirs = compareSpans(a, 0, Math.max(slashA, 0), b, 0, Math.max(slashB, 0));
  if (dirs !== 0) return dirs;
  const leafA = slashA + 1;
  const leafB = slashB + 1;
  const metaA = a.charCodeAt(leafA) === 46; /* "." */
  const metaB = b.charCodeAt(leafB) === 46;
  if (metaA !== metaB) return metaA ? -1 : 1;
  if (metaA) return compareSpans(a, leafA, a.length, b, leafB, b.length);
  // The leaf's "."-separated parts: numbers by value, other parts as text; fewer parts first.
  let i = leafA;
  let j = leafB;
  for (;;) {
    if (i > a.length) return j > b.length ? 0 : -1;
    if (j > b.length) return 1;
    let endA = a.indexOf(".", i);
    if (endA < 0) endA = a.length;
    let endB = b.indexOf(".", j);
    if (endB < 0) endB = b.length;
    const nx = partNumber(a, i, endA);
    const ny = partNumber(b, j, endB);
    if (Number.isInteger(nx) && Number.isInteger(ny)) {
      if (nx !== ny) return nx - ny;
    } else {
      const text = compareSpans(a, i, endA, b, j, endB);
      if (text !== 0) return text;
    }
    i = endA + 1;
    j = endB + 1;
  }
}

/** `a.slice(fromA, toA)` against `b.slice(fromB, toB)` as `<` compares strings, without slicing. */
function compareSpans(a: string, fromA: number, toA: number, b: string, fromB: number, toB: number): number {
  const length = Math.min(toA - fromA, toB - fromB);
  for (let k = 0; k < length; k++) {
    const x = a.charCodeAt(fromA + k);
    const y = b.charCodeAt(fromB + k);
    if (x !== y) return x < y ? -1 : 1;
  }
  const rest = toA - fromA - (toB - fromB);
  return rest === 0 ? 0 : rest < 0 ? -1 : 1;
}

/** `Number(key.slice(from, to))`, read in place when the part is plain digits (a chunk index). */
function partNumber(key: string, from: number, to: number): number {
  if (to - from > 15) return Number(key.slice(from, to));
  let value = 0;
  for (let k = from; k < to; k++) {
    const digit = key.charCodeAt(k) - 48;
    if (digit < 0 || digit > 9) return Number(key.slice(from, to));
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Compact kerchunk JSON v1 with keys in `compareRefKeys` order. `keysInOrder`: the object's keys
 * already are in that order (as `combineRefs` returns them), so the sort is skipped; the bytes are
 * the same. (The combine's streaming writer, lib/combine/jsonOutput.ts, writes these bytes too
 * without building the object; the combine tests compare the two.)
 */
export function serializeRefs(refs: KerchunkRefs, { keysInOrder = false }: { keysInOrder?: boolean } = {}): string {
  const keys = keysInOrder ? Object.keys(refs.refs) : Object.keys(refs.refs).sort(compareRefKeys);
  if (keys.some(isArrayIndex)) {
    const parts = keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(refs.refs[key] as Reference)}`);
    return `{"version":1,"refs":{${parts.join(",")}}}`;
  }
  // The same bytes from one JSON.stringify, which writes an object's keys in insertion order
  // (a third less CPU than an entry at a time: a staged Himawari-sized file's 1,642 keys, issue
  // 20). Not where a key is an array index ("0", a root array's chunk): objects put those first.
  const ordered: Record<string, Reference> = {};
  for (let i = 0; i < keys.length; i++) ordered[keys[i]!] = refs.refs[keys[i]!] as Reference;
  return JSON.stringify({ version: 1, refs: ordered });
}

/** Whether `key` is an array index, which an object orders before its other keys (ECMA-262 OrdinaryOwnPropertyKeys). */
function isArrayIndex(key: string): boolean {
  return /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 4294967295;
}

/** Parse kerchunk JSON (version 1, or version 0: a bare key → reference object). */
export function parseRefsJson(text: string, label: string): KerchunkRefs {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CombineError("invalid-input", label, undefined, `not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object") throw new CombineError("invalid-input", label, undefined, "not a kerchunk reference object");
  const object = parsed as { version?: unknown; refs?: unknown; templates?: unknown };
  if (object.templates && Object.keys(object.templates).length > 0) {
    throw new CombineError("invalid-input", label, undefined, "reference templates are not supported; expand them first");
  }
  if (object.version === 1 && object.refs && typeof object.refs === "object") return parsed as KerchunkRefs;
  if (object.version === undefined) return { version: 1, refs: parsed as KerchunkRefs["refs"] };
  throw new CombineError("invalid-input", label, undefined, `unsupported reference version ${String(object.version)}`);
}

/** Kerchunk JSON text as a reference set (the model the combine and the writers take). */
export function readKerchunkJson(text: string, label: string): ReferenceSet {
  return referenceSetOf(parseRefsJson(text, label), label);
}

/**
 * A reference set as compact kerchunk JSON v1, keys in `compareRefKeys` order: for a set read from
 * our own output, the bytes it was read from (test/refs.test.ts and test/combine.test.ts check
 * this on every fixture). Keys the set does not model (consolidated `.zmetadata`, chunk keys of no
 * array) are not written.
 */
export function serializeReferenceSet(set: ReferenceSet): string {
  const parts: string[] = [];
  const entry = (key: string, value: Reference): number => parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  const dirs = [...new Set([...set.groups.keys(), ...set.arrays.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const dir of dirs) {
    const prefix = dir ? `${dir}/` : "";
    const array = set.arrays.get(dir);
    const group = set.groups.get(dir);
    if (array) {
      entry(`${prefix}.zarray`, array.zarray);
      if (array.zattrs !== undefined) entry(`${prefix}.zattrs`, array.zattrs);
      const order = array.chunkKeys.map((_, i) => i);
      if (!array.chunkKeys.every((key, i) => i === 0 || compareRefKeys(array.chunkKeys[i - 1]!, key) < 0)) {
        order.sort((i, j) => compareRefKeys(array.chunkKeys[i]!, array.chunkKeys[j]!));
      }
      for (const i of order) entry(array.chunkKeys[i]!, array.chunkRefs[i]!);
    } else if (group) {
      if (group.zattrs !== undefined) entry(`${prefix}.zattrs`, group.zattrs);
      if (group.zgroup !== undefined) entry(`${prefix}.zgroup`, group.zgroup);
    }
  }
  return `{"version":1,"refs":{${parts.join(",")}}}`;
}
