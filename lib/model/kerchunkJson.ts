import { CombineError } from "../errors.js";
import type { KerchunkRefs, Reference } from "./kerchunkRefs.js";
import { referenceSetOf, type ReferenceSet } from "./referenceSet.js";

/**
 * Order of keys in written reference files: group metadata first, then per array its metadata and
 * chunks, chunks in numeric grid order ("t/10.0" after "t/9.0"). Any run over the same inputs
 * writes the same bytes, so outputs can be compared and re-runs detected byte for byte.
 */
export function compareRefKeys(a: string, b: string): number {
  const split = (key: string): [string, string] => {
    const slash = key.lastIndexOf("/");
    return slash < 0 ? ["", key] : [key.slice(0, slash), key.slice(slash + 1)];
  };
  const [dirA, leafA] = split(a);
  const [dirB, leafB] = split(b);
  if (dirA !== dirB) return dirA < dirB ? -1 : 1;
  const metaA = leafA.startsWith(".");
  const metaB = leafB.startsWith(".");
  if (metaA !== metaB) return metaA ? -1 : 1;
  if (metaA) return leafA < leafB ? -1 : leafA > leafB ? 1 : 0;
  const partsA = leafA.split(".");
  const partsB = leafB.split(".");
  for (let i = 0; i < Math.max(partsA.length, partsB.length); i++) {
    const x = partsA[i];
    const y = partsB[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = Number(x);
    const ny = Number(y);
    if (Number.isInteger(nx) && Number.isInteger(ny)) {
      if (nx !== ny) return nx - ny;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

/**
 * Compact kerchunk JSON v1 with keys in `compareRefKeys` order. `keysInOrder`: the object's keys
 * already are in that order (as `combineRefs` returns them), so the sort is skipped; the bytes are
 * the same. (The combine's streaming writer, lib/combine/jsonOutput.ts, writes these bytes too
 * without building the object; the combine tests compare the two.)
 */
export function serializeRefs(refs: KerchunkRefs, { keysInOrder = false }: { keysInOrder?: boolean } = {}): string {
  const keys = keysInOrder ? Object.keys(refs.refs) : Object.keys(refs.refs).sort(compareRefKeys);
  const parts = keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(refs.refs[key] as Reference)}`);
  return `{"version":1,"refs":{${parts.join(",")}}}`;
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
