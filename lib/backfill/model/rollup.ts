import { failed, hasOutput, noFiles, partial, type PeriodResult, type PeriodResults } from "./result.js";

/** What to do about a month's or a year's rollup: combine these children's outputs, or record a result without building. */
export type RollupDecision = { build: string[] } | { result: PeriodResult };

/**
 * The rollup rule, for months (children: days) and years (children: months):
 *  - the range covers part of the period: `partial`, nothing built;
 *  - a child without files is a gap in the archive, not a failure: the rollup goes on without it;
 *  - any other child without an output (failed, partial, not run): `failed` of kind "Incomplete";
 *  - no child with files at all: `noFiles`;
 *  - else: build from the children that have outputs, in order.
 */
export function rollupRule(whole: boolean, children: readonly string[], results: PeriodResults): RollupDecision {
  if (!whole) return { result: partial() };
  const present = children.filter((child) => results[child]?.outcome !== "noFiles");
  const missing = present.filter((child) => !hasOutput(results[child]));
  if (missing.length > 0) {
    return { result: failed("Incomplete", `${missing.length} of ${children.length} inputs missing or failed (${missing.slice(0, 3).join(", ")})`) };
  }
  if (present.length === 0) return { result: noFiles() };
  return { build: present };
}
