/**
 * A day's references made ready for the store: the day's per-file references (or an already
 * combined day) combined along the concat dimension by `lib/combine`, so the store gets exactly what
 * a kerchunk day output holds, with the same checks (metadata agreement, ordering, duplicates,
 * chunk alignment), handed over as the reference model (no object of every key is built).
 */
import { combineReferenceFiles, combineRefs, type CombineSummary } from "../combine/index.js";
import { readArrayNumbers } from "../model/arrayValues.js";
import { ReferenceReader } from "../model/chunkBytes.js";
import type { ReferenceSet } from "../model/referenceSet.js";
import { arrayMetadata } from "../model/arrayMetadata.js";
import { CombineError } from "../errors.js";
import type { PyJsonValue } from "../json/pyJson.js";
import type { KerchunkRefs } from "../model/kerchunkRefs.js";
import type { S3ConnectionOptions } from "../source/s3Client.js";
import { concatDimension } from "../datasets/storeDimension.js";
import type { IcechunkDataset } from "./options.js";

/**
 * A day's references: reference sets in memory, or reference files (local paths or s3:// URLs,
 * e.g. the staged per-file references of a backfill day, or the day's combined output). Either
 * single-file references or already combined ones.
 */
export type DayInput = { refs: KerchunkRefs[]; labels?: string[] } | { referenceFiles: string[]; s3?: S3ConnectionOptions };

export interface DayReferences {
  /** Names the day's input in errors. */
  label: string;
  /** The combined day as the reference model. */
  references: ReferenceSet;
  summary: CombineSummary;
  /** The concat dimension and its values in the day's own units (those of its first file). */
  dim: string;
  values: number[];
  coordinateAttrs: Record<string, PyJsonValue>;
}

export async function loadDayReferences(dataset: IcechunkDataset, day: string, input: DayInput): Promise<DayReferences> {
  const dim = concatDimension(dataset);
  const options = {
    concatDims: [dim],
    ...(dataset.combine?.cooMap ? { cooMap: dataset.combine.cooMap } : {}),
    ...(dataset.combine?.identicalDims ? { identicalDims: dataset.combine.identicalDims } : {}),
  };
  const label = `${dataset.name} ${day}`;
  const combined =
    "refs" in input
      ? await combineRefs(input.refs, { ...options, ...(input.labels ? { labels: input.labels } : {}) })
      : await combineReferenceFiles(input.referenceFiles, { ...options, ...(input.s3 ? { s3: input.s3 } : {}) });
  const references = combined.references(label);
  const coordinate = references.arrays.get(dim);
  if (!coordinate) throw new CombineError("missing-coordinate", label, dim, "the combined day has no coordinate array for the concat dimension");
  // The combine writes the coordinate inline: nothing is read from storage here.
  const reader = new ReferenceReader();
  try {
    const values = await readArrayNumbers(coordinate, reader, label, `cooMap.${dim}`);
    return { label, references, summary: combined.summary, dim, values, coordinateAttrs: arrayMetadata(coordinate).attributes };
  } finally {
    await reader.close();
  }
}
