import type { ResolvedDatasetSpec } from "../datasets/spec.js";
import { boundedAll } from "../concurrency.js";
import { TemporalKerchunkError } from "../errors.js";
import { extractDayFiles, HeldExtractions } from "./extract.js";
import { failureOf, isFailed, listingToCarry, noFileCounts, runDaySteps, type DaySurvey, type ExtractSummary, type SmallDayLimits, type SmallDayOutcome } from "./model/index.js";
import { outputFor } from "./output.js";
import { surveyDay } from "./day.js";

/** One file's extraction in a batch, as it ended: staged (its summary) or failed (not when the day stopped it). */
export type SmallDayFileEvent = { day: string; key: string; seconds: number } & ({ summary: ExtractSummary } | { error: unknown });

export interface SmallDaysOptions {
  /** Told after each file's extraction (the worker's per-file metrics: worker/metrics.ts). */
  onFile?: (event: SmallDayFileEvent) => void;
  /** Outcomes of days a previous attempt finished (its last heartbeat): not run again. */
  done?: readonly SmallDayOutcome[];
  /** Told after each day, with every outcome so far (the activity heartbeats them). */
  onDay?: (done: readonly SmallDayOutcome[]) => void;
  /** Aborted when the activity is cancelled: no new day or file starts. */
  signal?: AbortSignal;
}

/**
 * A batch of small days, `daysAtOnce` side by side (one at a time when failing fast), each by the
 * same library calls as a day workflow's steps (and `backfillDirect`), the days' surveys all at
 * once first: its output exists → "existing"; else its files, listed; more files than
 * `smallDayFiles` → handed back for a day workflow; else extract its files (staged ones reused) and
 * combine them into the day's output, or (Icechunk output) return the staged keys for the month to
 * commit. Bad input (a non-retryable typed error) is that day's failed result; a retryable failure
 * hands the day back, so it gets the day workflow's durable per-file retries, and the batch goes on.
 * With `failFast`, no day starts after a failed one.
 */
export async function runSmallDays(spec: ResolvedDatasetSpec, days: readonly string[], limits: SmallDayLimits, options: SmallDaysOptions = {}): Promise<SmallDayOutcome[]> {
  const done = [...(options.done ?? [])].filter((outcome) => days.includes(outcome.day));
  if (limits.failFast && done.some((outcome) => "result" in outcome && isFailed(outcome.result))) return done;
  // Every day's survey (its output looked up, its files listed) at once, up front: one round trip
  // for the batch instead of one per day before its turn. A month of large days is told so by
  // this batch, and starts its day workflows one listing later, not eight.
  const surveys = new Map(
    days
      .filter((day) => !done.some((outcome) => outcome.day === day))
      .map((day) => {
        const survey = surveyDay(spec, day);
        // Awaited at the day's turn, where its failure is the day's; until then not an unhandled rejection.
        survey.catch(() => undefined);
        return [day, survey] as const;
      }),
  );
  // Failing fast, one day at a time, so that none starts after the first failed one.
  const daysAtOnce = limits.failFast ? 1 : (limits.daysAtOnce ?? 1);
  let failed = false;
  await boundedAll([...surveys], daysAtOnce, async ([day, survey]) => {
    if (failed) return;
    options.signal?.throwIfAborted();
    const outcome = await smallDay(spec, day, survey, limits, options.signal, options.onFile);
    done.push(outcome);
    options.onDay?.(done);
    failed = limits.failFast && "result" in outcome && isFailed(outcome.result);
  });
  // In the batch's order of days, whichever ended first.
  return days.flatMap((day) => done.filter((outcome) => outcome.day === day));
}

async function smallDay(spec: ResolvedDatasetSpec, day: string, survey: Promise<DaySurvey>, limits: SmallDayLimits, signal?: AbortSignal, onFile?: SmallDaysOptions["onFile"]): Promise<SmallDayOutcome> {
  const files = noFileCounts();
  let translated = 0;
  // A day that failed stops its other files' extractions (as its day workflow's end cancels them).
  const dayEnded = new AbortController();
  const stop = signal ? AbortSignal.any([signal, dayEnded.signal]) : dayEnded.signal;
  const output = outputFor(spec);
  const held = output.rules.dayFromMemory ? new HeldExtractions(spec, day) : undefined;
  try {
    const ended = await runDaySteps(
      {
        survey: () => survey,
        extract: (sources) =>
          extractDayFiles(spec, day, sources, limits.maxConcurrentFiles, {
            signal: stop,
            held,
            around: async (key, extract) => {
              const started = performance.now();
              const seconds = (): number => (performance.now() - started) / 1000;
              let summary: ExtractSummary;
              try {
                summary = await extract();
              } catch (error) {
                if (!stop.aborted) onFile?.({ day, key, seconds: seconds(), error });
                throw error;
              }
              onFile?.({ day, key, seconds: seconds(), summary });
              if (!summary.reused) translated++;
              return summary;
            },
          }),
        write: (staged) => output.writeDay(day, staged, { held }),
      },
      { handBackStaged: output.rules.calendarOrder, maxFiles: limits.smallDayFiles },
      files,
    );
    if ("tooManyFiles" in ended) return await handedBack(day, `${ended.tooManyFiles} files`, translated, survey);
    return { day, ...ended, files };
  } catch (error) {
    dayEnded.abort();
    if (signal?.aborted) throw error;
    // The files extracted are staged for the day's next try (its day workflow, or a rerun).
    await held?.stage().catch(() => undefined);
    if (error instanceof TemporalKerchunkError && !error.retryable) return { day, result: failureOf(error), files };
    return await handedBack(day, `retry: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500), translated, survey);
  }
}

/**
 * A day handed back to a day workflow, with the batch's listing when it is short enough to carry
 * (`listingToCarry`). Its day workflow then starts with its extraction (what this batch staged
 * reused) and combines, and that combine removes this batch's staging even where another run wrote
 * the day meanwhile; surveyed afresh, the day would be "existing" and the staging left for good.
 */
async function handedBack(day: string, reason: string, translated: number, survey: Promise<DaySurvey>): Promise<SmallDayOutcome> {
  const surveyed = await survey.catch(() => undefined);
  const sources = surveyed && "sources" in surveyed ? listingToCarry(surveyed.sources) : undefined;
  return { day, dayWorkflow: reason, translated, ...(sources ? { sources } : {}) };
}
