/**
 * Kerchunk's Parquet reference layout (what `kerchunk.df.refs_to_dataframe` and our streaming
 * writer, lib/combine/parquetOutput.ts, write) read into the reference model: `.zmetadata` holds
 * every metadata key and `record_size`; row i of `<array>/refs.<n>.parq` is the chunk with C-order
 * flat index n * record_size + i (a null path and no raw bytes: a missing chunk). Chunk keys are
 * the grid index joined by "." (a 0-d array's one chunk is "0"), so a set read from our Parquet
 * output writes the JSON our JSON output holds (test/combine.test.ts).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parquetReadObjects } from "hyparquet";
import { CombineError } from "../errors.js";
import { chunkKeyGrid, product } from "../shape.js";
import { arrayMetadata } from "./arrayMetadata.js";
import { inlineReference } from "./chunkBytes.js";
import type { Reference } from "./kerchunkRefs.js";
import type { ArrayReferences, GroupReferences, ReferenceSet } from "./referenceSet.js";

/** Where the JSON value starting at `from` ends (exclusive): strings skipped, brackets matched. */
function valueEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth === 0) return i + 1;
    } else if (c === "{" || c === "[") {
      depth++;
    } else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
      if (depth < 0) return i;
    } else if (depth === 0 && c === ",") {
      return i;
    }
  }
  return text.length;
}

/** The members of the JSON object at `from` as [key, the value's text as written]. */
function rawMembers(text: string, from: number, label: string): [string, string][] {
  const members: [string, string][] = [];
  let at = text.indexOf("{", from) + 1;
  const skipSpace = (): void => {
    while (/\s/.test(text[at] ?? "")) at++;
  };
  skipSpace();
  while (text[at] === '"') {
    const keyEnd = valueEnd(text, at);
    const key = JSON.parse(text.slice(at, keyEnd)) as string;
    at = keyEnd;
    skipSpace();
    if (text[at] !== ":") throw new CombineError("invalid-input", label, undefined, ".zmetadata is not a JSON object of metadata");
    at++;
    skipSpace();
    const end = valueEnd(text, at);
    members.push([key, text.slice(at, end).trim()]);
    at = end;
    skipSpace();
    if (text[at] === ",") at++;
    skipSpace();
  }
  return members;
}

/** Reads one file of a Parquet reference folder by its path inside it (".zmetadata", "sst/refs.0.parq"). */
export type ParquetFolderReader = (path: string) => Promise<Uint8Array>;

/**
 * Read the Parquet reference folder `root` (a local path, or any folder `read` reads: an output
 * storage's, say) into a reference set named `label`.
 */
export async function readKerchunkParquet(root: string, label = root, read: ParquetFolderReader = (path) => readFile(join(root, ...path.split("/")))): Promise<ReferenceSet> {
  const text = new TextDecoder().decode(await read(".zmetadata"));
  const top = new Map(rawMembers(text, 0, label));
  const recordSize = Number(top.get("record_size"));
  const metadata = top.get("metadata");
  if (metadata === undefined || !Number.isInteger(recordSize) || recordSize < 1) {
    throw new CombineError("invalid-input", label, undefined, ".zmetadata has no metadata or no record_size");
  }
  const byDir = new Map<string, Map<string, string>>();
  for (const [key, value] of rawMembers(metadata, 0, label)) {
    const slash = key.lastIndexOf("/");
    const dir = slash < 0 ? "" : key.slice(0, slash);
    if (!byDir.has(dir)) byDir.set(dir, new Map());
    byDir.get(dir)!.set(key.slice(slash + 1), value);
  }
  const arrays = new Map<string, ArrayReferences>();
  const groups = new Map<string, GroupReferences>();
  for (const [path, texts] of byDir) {
    const zarray = texts.get(".zarray");
    if (zarray === undefined) {
      groups.set(path, { path, zgroup: texts.get(".zgroup"), zattrs: texts.get(".zattrs") });
      continue;
    }
    const array: ArrayReferences = { path, zarray, zattrs: texts.get(".zattrs"), chunkKeys: [], chunkRefs: [] };
    const { shape, chunks } = arrayMetadata(array);
    const grid = chunkKeyGrid(shape, chunks);
    const count = product(grid);
    for (let record = 0; record * recordSize < count; record++) {
      const bytes = await read(`${path}/refs.${record}.parq`);
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const rows = (await parquetReadObjects({ file, columns: ["path", "offset", "size", "raw"], utf8: false })) as {
        path: string | null;
        offset: bigint | number;
        size: bigint | number;
        raw: Uint8Array | null;
      }[];
      rows.forEach((row, i) => {
        let ref: Reference;
        if (row.path !== null && row.path !== undefined) {
          const offset = Number(row.offset);
          const size = Number(row.size);
          ref = offset === 0 && size === 0 ? [row.path] : [row.path, offset, size];
        } else if (row.raw !== null && row.raw !== undefined) {
          ref = inlineReference(row.raw);
        } else {
          return; // a missing chunk
        }
        let flat = record * recordSize + i;
        const index = new Array<number>(grid.length);
        for (let axis = grid.length - 1; axis >= 0; axis--) {
          index[axis] = flat % grid[axis]!;
          flat = Math.floor(flat / grid[axis]!);
        }
        array.chunkKeys.push(`${path}/${shape.length === 0 ? "0" : index.join(".")}`);
        array.chunkRefs.push(ref);
      });
    }
    arrays.set(path, array);
  }
  return { label, arrays, groups };
}
