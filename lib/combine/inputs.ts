import { CombineError } from "../errors.js";
import type { KerchunkRefs } from "../refs/types.js";
import type { InputSet } from "./combine.js";
import { ReferenceReader } from "./fetch.js";
import { indexInput, type InputIndex } from "./inputIndex.js";
import type { S3ConnectionOptions } from "../source/s3Client.js";

/** Reference sets already in memory, each indexed once. */
export function memoryInputs(inputs: { refs: KerchunkRefs; label: string }[]): InputSet {
  const indexes = new Map<number, InputIndex>();
  return {
    count: inputs.length,
    label: (position) => inputs[position]!.label,
    load: async (position) => {
      let index = indexes.get(position);
      if (!index) {
        const input = inputs[position]!;
        index = indexInput(input.refs, input.label);
        indexes.set(position, index);
      }
      return index;
    },
  };
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
      return indexInput(parseRefsJson(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"), url), url);
    },
    close: () => reader.close(),
  };
}
