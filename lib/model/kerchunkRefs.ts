/** A kerchunk reference: inline content, a whole file, or a byte range of a file. */
export type Reference = string | [url: string] | [url: string, offset: number, length: number];

/** fsspec ReferenceFileSystem JSON, version 1. */
export interface KerchunkRefs {
  version: 1;
  refs: Record<string, Reference>;
}

/** The lowest offset of any byte range the references point at (a file's first chunk): undefined when none does. */
export function firstRangeOffset(refs: KerchunkRefs): number | undefined {
  let first: number | undefined;
  for (const reference of Object.values(refs.refs)) {
    if (typeof reference !== "string" && reference.length === 3 && (first === undefined || reference[1] < first)) first = reference[1];
  }
  return first;
}
