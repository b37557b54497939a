import type { KerchunkRefs, Reference } from "../model/kerchunkRefs.js";
import type { ArrayReferences, GroupReferences, ReferenceSet } from "../model/referenceSet.js";
import type { CombinedArray, RefSink } from "./combine.js";

interface ArrayChunks {
  flat: number[];
  leaves: string[];
  refs: Reference[];
  sorted: boolean;
}

/**
 * Collects combined references into one kerchunk JSON object whose keys are inserted in
 * `compareRefKeys` order (group metadata, then per array its metadata and its chunks in grid
 * order). Chunks arrive in grid order in the usual case, so the only sort is by a number, and only
 * for arrays whose concat axis is not the first; its JSON is then the bytes `serializeRefs` writes,
 * without sorting millions of keys by string comparisons.
 */
export class JsonRefSink implements RefSink {
  readonly wantsKeys = true;
  private readonly metadataByDir = new Map<string, Map<string, string>>();
  private readonly chunksByArray = new Map<string, ArrayChunks>();

  declareArray(array: CombinedArray): void {
    this.chunksByArray.set(array.path, { flat: [], leaves: [], refs: [], sorted: true });
  }

  metadata(key: string, text: string): void {
    const slash = key.lastIndexOf("/");
    const dir = slash < 0 ? "" : key.slice(0, slash);
    let leaves = this.metadataByDir.get(dir);
    if (!leaves) {
      leaves = new Map();
      this.metadataByDir.set(dir, leaves);
    }
    leaves.set(key.slice(slash + 1), text);
  }

  chunk(array: CombinedArray, flatIndex: number, leaf: string | undefined, ref: Reference): void {
    const chunks = this.chunksByArray.get(array.path)!;
    const n = chunks.flat.length;
    if (n > 0 && chunks.flat[n - 1]! >= flatIndex) chunks.sorted = false;
    chunks.flat.push(flatIndex);
    chunks.leaves.push(leaf!);
    chunks.refs.push(ref);
  }

  async settled(): Promise<void> {}

  /**
   * Every key and value in `compareRefKeys` order, without building an object of millions of keys
   * (which costs more, in hashing and garbage collection, than the whole combine).
   */
  *entries(): Generator<[string, Reference]> {
    for (const { prefix, metadata, chunks, order } of this.ordered()) {
      for (const [leaf, text] of metadata) yield [prefix + leaf, text];
      if (!chunks) continue;
      for (let k = 0; k < chunks.flat.length; k++) {
        const i = order ? order[k]! : k;
        yield [prefix + chunks.leaves[i]!, chunks.refs[i]!];
      }
    }
  }

  private *ordered(): Generator<{ prefix: string; metadata: [string, string][]; chunks: ArrayChunks | undefined; order: number[] | undefined }> {
    const dirs = [...new Set([...this.metadataByDir.keys(), ...this.chunksByArray.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const dir of dirs) {
      const metadata = this.metadataByDir.get(dir);
      const chunks = this.chunksByArray.get(dir);
      let order: number[] | undefined;
      if (chunks && !chunks.sorted) {
        order = chunks.flat.map((_, i) => i).sort((a, b) => chunks.flat[a]! - chunks.flat[b]!);
        for (let k = 1; k < order.length; k++) {
          if (chunks.flat[order[k]!] === chunks.flat[order[k - 1]!]) throw new Error(`combine emitted chunk ${chunks.leaves[order[k]!]} of ${dir} twice`);
        }
      }
      yield {
        prefix: dir ? `${dir}/` : "",
        metadata: metadata ? [...metadata.keys()].sort().map((leaf) => [leaf, metadata.get(leaf)!]) : [],
        chunks,
        order,
      };
    }
  }

  /** The combined references as an object (keys inserted in canonical order). */
  result(): KerchunkRefs {
    const refs: Record<string, Reference> = {};
    for (const [key, value] of this.entries()) refs[key] = value;
    return { version: 1, refs };
  }

  /**
   * The combined references as the reference model (what `referenceSetOf(result())` gives), built
   * from the per-array lists: a writer that takes the model (Icechunk) needs no object of every key.
   */
  referenceSet(label: string): ReferenceSet {
    const arrays = new Map<string, ArrayReferences>();
    const groups = new Map<string, GroupReferences>();
    for (const { prefix, metadata, chunks, order } of this.ordered()) {
      const path = prefix.slice(0, -1);
      const texts = new Map(metadata);
      const zarray = texts.get(".zarray");
      if (zarray !== undefined) {
        const chunkKeys: string[] = [];
        const chunkRefs: Reference[] = [];
        for (let k = 0; k < (chunks?.flat.length ?? 0); k++) {
          const i = order ? order[k]! : k;
          chunkKeys.push(prefix + chunks!.leaves[i]!);
          chunkRefs.push(chunks!.refs[i]!);
        }
        arrays.set(path, { path, zarray, zattrs: texts.get(".zattrs"), chunkKeys, chunkRefs });
      } else if (texts.has(".zgroup") || texts.has(".zattrs")) {
        groups.set(path, { path, zgroup: texts.get(".zgroup"), zattrs: texts.get(".zattrs") });
      }
    }
    return { label, arrays, groups };
  }

  /**
   * Compact kerchunk JSON v1, byte for byte what `serializeRefs` writes for `result()`, as UTF-8
   * bytes. Written straight from the per-array lists: the JSON text of each distinct URL and array
   * prefix is computed once, chunk leaves are digits and dots, so most of the work is copying.
   */
  toJsonBuffer(): Buffer {
    const pieces: Buffer[] = [];
    let segment = '{"version":1,"refs":{';
    let first = true;
    const urlJson = new Map<string, string>();
    const flush = (): void => {
      pieces.push(Buffer.from(segment, "utf8"));
      segment = "";
    };
    for (const { prefix, metadata, chunks, order } of this.ordered()) {
      const keyStart = JSON.stringify(prefix).slice(0, -1); // '"prefix' without the closing quote
      for (const [leaf, text] of metadata) {
        segment += `${first ? "" : ","}${JSON.stringify(prefix + leaf)}:${JSON.stringify(text)}`;
        first = false;
      }
      if (!chunks) continue;
      for (let k = 0; k < chunks.flat.length; k++) {
        const i = order ? order[k]! : k;
        const ref = chunks.refs[i]!;
        let value: string;
        if (typeof ref === "string") {
          value = JSON.stringify(ref);
        } else {
          const url = ref[0];
          let quoted = urlJson.get(url);
          if (quoted === undefined) {
            quoted = JSON.stringify(url);
            urlJson.set(url, quoted);
          }
          value = ref.length === 1 ? `[${quoted}]` : `[${quoted},${ref[1]},${ref[2]}]`;
        }
        segment += `${first ? "" : ","}${keyStart}${chunks.leaves[i]!}":${value}`;
        first = false;
        if (segment.length > 1 << 16) flush();
      }
    }
    segment += "}}";
    flush();
    return Buffer.concat(pieces);
  }
}
