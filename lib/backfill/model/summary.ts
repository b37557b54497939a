import { daysOfPlan, rollsUp, type BackfillPlan } from "./plan.js";
import { hasOutput, resultText, type Outcome, type PeriodResult, type PeriodResults } from "./result.js";
import { statusOf, type FinalStatus } from "./status.js";

export interface FileCounts {
  /** Source files listed. */
  listed: number;
  /** Files translated now. */
  extracted: number;
  /** Files whose staged references existed already (nothing read). */
  reused: number;
}

export const noFileCounts = (): FileCounts => ({ listed: 0, extracted: 0, reused: 0 });
export const addFileCounts = (a: FileCounts, b: FileCounts): FileCounts => ({
  listed: a.listed + b.listed,
  extracted: a.extracted + b.extracted,
  reused: a.reused + b.reused,
});

/**
 * A day workflow's counts for a day a batch of small days handed over after translating
 * `translated` of its files (a retryable failure): the day workflow found those staged, and they
 * count as translated once, as if one run had done the day.
 */
export function withTranslatedBefore(files: FileCounts, translated: number): FileCounts {
  const moved = Math.min(Math.max(0, translated), files.reused);
  return { listed: files.listed, extracted: files.extracted + moved, reused: files.reused - moved };
}

/** Days by how they ended. A day without files is counted as such, never as failed. */
export interface DayCounts {
  total: number;
  written: number;
  existing: number;
  noFiles: number;
  failed: number;
}

/** Rollups (months, years) by how they ended; `partial`: the range covers part of the period. */
export interface RollupCounts extends DayCounts {
  partial: number;
}

function countOutcomes(periods: readonly string[], results: PeriodResults): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { written: 0, existing: 0, noFiles: 0, failed: 0, partial: 0 };
  for (const period of periods) {
    const result = results[period];
    if (result) counts[result.outcome]++;
  }
  return counts;
}

export function countDays(days: readonly string[], results: PeriodResults): DayCounts {
  const { written, existing, noFiles, failed } = countOutcomes(days, results);
  return { total: days.length, written, existing, noFiles, failed };
}

/** The rollup periods of a plan (months, then years, that get an output of their own). */
export function rollupsOfPlan(plan: BackfillPlan): string[] {
  const months = rollsUp(plan.aggregation, "month") ? plan.years.flatMap((y) => y.months.map((m) => m.id)) : [];
  return rollsUp(plan.aggregation, "year") ? [...months, ...plan.years.map((y) => y.id)] : months;
}

/** What a backfill returns (the workflow, and `backfillDirect`): typed results, counts, status, and the seed's text. */
export interface BackfillSummary {
  dataset: string;
  start: string;
  end: string;
  status: FinalStatus;
  days: DayCounts;
  rollups: RollupCounts;
  files: FileCounts;
  results: PeriodResults;
  /** Per period, the seed notebook's text (`path`, `existing`, `ERROR(NOFILES)`, `ERROR(<kind>): <message>`, `PARTIAL`). */
  report: Record<string, string>;
  /**
   * Periods whose result and report this summary leaves out (`boundedSummary`: the summary of a
   * long range would pass Temporal's payload limit); the counts still include them.
   */
  leftOut?: number;
}

export interface BackfillRequest {
  dataset: string;
  start: string;
  end: string;
}

export function summarize(request: BackfillRequest, plan: BackfillPlan, results: PeriodResults, files: FileCounts): BackfillSummary {
  const days = daysOfPlan(plan);
  const rollups = rollupsOfPlan(plan);
  const periods = [...days, ...rollups];
  const ordered: PeriodResults = {};
  const report: Record<string, string> = {};
  for (const period of [...periods].sort()) {
    const result: PeriodResult | undefined = results[period];
    if (result === undefined) continue;
    ordered[period] = result;
    report[period] = resultText(result);
  }
  const rollupCounts = countOutcomes(rollups, results);
  return {
    dataset: request.dataset,
    start: request.start,
    end: request.end,
    status: statusOf(periods.map((p) => results[p])),
    days: countDays(days, results),
    rollups: { total: rollups.length, ...rollupCounts },
    files,
    results: ordered,
    report,
  };
}

/**
 * The most one of the backfill's own payloads may take, in UTF-8 bytes: its result (`boundedSummary`)
 * and the results it carries across continue-as-new (lib/backfill/rangeLimit.ts). Temporal refuses
 * a payload over 2 MiB by default (the server's `limit.blobSize.error`), and terminates a workflow
 * whose result or continue-as-new input is larger ("CompleteWorkflowExecutionCommandAttributes.Result
 * exceeds size limit"); the margin is for the rest of what goes with them.
 */
export const MAX_PAYLOAD_BYTES = 1536 * 1024;

/**
 * The summary within `maxBytes`: whole when it fits (a summary names every period's output twice,
 * in its result and its report line: about 250 bytes a period with 100-character URLs, 0.93 MB for
 * a decade of days, so two decades would end terminated); else its counts and as many periods as fit,
 * those without an output first (failed, no files, partial: what needs a look), then those with
 * one, each in calendar order, and how many were left out (`leftOut`: their outputs are where the
 * dataset's outputs are, and the counts include them).
 */
export function boundedSummary<S extends BackfillSummary>(summary: S, maxBytes = MAX_PAYLOAD_BYTES): S {
  if (utf8Length(JSON.stringify(summary)) <= maxBytes) return summary;
  const entries = Object.entries(summary.results);
  const kept = new Set<string>();
  // What the summary takes without any period, and a margin for `leftOut` itself.
  let size = utf8Length(JSON.stringify({ ...summary, results: {}, report: {}, leftOut: entries.length })) + 16;
  for (const withOutput of [false, true]) {
    for (const [period, result] of entries) {
      if (hasOutput(result) !== withOutput) continue;
      const entry = utf8Length(JSON.stringify({ [period]: result }) + JSON.stringify({ [period]: summary.report[period] }));
      if (size + entry > maxBytes) continue;
      size += entry;
      kept.add(period);
    }
  }
  const results: PeriodResults = {};
  const report: Record<string, string> = {};
  for (const [period, result] of entries) {
    if (!kept.has(period)) continue;
    results[period] = result;
    if (summary.report[period] !== undefined) report[period] = summary.report[period];
  }
  return { ...summary, results, report, leftOut: entries.length - kept.size };
}

const utf8 = new TextEncoder();

/** Bytes of `text` in UTF-8 (what a JSON payload takes). TextEncoder is in Temporal's workflow sandbox too. */
export function utf8Length(text: string): number {
  return utf8.encode(text).length;
}

/** The summary as the CLI prints it: one line per period (the seed's text), then the totals. */
export function summaryLines(summary: BackfillSummary): string[] {
  const d = summary.days;
  const r = summary.rollups;
  const f = summary.files;
  return [
    ...Object.entries(summary.report).map(([period, text]) => `${period}: ${text}`),
    `${summary.dataset} ${summary.start}..${summary.end}: ${summary.status}; ${d.total} days: ${d.written} written, ${d.existing} existing, ` +
      `${d.noFiles} without files, ${d.failed} failed` +
      (r.total ? `; ${r.total} rollups: ${r.written} written, ${r.existing} existing, ${r.noFiles} without files, ${r.failed} failed, ${r.partial} partial` : "") +
      `; files: ${f.listed} listed, ${f.extracted} extracted, ${f.reused} reused`,
    ...(summary.leftOut
      ? [`(${summary.leftOut} periods left out above to keep this summary within Temporal's payload limit, those with an output first; the totals count them)`]
      : []),
  ];
}
