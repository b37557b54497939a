import type { KerchunkRefs, Reference } from "./types.js";

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
