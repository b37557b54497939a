import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { ConfigError } from "../errors.js";
import { daysOfPlan, rollupsOfPlan, utf8Length, written, type BackfillPlan } from "./model/index.js";
import { outputKey } from "./names.js";

/**
 * The most every period's result may take in the backfill's state, in UTF-8 bytes. The backfill
 * carries that state across continue-as-new, and Temporal refuses a payload over 2 MiB by default
 * (the server's `limit.blobSize.error`) and terminates the workflow: a range past this would run
 * for hours, and then be terminated. The rest of the carried input is small.
 */
export const MAX_CARRIED_RESULTS_BYTES = 1536 * 1024;

/**
 * Refuse, before any work, a range whose periods' results would not fit in the backfill's state:
 * every period written to its output (the usual case; a failure's message can be longer), as the
 * state's JSON would hold them. A ConfigError naming the range, and how long a range would fit.
 */
export async function checkRangeFitsState(spec: ResolvedDatasetSpec, plan: BackfillPlan, start: string, end: string): Promise<void> {
  const storage = openStorage(spec.output.storage);
  let periods: string[];
  let bytes: number;
  try {
    periods = [...daysOfPlan(plan), ...rollupsOfPlan(plan)];
    bytes = utf8Length(JSON.stringify(Object.fromEntries(periods.map((period) => [period, written(storage.url(outputKey(spec, period)))]))));
  } finally {
    await storage.close();
  }
  if (bytes <= MAX_CARRIED_RESULTS_BYTES) return;
  const days = daysOfPlan(plan).length;
  const years = Math.floor(((days * MAX_CARRIED_RESULTS_BYTES) / bytes) / 366);
  throw new ConfigError(
    "range",
    `${start}..${end} of ${spec.name} has ${periods.length} periods, whose results would take ${(bytes / 1024 / 1024).toFixed(1)} MiB in the backfill's state, ` +
      `more than Temporal carries in one payload (2 MiB by default): run it as ranges of at most ${Math.max(1, years)} years`,
  );
}
