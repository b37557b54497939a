import { checkCombineRules, combineSettings, type CoordinateSelector } from "../datasets/combineSettings.js";
import { object, type InputOf, type OutputOf } from "../settings/schema.js";
import type { S3ConnectionOptions } from "../source/s3Client.js";

export type { CoordinateSelector } from "../datasets/combineSettings.js";

const combineOptions = object(combineSettings);

/** The combine's options: the settings declared in lib/datasets/combineSettings.ts, and how S3 is reached. */
export type CombineOptions = InputOf<typeof combineSettings> & {
  /** How S3 URLs in references are read (credentials come from the AWS environment). */
  s3?: S3ConnectionOptions;
};

export type ResolvedCombineOptions = OutputOf<typeof combineSettings> & {
  cooMap: Record<string, CoordinateSelector>;
  s3: S3ConnectionOptions;
};

/** Check the options by their declaration (defaults filled in); keys other than the settings' (labels, s3, an output's) are not the combine's. */
export function resolveCombineOptions(options: CombineOptions): ResolvedCombineOptions {
  const given = options as Record<string, unknown>;
  const settings = combineOptions.check(Object.fromEntries(Object.keys(combineSettings).map((key) => [key, given[key]])), "");
  return { ...settings, cooMap: checkCombineRules(settings), s3: options.s3 ?? {} };
}
