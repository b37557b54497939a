import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import type { DaySurvey } from "./model/index.js";
import { outputFor } from "./output.js";
import { listDaySources, type Tries } from "./sources.js";

/**
 * A day's first step: its output if it exists (then nothing is listed), else its source files.
 * With Icechunk output there is no day file: what the store holds was settled before (one
 * listing per year), so only the sources are listed.
 */
export async function surveyDay(spec: ResolvedDatasetSpec, dayId: string, options: Tries = {}): Promise<DaySurvey> {
  const outputs = await outputFor(spec).dayOutput(dayId, options);
  if (outputs !== undefined) return { output: outputs[0]!, ...(outputs.length > 1 ? { outputs } : {}) };
  return { sources: (await listDaySources(spec, dayId, options)).map((o) => o.key) };
}
