import { boundedAll } from "../concurrency.js";
import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { TemporalKerchunkError } from "../errors.js";
import { aggregatePeriod } from "./aggregate.js";
import { extractToStaging } from "./extract.js";
import { existing, failureOf, isFailed, noFileCounts, noFiles, outputResult, type SmallDayLimits, type SmallDayOutcome } from "./model/index.js";
import { surveyDay } from "./sources.js";

export interface SmallDaysOptions {
  /** Outcomes of days a previous attempt finished (its last heartbeat): not run again. */
  done?: readonly SmallDayOutcome[];
  /** Told after each day, with every outcome so far (the activity heartbeats them). */
  onDay?: (done: readonly SmallDayOutcome[]) => void;
  /** Aborted when the activity is cancelled: no new day or file starts. */
  signal?: AbortSignal;
}

/**
 * A batch of small days, one after another, each by the same library calls as a day workflow's
 * steps (and `backfillDirect`): its output exists → "existing"; else list it; more files than
 * `smallDayFiles` → handed back for a day workflow; else extract its files (staged ones reused) and
 * combine them into the day's output, or (Icechunk output) return the staged keys for the month to
 * commit. Bad input (a non-retryable typed error) is that day's failed result; a retryable failure
 * hands the day back, so it gets the day workflow's durable per-file retries, and the batch goes on.
 * With `failFast`, the batch stops after a failed day.
 */
export async function runSmallDays(spec: ResolvedDatasetSpec, days: readonly string[], limits: SmallDayLimits, options: SmallDaysOptions = {}): Promise<SmallDayOutcome[]> {
  const done = [...(options.done ?? [])].filter((outcome) => days.includes(outcome.day));
  if (limits.failFast && done.some((outcome) => "result" in outcome && isFailed(outcome.result))) return done;
  for (const day of days) {
    if (done.some((outcome) => outcome.day === day)) continue;
    options.signal?.throwIfAborted();
    const outcome = await smallDay(spec, day, limits, options.signal);
    done.push(outcome);
    options.onDay?.(done);
    if (limits.failFast && "result" in outcome && isFailed(outcome.result)) break;
  }
  return done;
}

async function smallDay(spec: ResolvedDatasetSpec, day: string, limits: SmallDayLimits, signal?: AbortSignal): Promise<SmallDayOutcome> {
  const files = noFileCounts();
  let translated = 0;
  // A day that failed stops its other files' extractions (as its day workflow's end cancels them).
  const dayEnded = new AbortController();
  const stop = signal ? AbortSignal.any([signal, dayEnded.signal]) : dayEnded.signal;
  try {
    const survey = await surveyDay(spec, day);
    if ("output" in survey) return { day, result: existing(survey.output), files };
    const sources = survey.sources;
    if (sources.length > limits.smallDayFiles) return { day, dayWorkflow: `${sources.length} files`, translated };
    files.listed = sources.length;
    if (sources.length === 0) return { day, result: noFiles(), files };
    const extracted = await boundedAll(sources, limits.maxConcurrentFiles, async (key) => {
      const summary = await extractToStaging(spec, day, key, stop);
      if (!summary.reused) translated++;
      return summary;
    });
    files.reused = extracted.filter((e) => e.reused).length;
    files.extracted = extracted.length - files.reused;
    const staged = extracted.map((e) => e.staged);
    if (spec.output.format === "icechunk") return { day, staged, files };
    return { day, result: outputResult(await aggregatePeriod(spec, day, staged, { removeInputs: true })), files };
  } catch (error) {
    dayEnded.abort();
    if (signal?.aborted) throw error;
    if (error instanceof TemporalKerchunkError && !error.retryable) return { day, result: failureOf(error), files };
    return { day, dayWorkflow: `retry: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500), translated };
  }
}
