import { ActivityFailure, ApplicationFailure } from "@temporalio/common";
import { condition, continueAsNew, defineQuery, defineSignal, proxyActivities, setHandler, sleep, workflowInfo, type ActivityOptions } from "@temporalio/workflow";
import type { Arrival, LiveCommitSummary, LiveSteps } from "../lib/live/model/steps.js";

/**
 * Live arrivals (README "Live arrivals", docs/design.md): one workflow per dataset (`<dataset>/live`)
 * that `temporal-kerchunk listen` signals with the objects S3 events announce. Arrivals are batched
 * for `windowMs`, then: the survey lists the days they fall in and decides what the store needs
 * (appends after its end, a rewrite from a day inside it, days held back for a backfill), the files
 * are extracted (staged per version, retried on their own) and one commit writes the days in time
 * order. A key with the ETag already seen is a duplicate and costs nothing; a new ETag for a key is
 * an overwrite and is extracted again. Every `sweepEveryMs` (with its batch, if one is due) the last
 * `sweepDays` days seen are surveyed again, which finds files whose events were lost. History stays bounded:
 * the workflow continues as new, carrying its state, when the server suggests it or after
 * `maxHistoryEvents`.
 */
export interface LiveInput {
  dataset: string;
  /** How long arrivals are gathered before a batch is committed (default 2 s). */
  windowMs?: number;
  sweepEveryMs?: number;
  sweepDays?: number;
  /** Days before the newest day seen whose keys are remembered for duplicates (default 3). */
  rememberDays?: number;
  maxHistoryEvents?: number;
  /** Carried across continue-as-new. */
  state?: LiveState;
}

export interface LiveCounts {
  arrivals: number;
  duplicates: number;
  overwrites: number;
  batches: number;
  commits: number;
  unchangedDays: number;
  deferredDays: number;
  failedBatches: number;
}

export interface LiveState {
  /** key → [etag, day] of the arrivals remembered. */
  known: Record<string, [string, string]>;
  pending: Arrival[];
  /** Days deferred by the last survey, tried again after the next commit that moved the store. */
  retryDays?: string[];
  counts: LiveCounts;
  lastCommit?: LiveCommitSummary;
  lastProblem?: string;
}

export interface LiveStatus extends LiveState {
  runs: number;
}

/** Arrivals from `listen` (or anyone: `temporal workflow signal --name arrive`). */
export const arriveSignal = defineSignal<[Arrival[]]>("arrive");
export const liveStatusQuery = defineQuery<LiveStatus>("liveStatus");

const backoff = { initialInterval: "1 second", backoffCoefficient: 2, maximumInterval: "30 seconds" } as const;
const surveyOptions: ActivityOptions = { startToCloseTimeout: "5 minutes", retry: { ...backoff, maximumAttempts: 10 } };
const extractOptions: ActivityOptions = { startToCloseTimeout: "15 minutes", heartbeatTimeout: "20 seconds", retry: { ...backoff, maximumAttempts: 20 } };
const commitOptions: ActivityOptions = { startToCloseTimeout: "20 minutes", heartbeatTimeout: "20 seconds", retry: { ...backoff, maximumAttempts: 20 } };
const survey = proxyActivities<LiveSteps>(surveyOptions);
const extract = proxyActivities<LiveSteps>(extractOptions);
const commit = proxyActivities<LiveSteps>(commitOptions);

const noCounts = (): LiveCounts => ({ arrivals: 0, duplicates: 0, overwrites: 0, batches: 0, commits: 0, unchangedDays: 0, deferredDays: 0, failedBatches: 0 });
const DAY_MS = 86_400_000;
const dayBefore = (day: string, n: number): string => new Date(Date.parse(`${day}T00:00:00Z`) - n * DAY_MS).toISOString().slice(0, 10);

export async function liveV1(input: LiveInput): Promise<void> {
  const state: LiveState = input.state ?? { known: {}, pending: [], counts: noCounts() };
  const runs = (input.state as LiveStatus | undefined)?.runs ?? 0;
  const windowMs = input.windowMs ?? 2000;
  let lastSweep = Date.now();
  const sweepEveryMs = input.sweepEveryMs ?? 10 * 60_000;

  setHandler(arriveSignal, (arrivals) => {
    for (const arrival of arrivals) {
      const known = state.known[arrival.key];
      if (known?.[0] === arrival.etag) {
        state.counts.duplicates++;
        continue;
      }
      if (known) state.counts.overwrites++;
      state.counts.arrivals++;
      state.known[arrival.key] = [arrival.etag, arrival.day];
      state.pending.push(arrival);
    }
  });
  setHandler(liveStatusQuery, () => ({ ...state, runs: runs + 1 }));

  for (;;) {
    // Workflow time: replays agree. A sweep is due every sweepEveryMs, arrivals or not.
    const arrived = await condition(() => state.pending.length > 0 || (state.retryDays?.length ?? 0) > 0, Math.max(1, lastSweep + sweepEveryMs - Date.now()));
    if (arrived) await sleep(windowMs);
    const batch = state.pending.splice(0);
    const days = new Set([...batch.map((a) => a.day), ...(state.retryDays ?? [])]);
    state.retryDays = [];
    if (Date.now() - lastSweep >= sweepEveryMs) {
      lastSweep = Date.now();
      const newest = Object.values(state.known).reduce((max, [, day]) => (day > max ? day : max), "");
      for (let n = 0; newest && n < (input.sweepDays ?? 2); n++) days.add(dayBefore(newest, n));
    }
    if (days.size > 0) await commitBatch(input.dataset, [...days].sort(), batch, state);
    forget(state, input.rememberDays ?? 3);
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > (input.maxHistoryEvents ?? 5000)) {
      // Signal handlers run to completion at once; what they queued is carried in the state.
      await continueAsNew<typeof liveV1>({ ...input, state: { ...state, runs: runs + 1 } as LiveStatus });
    }
  }
}

async function commitBatch(dataset: string, days: string[], arrivals: Arrival[], state: LiveState): Promise<void> {
  state.counts.batches++;
  try {
    const plan = await survey.liveSurvey(dataset, days, arrivals);
    state.counts.unchangedDays += plan.unchanged.length;
    state.counts.deferredDays += plan.deferred.length;
    if (plan.deferred.length > 0) state.lastProblem = `${plan.deferred[0]!.day}: ${plan.deferred[0]!.reason}`;
    if (plan.write.length === 0) return;
    await Promise.all(plan.write.map((day) => extract.liveExtract.executeWithOptions({ ...extractOptions, summary: `extract ${day.files.length} files of ${day.day}` }, [dataset, day])));
    const written = plan.write.map((d) => d.day);
    state.lastCommit = await commit.liveCommit.executeWithOptions({ ...commitOptions, summary: `commit ${written.join(", ")}` }, [dataset, plan.write]);
    if (state.lastCommit.written) state.counts.commits++;
    // The store moved: days held back for it may be within reach now (a burst's later days).
    if (state.lastCommit.written && plan.deferred.length > 0) state.retryDays = plan.deferred.map((d) => d.day);
  } catch (error) {
    // A batch that failed for good (bad input, retries spent) is not retried here: the next sweep
    // surveys the recent days again, and the Schedule's backfill reports what stays wrong.
    if (!(error instanceof ActivityFailure)) throw error;
    state.counts.failedBatches++;
    const cause = error.cause instanceof ApplicationFailure ? error.cause : undefined;
    state.lastProblem = `${days[0]}: ${cause?.type ?? "failure"}: ${cause?.message ?? error.message}`;
  }
}

/** Keys of days well before the newest one are forgotten (their duplicates fall to the survey, which finds the store unchanged). */
function forget(state: LiveState, rememberDays: number): void {
  const newest = Object.values(state.known).reduce((max, [, day]) => (day > max ? day : max), "");
  if (!newest) return;
  const oldest = dayBefore(newest, rememberDays);
  for (const [key, [, day]] of Object.entries(state.known)) if (day < oldest) delete state.known[key];
}
