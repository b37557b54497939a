import { combineRefsAcrossDrift } from "../combine/index.js";
import { parseRefsJson } from "../model/kerchunkJson.js";
import { openStorage, s3ConnectionOf, type ResolvedDatasetSpec } from "../datasets/spec.js";
import type { AggregateSummary } from "./model/steps.js";
import { outputKey, outputPartKey } from "./names.js";
import { periodOutputKeys, type Tries } from "./sources.js";

/**
 * Combine reference files (a day's staged per-file refs, or a month's day outputs, or a year's
 * month outputs, in time order) into the period's output, written once and atomically: when
 * another run wrote it first, that output stands and this one reports "existing".
 *
 * Where the inputs' layout drifts (issue 17) and the dataset's `drift` is "split" (the default),
 * the period gets one output per run of inputs one array can hold (`outputPartKey`:
 * "<period>.era001of002.json", ...), each written once; variables that appear or disappear are
 * held as a union. Without drift it writes the one output it always wrote, byte for byte.
 */
export async function aggregatePeriod(
  spec: ResolvedDatasetSpec,
  period: string,
  inputKeys: string[],
  options: { removeInputs?: boolean } & Tries = {},
): Promise<AggregateSummary> {
  const storage = openStorage(spec.output.storage, options.tries);
  try {
    const summary = (keys: string[], existing: boolean, chunkRefs: number, inputs: number): AggregateSummary => {
      const urls = keys.map((k) => storage.url(k));
      return { output: urls[0]!, ...(urls.length > 1 ? { outputs: urls } : {}), existing, inputs, chunkRefs };
    };
    const existing = async (keys: string[]): Promise<AggregateSummary> => {
      // Inputs of a finished period are not needed any more (another run may have staged them too).
      if (options.removeInputs) await Promise.all(inputKeys.map((k) => storage.delete(k)));
      return summary(keys, true, 0, inputKeys.length);
    };
    const found = await periodOutputKeys(spec, storage, period);
    if (found) return existing(found);
    const inputs = await Promise.all(
      inputKeys.map(async (inputKey) => {
        const label = storage.url(inputKey);
        let bytes: Uint8Array;
        try {
          bytes = await storage.read(inputKey);
        } catch (error) {
          // A concurrent run over the same period may have written it and removed the staging.
          if (await periodOutputKeys(spec, storage, period)) return undefined;
          throw error;
        }
        // The combine library's own parser: checks the version and rejects templates, naming the file.
        return { label, refs: parseRefsJson(new TextDecoder().decode(bytes), label) };
      }),
    );
    if (inputs.some((i) => i === undefined)) return existing((await periodOutputKeys(spec, storage, period))!);
    const present = inputs.filter((i): i is NonNullable<typeof i> => i !== undefined);
    // Coordinates that are not inline are read from the sources, with the source storage's settings.
    const source = spec.source.storage;
    const combined = await combineRefsAcrossDrift(
      present.map((i) => i.refs),
      {
        ...spec.combine,
        drift: spec.drift,
        labels: present.map((i) => i.label),
        ...(source.kind === "s3" ? { s3: { ...s3ConnectionOf(source), ...(options.tries ? { maxAttempts: options.tries } : {}) } } : {}),
      },
    );
    const keys = combined.length === 1 ? [outputKey(spec, period)] : combined.map((_, i) => outputPartKey(spec, period, i + 1, combined.length));
    // json() writes the per-array lists straight out: no object of a million keys is built. Parts
    // in time order, each once: a part another run wrote first stands.
    let wroteAny = false;
    for (const [i, result] of combined.entries()) wroteAny = (await storage.write(keys[i]!, result.json(), { ifAbsent: true })) || wroteAny;
    if (!wroteAny) return existing(keys);
    if (options.removeInputs) await Promise.all(inputKeys.map((k) => storage.delete(k)));
    return summary(keys, false, combined.reduce((n, r) => n + r.summary.chunkRefs, 0), present.length);
  } finally {
    await storage.close();
  }
}
