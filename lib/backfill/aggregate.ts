import { combineRefs } from "../combine/index.js";
import { parseRefsJson } from "../model/kerchunkJson.js";
import { openStorage, s3ConnectionOf, type ResolvedDatasetSpec } from "../datasets/spec.js";
import type { AggregateSummary } from "./model/steps.js";
import { outputKey } from "./names.js";
import type { Tries } from "./sources.js";

/**
 * Combine reference files (a day's staged per-file refs, or a month's day outputs, or a year's
 * month outputs) into the period's output, written once and atomically: when another run wrote
 * it first, that output stands and this one reports "existing".
 */
export async function aggregatePeriod(
  spec: ResolvedDatasetSpec,
  period: string,
  inputKeys: string[],
  options: { removeInputs?: boolean } & Tries = {},
): Promise<AggregateSummary> {
  const storage = openStorage(spec.output.storage, options.tries);
  const key = outputKey(spec, period);
  try {
    const existing = async (): Promise<AggregateSummary> => {
      // Inputs of a finished period are not needed any more (another run may have staged them too).
      if (options.removeInputs) await Promise.all(inputKeys.map((k) => storage.delete(k)));
      return { output: storage.url(key), existing: true, inputs: inputKeys.length, chunkRefs: 0 };
    };
    if (await storage.exists(key)) return existing();
    const inputs = await Promise.all(
      inputKeys.map(async (inputKey) => {
        const label = storage.url(inputKey);
        let bytes: Uint8Array;
        try {
          bytes = await storage.read(inputKey);
        } catch (error) {
          // A concurrent run over the same period may have written it and removed the staging.
          if (await storage.exists(key)) return undefined;
          throw error;
        }
        // The combine library's own parser: checks the version and rejects templates, naming the file.
        return { label, refs: parseRefsJson(new TextDecoder().decode(bytes), label) };
      }),
    );
    if (inputs.some((i) => i === undefined)) return existing();
    const present = inputs.filter((i): i is NonNullable<typeof i> => i !== undefined);
    // Coordinates that are not inline are read from the sources, with the source storage's settings.
    const source = spec.source.storage;
    const combined = await combineRefs(
      present.map((i) => i.refs),
      {
        ...spec.combine,
        labels: present.map((i) => i.label),
        ...(source.kind === "s3" ? { s3: { ...s3ConnectionOf(source), ...(options.tries ? { maxAttempts: options.tries } : {}) } } : {}),
      },
    );
    // json() writes the per-array lists straight out: no object of a million keys is built.
    const written = await storage.write(key, combined.json(), { ifAbsent: true });
    if (!written) return existing();
    if (options.removeInputs) await Promise.all(inputKeys.map((k) => storage.delete(k)));
    return { output: storage.url(key), existing: false, inputs: present.length, chunkRefs: combined.summary.chunkRefs };
  } finally {
    await storage.close();
  }
}
