import { combineRefs } from "../combine/index.js";
import { openStorage, s3ConnectionOf, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { StorageError } from "../errors.js";
import { serializeRefs } from "../refs/serialize.js";
import type { KerchunkRefs } from "../refs/types.js";
import { outputKey } from "./names.js";

export interface AggregateSummary {
  /** URL of the period's reference file. */
  output: string;
  /** True when it existed already (nothing combined, nothing written). */
  existing: boolean;
  inputs: number;
  keys: number;
}

/**
 * Combine reference files (a day's staged per-file refs, or a month's day outputs, or a year's
 * month outputs) into the period's output, written once and atomically: when another run wrote
 * it first, that output stands and this one reports "existing".
 */
export async function aggregatePeriod(
  spec: ResolvedDatasetSpec,
  period: string,
  inputKeys: string[],
  options: { removeInputs?: boolean } = {},
): Promise<AggregateSummary> {
  const storage = openStorage(spec.output.storage);
  const key = outputKey(spec, period);
  try {
    const existing = async (): Promise<AggregateSummary> => {
      // Inputs of a finished period are not needed any more (another run may have staged them too).
      if (options.removeInputs) await Promise.all(inputKeys.map((k) => storage.delete(k)));
      return { output: storage.url(key), existing: true, inputs: inputKeys.length, keys: 0 };
    };
    if (await storage.exists(key)) return existing();
    const inputs = await Promise.all(
      inputKeys.map(async (inputKey) => {
        let bytes: Uint8Array;
        try {
          bytes = await storage.read(inputKey);
        } catch (error) {
          // A concurrent run over the same period may have written it and removed the staging.
          if (await storage.exists(key)) return undefined;
          throw error;
        }
        try {
          return { label: storage.url(inputKey), refs: JSON.parse(new TextDecoder().decode(bytes)) as KerchunkRefs };
        } catch (error) {
          throw new StorageError(storage.description, inputKey, `not a reference file: ${(error as Error).message}`, false);
        }
      }),
    );
    if (inputs.some((i) => i === undefined)) return existing();
    const present = inputs.filter((i): i is NonNullable<typeof i> => i !== undefined);
    // Coordinates that are not inline are read from the sources, with the source storage's settings.
    const source = spec.source.storage;
    const { refs: combined } = await combineRefs(
      present.map((i) => i.refs),
      {
        ...spec.combine,
        labels: present.map((i) => i.label),
        ...(source.kind === "s3" ? { s3: s3ConnectionOf(source) } : {}),
      },
    );
    const written = await storage.write(key, new TextEncoder().encode(serializeRefs(combined)), { ifAbsent: true });
    if (!written) return existing();
    if (options.removeInputs) await Promise.all(inputKeys.map((k) => storage.delete(k)));
    return { output: storage.url(key), existing: false, inputs: present.length, keys: Object.keys(combined.refs).length };
  } finally {
    await storage.close();
  }
}
