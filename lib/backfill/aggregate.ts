import { combineSetsAcrossDrift, type CombineSummary, type RefSink } from "../combine/index.js";
import { JsonRefSink } from "../combine/jsonOutput.js";
import { ParquetRefSink, storageParquetFolder } from "../combine/parquetOutput.js";
import { readKerchunkJson } from "../model/kerchunkJson.js";
import { readKerchunkParquet } from "../model/kerchunkParquet.js";
import type { ReferenceSet } from "../model/referenceSet.js";
import { openStorage, s3ConnectionOf, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { joinKey, type Storage } from "../storage/storage.js";
import { outputRules, type ReferenceFileLayout } from "./model/output.js";
import type { AggregateSummary } from "./model/steps.js";
import { completeKey, outputKey, outputPartKey } from "./names.js";
import { periodOutputKeys, type Tries } from "./sources.js";
import { readStaged } from "./staged.js";
import { removeDayStaging, StagedTexts } from "./stagedBundle.js";

/**
 * Staged keys whose references the step that extracted them holds in memory (`HeldExtractions`,
 * lib/backfill/extract.ts): the combine takes them from there; they were never written, so none is
 * read or removed.
 */
export interface HeldInputs {
  holds(stagedKey: string): boolean;
  referenceSet(stagedKey: string): ReferenceSet | undefined;
}

/** A reference-file layout's reader and writer on the output storage. */
interface ReferenceFileFormat {
  /** The output at `key`, as a reference set named `label`. */
  read(storage: Storage, key: string, label: string): Promise<ReferenceSet>;
  /**
   * Write the output at `key` (complete once `complete` is there) exactly once: a sink filled by
   * `combine`, then written; `wrote` false when another run's output stood (nothing overwritten).
   */
  write(storage: Storage, key: string, complete: string, combine: (sink: RefSink) => Promise<CombineSummary>): Promise<{ wrote: boolean; chunkRefs: number }>;
}

/** A kerchunk JSON file (the combine library's parser: checks the version, rejects templates, names the file). */
const json: ReferenceFileFormat = {
  read: async (storage, key, label) => readKerchunkJson(new TextDecoder().decode(await storage.read(key)), label),
  async write(storage, key, _complete, combine) {
    const sink = new JsonRefSink();
    const { chunkRefs } = await combine(sink);
    // toJsonBuffer() writes the per-array lists straight out: no object of a million keys is built.
    return { wrote: await storage.write(key, sink.toJsonBuffer(), { ifAbsent: true }), chunkRefs };
  },
};

/**
 * The staged per-file references: kerchunk JSON with the coordinate chunk bytes they carry
 * (lib/backfill/staged.ts), each in its own object or in a bundle (`texts` reads each object once).
 */
const stagedFormat = (texts: StagedTexts): ReferenceFileFormat => ({
  ...json,
  read: async (_storage, key, label) => readStaged(await texts.read(key), label),
});

const formats: Record<ReferenceFileLayout["kind"], ReferenceFileFormat> = {
  json,
  parquet: {
    read: (storage, key, label) => readKerchunkParquet(key, label, (path) => storage.read(joinKey(key, path))),
    async write(storage, key, complete, combine) {
      // A part another run finished stands: its data files are not rewritten under its .zmetadata.
      if (await storage.exists(complete)) return { wrote: false, chunkRefs: 0 };
      const sink = new ParquetRefSink(storageParquetFolder(storage, key));
      await sink.open();
      const { chunkRefs } = await combine(sink);
      return { wrote: await sink.close(), chunkRefs };
    },
  },
};

/**
 * Combine reference sets (a day's staged per-file refs, or a month's day outputs, or a year's
 * month outputs, in time order) into the period's output, written once and atomically: when
 * another run wrote it first, that output stands and this one reports "existing". The output is a
 * kerchunk JSON file, or a Parquet folder whose `.zmetadata` is written last (output.format, by
 * `outputRules(format).files`); `childOutputs`: the inputs are outputs in that layout (a rollup's),
 * not staged JSON.
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
  options: { removeInputs?: boolean; childOutputs?: boolean; held?: HeldInputs } & Tries = {},
): Promise<AggregateSummary> {
  const storage = openStorage(spec.output.storage, options.tries);
  const output = formats[outputRules(spec.output.format).files.kind];
  const input = options.childOutputs ? output : stagedFormat(new StagedTexts(storage));
  try {
    const summary = (keys: string[], existing: boolean, chunkRefs: number, inputs: number): AggregateSummary => {
      const urls = keys.map((k) => storage.url(k));
      return { output: urls[0]!, ...(urls.length > 1 ? { outputs: urls } : {}), existing, inputs, chunkRefs };
    };
    const { held } = options;
    const stagedKeys = held ? inputKeys.filter((key) => !held.holds(key)) : inputKeys;
    const existing = async (keys: string[]): Promise<AggregateSummary> => {
      // Inputs of a finished period are not needed any more (another run may have staged them too).
      if (options.removeInputs) await removeDayStaging(storage, stagedKeys);
      return summary(keys, true, 0, inputKeys.length);
    };
    const found = await periodOutputKeys(spec, storage, period);
    if (found) return existing(found);
    const inputs = await Promise.all(
      inputKeys.map(async (inputKey) => {
        const inMemory = held?.referenceSet(inputKey);
        if (inMemory) return inMemory;
        try {
          return await input.read(storage, inputKey, storage.url(inputKey));
        } catch (error) {
          // A concurrent run over the same period may have written it and removed the staging.
          if (await periodOutputKeys(spec, storage, period)) return undefined;
          throw error;
        }
      }),
    );
    if (inputs.some((i) => i === undefined)) return existing((await periodOutputKeys(spec, storage, period))!);
    const present = inputs.filter((i): i is ReferenceSet => i !== undefined);
    // Coordinates that are not inline are read from the sources, with the source storage's settings.
    const source = spec.source.storage;
    const combineOptions = {
      ...spec.combine,
      drift: spec.drift,
      ...(source.kind === "s3" ? { s3: { ...s3ConnectionOf(source), ...(options.tries ? { maxAttempts: options.tries } : {}) } } : {}),
    };
    // Parts in time order, each once: a part another run wrote first stands.
    const written = await combineSetsAcrossDrift(present, combineOptions, (part, parts, combine) => {
      const key = parts === 1 ? outputKey(spec, period) : outputPartKey(spec, period, part, parts);
      return output.write(storage, key, completeKey(spec, key), combine).then((result) => ({ ...result, key }));
    });
    const keys = written.map((w) => w.key);
    if (!written.some((w) => w.wrote)) return existing(keys);
    if (options.removeInputs) await removeDayStaging(storage, stagedKeys);
    return summary(keys, false, written.reduce((n, w) => n + w.chunkRefs, 0), present.length);
  } finally {
    await storage.close();
  }
}
