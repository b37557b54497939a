import { outputResult, outputRules, rollupRule, type PeriodResult, type PeriodResults } from "../lib/backfill/model/index.js";
import { steps } from "./activities.js";
import { recordFailure } from "./failures.js";
import type { PeriodSettings } from "./types.js";

/**
 * A month's or a year's rollup, by the rollup rule: built from its children's outputs (with
 * Icechunk output: the store's tag of the period), or a result without building.
 */
export async function rollup(settings: PeriodSettings, period: string, whole: boolean, children: string[], results: PeriodResults): Promise<PeriodResult> {
  const decision = rollupRule(whole, children, results);
  if ("result" in decision) return decision.result;
  try {
    return outputResult(await steps.rollupPeriod(settings.dataset, period, decision.build, outputRules(settings.format).calendarOrder));
  } catch (error) {
    return recordFailure(error, settings.failFast);
  }
}
