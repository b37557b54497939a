/**
 * A staged extraction: one source file's kerchunk references, plus the version of the file they
 * were read from (S3 ETag or local modification time), which an Icechunk commit pins every virtual
 * reference to. Recorded at extraction, so a file replaced between its extraction and its day's
 * commit fails at read time instead of being pinned to the newer file. Also the stored bytes of
 * the chunks the day's combine reads from every file (`chunkBytes`), so it reads none from the
 * source. Readers of plain kerchunk JSON ignore both extra keys.
 */
import type { SourceVersion } from "../source/byteSource.js";
import { rangeKey, type KnownBytes } from "../model/chunkBytes.js";
import { parseRefsJson, serializeRefs } from "../model/kerchunkJson.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import { referenceSetOf, type ReferenceSet } from "../model/referenceSet.js";

interface StagedSource {
  url: string;
  etag?: string;
  lastModified?: string;
}

/**
 * The staged JSON: the refs, then `source` (the version read) and `chunkBytes` (the stored bytes
 * of some chunks, base64, by chunk key: the coordinate chunks the day's combine would otherwise
 * read from the source, read at extraction from the same version).
 */
export function serializeStaged(refs: KerchunkRefs, url: string, version: SourceVersion | undefined, chunkBytes: ReadonlyMap<string, Uint8Array> = new Map()): string {
  const text = serializeRefs(refs);
  const extra: string[] = [];
  if (version) {
    const source: StagedSource = "etag" in version ? { url, etag: version.etag } : { url, lastModified: version.lastModified.toISOString() };
    extra.push(`"source":${JSON.stringify(source)}`);
  }
  if (chunkBytes.size > 0) {
    const carried = [...chunkBytes].map(([key, bytes]) => `${JSON.stringify(key)}:"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")}"`);
    extra.push(`"chunkBytes":{${carried.join(",")}}`);
  }
  return extra.length === 0 ? text : `${text.slice(0, -1)},${extra.join(",")}}`;
}

/**
 * A staged file as the combine's reference set, with the chunk bytes it carries as `knownBytes`
 * (`stagedReferenceSet`).
 */
export function readStaged(text: string, label: string): ReferenceSet {
  const parsed = parseRefsJson(text, label);
  const carried = (parsed as KerchunkRefs & { chunkBytes?: unknown }).chunkBytes;
  const bytes = new Map<string, Uint8Array>();
  if (carried && typeof carried === "object") {
    for (const [key, value] of Object.entries(carried as Record<string, unknown>)) {
      if (typeof value !== "string") continue;
      const decoded = Buffer.from(value, "base64");
      bytes.set(key, new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength));
    }
  }
  return stagedReferenceSet(parsed, label, bytes);
}

/**
 * A file's references as the combine's reference set, with the chunk bytes carried beside them
 * (by chunk key) as `knownBytes`: as read back from its staged JSON (`readStaged`), or as held in
 * memory by the step that extracted it. Carried bytes whose chunk is not a byte range of that
 * length are left out (the combine then reads the source, as for files staged by older workers,
 * which carry none).
 */
export function stagedReferenceSet(refs: KerchunkRefs, label: string, carried: ReadonlyMap<string, Uint8Array>): ReferenceSet {
  const set = referenceSetOf(refs, label);
  if (carried.size === 0) return set;
  const known: KnownBytes = new Map();
  for (const [key, bytes] of carried) {
    const ref = refs.refs[key];
    if (!Array.isArray(ref) || ref.length !== 3) continue;
    const [url, offset, length] = ref as [string, number, number];
    if (bytes.length === length) known.set(rangeKey(url, offset, length), bytes);
  }
  return known.size > 0 ? { ...set, knownBytes: known } : set;
}

/** The source version a staged file recorded, if any (files staged by older workers have none). */
export function stagedSourceVersion(parsed: KerchunkRefs): [string, SourceVersion] | undefined {
  const source = (parsed as KerchunkRefs & { source?: StagedSource }).source;
  if (!source || typeof source.url !== "string") return undefined;
  if (typeof source.etag === "string") return [source.url, { etag: source.etag }];
  if (typeof source.lastModified === "string" && !Number.isNaN(Date.parse(source.lastModified))) return [source.url, { lastModified: new Date(source.lastModified) }];
  return undefined;
}
