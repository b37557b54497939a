/**
 * Extraction of arrived files: the backfill's `extractToStaging`, staged under the file's version
 * (`<output prefix>/.live/<version>/<root>/.staging/<YYYYMMDD>/<file>.json`), so an overwritten
 * object (a new ETag) is extracted again instead of reusing the references of its old bytes, and
 * a retried extraction of the same version reads nothing again. The commit removes a batch's
 * staged files once it is durable, and stages a file again when it finds it gone (`commit.ts`).
 */
import { extractToStaging } from "../backfill/extract.js";
import { stagingKey } from "../backfill/names.js";
import { boundedAll } from "../concurrency.js";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { joinKey } from "../storage/storage.js";
import type { LiveDay, LiveExtractSummary, LiveFile } from "./model/steps.js";

/** Where live staging lives in the output storage: every version's folder is below it (`sweep.ts` lists it). */
export const liveStagingRoot = (spec: ResolvedDatasetSpec): string => joinKey(spec.output.prefix, ".live");

/** The dataset as the staging of one version of a file sees it. */
function stagingSpec(spec: ResolvedDatasetSpec, file: LiveFile): ResolvedDatasetSpec {
  const version = file.version.replace(/[^A-Za-z0-9._-]/g, "_");
  return { ...spec, output: { ...spec.output, prefix: joinKey(liveStagingRoot(spec), version) } };
}

/** Where one version of an arrived file's references are staged, in the output storage. */
export const liveStagingKey = (spec: ResolvedDatasetSpec, day: string, file: LiveFile): string => stagingKey(stagingSpec(spec, file), day, file.key);

/** Stage one version of an arrived file (nothing is read when it is staged already). */
export const extractLiveFile = (spec: ResolvedDatasetSpec, day: string, file: LiveFile, signal?: AbortSignal) => extractToStaging(stagingSpec(spec, file), day, file.key, { signal });

export async function extractLiveDay(spec: ResolvedDatasetSpec, day: LiveDay, signal?: AbortSignal, filesAtOnce = 4): Promise<LiveExtractSummary> {
  const done = await boundedAll(day.files, filesAtOnce, (file) => extractLiveFile(spec, day.day, file, signal));
  const reused = done.filter((d) => d.reused).length;
  return { day: day.day, extracted: done.length - reused, reused };
}
