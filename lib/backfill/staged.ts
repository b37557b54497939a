/**
 * A staged extraction: one source file's kerchunk references, plus the version of the file they
 * were read from (S3 ETag or local modification time), which an Icechunk commit pins every virtual
 * reference to. Recorded at extraction, so a file replaced between its extraction and its day's
 * commit fails at read time instead of being pinned to the newer file. Readers of plain kerchunk
 * JSON (the combine) ignore the extra `source` key.
 */
import type { SourceVersion } from "../source/byteSource.js";
import { serializeRefs } from "../model/kerchunkJson.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";

interface StagedSource {
  url: string;
  etag?: string;
  lastModified?: string;
}

export function serializeStaged(refs: KerchunkRefs, url: string, version: SourceVersion | undefined): string {
  const text = serializeRefs(refs);
  if (!version) return text;
  const source: StagedSource = "etag" in version ? { url, etag: version.etag } : { url, lastModified: version.lastModified.toISOString() };
  return `${text.slice(0, -1)},"source":${JSON.stringify(source)}}`;
}

/** The source version a staged file recorded, if any (files staged by older workers have none). */
export function stagedSourceVersion(parsed: KerchunkRefs): [string, SourceVersion] | undefined {
  const source = (parsed as KerchunkRefs & { source?: StagedSource }).source;
  if (!source || typeof source.url !== "string") return undefined;
  if (typeof source.etag === "string") return [source.url, { etag: source.etag }];
  if (typeof source.lastModified === "string" && !Number.isNaN(Date.parse(source.lastModified))) return [source.url, { lastModified: new Date(source.lastModified) }];
  return undefined;
}
