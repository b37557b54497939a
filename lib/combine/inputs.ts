import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import { parseRefsJson } from "../model/kerchunkJson.js";
import type { InputSet } from "./combine.js";
import { ReferenceReader } from "../model/chunkBytes.js";
import { referenceSetOf, type ReferenceSet } from "../model/referenceSet.js";
import type { S3ConnectionOptions } from "../source/s3Client.js";

/** Reference sets already in memory, each indexed once. */
export function memoryInputs(inputs: { refs: KerchunkRefs; label: string }[]): InputSet {
  const indexes = new Map<number, ReferenceSet>();
  return {
    count: inputs.length,
    label: (position) => inputs[position]!.label,
    load: async (position) => {
      let index = indexes.get(position);
      if (!index) {
        const input = inputs[position]!;
        index = referenceSetOf(input.refs, input.label);
        indexes.set(position, index);
      }
      return index;
    },
  };
}

/**
 * Reference files (local paths or s3:// URLs) read when needed and not kept: the survey reads each
 * once, the emit pass reads each again, so memory holds a few inputs at a time whatever their number.
 */
export function fileInputs(urls: string[], s3: S3ConnectionOptions = {}): InputSet & { close(): Promise<void> } {
  const reader = new ReferenceReader(s3, 32);
  return {
    count: urls.length,
    label: (position) => urls[position]!,
    load: async (position) => {
      const url = urls[position]!;
      const bytes = await reader.read([url]);
      return referenceSetOf(parseRefsJson(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"), url), url);
    },
    close: () => reader.close(),
  };
}
