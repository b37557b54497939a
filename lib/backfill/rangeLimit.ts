import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { ConfigError } from "../errors.js";
import { daysOfPlan, MAX_PAYLOAD_BYTES, rollupsOfPlan, utf8Length, written, type BackfillPlan } from "./model/index.js";
import { outputKey } from "./names.js";

/**
 * Refuse, before any work, a range whose periods' results would not fit in the backfill's state,
 * which it carries across continue-as-new in one payload (`MAX_PAYLOAD_BYTES`): a range past it
 * would run for hours and then be terminated. Every period is counted written to its output (the
 * usual case; a failure's message can be longer), as the state's JSON would hold it. A ConfigError
 * naming the range, and how long a range would fit.
 */
export async function checkRangeFitsState(spec: ResolvedDatasetSpec, plan: BackfillPlan, start: string, end: string): Promise<void> {
  const storage = openStorage(spec.output.storage);
  const days = daysOfPlan(plan);
  const periods = [...days, ...rollupsOfPlan(plan)];
  let bytes: number;
  try {
    bytes = utf8Length(JSON.stringify(Object.fromEntries(periods.map((period) => [period, written(storage.url(outputKey(spec, period)))]))));
  } finally {
    await storage.close();
  }
  if (bytes <= MAX_PAYLOAD_BYTES) return;
  const years = Math.floor((days.length * MAX_PAYLOAD_BYTES) / bytes / 366);
  throw new ConfigError(
    "range",
    `${start}..${end} of ${spec.name} has ${periods.length} periods, whose results would take ${(bytes / 1024 / 1024).toFixed(1)} MiB in the backfill's state, ` +
      `more than Temporal carries in one payload (2 MiB by default): run it as ranges of at most ${Math.max(1, years)} years`,
  );
}
