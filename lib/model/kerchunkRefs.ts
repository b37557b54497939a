/** A kerchunk reference: inline content, a whole file, or a byte range of a file. */
export type Reference = string | [url: string] | [url: string, offset: number, length: number];

/** fsspec ReferenceFileSystem JSON, version 1. */
export interface KerchunkRefs {
  version: 1;
  refs: Record<string, Reference>;
}
