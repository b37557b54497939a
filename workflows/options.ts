import { WorkflowExecutionAlreadyStartedError } from "@temporalio/common";
import { ContinueAsNew, startChild, upsertSearchAttributes, workflowInfo, type ChildWorkflowHandle, type ParentClosePolicy } from "@temporalio/workflow";
import { DEFAULT_SMALL_DAY_FILES, lanesOf, type BackfillPlan, type FinalStatus } from "../lib/backfill/model/index.js";
import { searchAttributesOf, statusKey, type Level } from "./searchAttributes.js";
import type { BackfillInput, PeriodSettings, PeriodStatus } from "./types.js";

/** The workflow id users see for a backfill: readable, and the same for the same request. */
export const backfillWorkflowId = (input: BackfillInput): string => `${input.dataset}/backfill/${input.start}..${input.end}`;

/** How a client (the CLI, a schedule's run, a test) starts a backfill: id, summary, search attributes. */
export function backfillOptions(input: BackfillInput, workflowId = backfillWorkflowId(input)) {
  return {
    workflowId,
    args: [input] as [BackfillInput],
    staticSummary: `backfill ${input.dataset} ${input.start}..${input.end}`,
    typedSearchAttributes: searchAttributesOf(input.dataset, `${input.start}..${input.end}`, "backfill"),
  };
}

/** Defaults of a backfill's settings (BackfillInput documents them). */
export const defaultSettings = { maxConcurrentDays: 64, maxConcurrentFiles: 1, smallDayFiles: DEFAULT_SMALL_DAY_FILES } as const;

/** The settings a backfill request resolves to (defaults: 64 days at once over the calendar, a day's files one after another). */
export function settingsFor(input: BackfillInput, plan: BackfillPlan, reportTo: string): PeriodSettings {
  const maxConcurrentDays = Math.max(1, input.maxConcurrentDays ?? defaultSettings.maxConcurrentDays);
  return {
    dataset: input.dataset,
    aggregation: plan.aggregation,
    format: plan.format,
    lanes: lanesOf(maxConcurrentDays, plan),
    maxConcurrentFiles: Math.max(1, input.maxConcurrentFiles ?? defaultSettings.maxConcurrentFiles),
    ...(input.filesPerActivity !== undefined ? { filesPerActivity: Math.max(1, input.filesPerActivity) } : {}),
    smallDayFiles: Math.max(0, Math.floor(input.smallDayFiles ?? defaultSettings.smallDayFiles)),
    failFast: input.failFast ?? false,
    reportTo,
  };
}

/** Only the settings: what every level passes down, and nothing of its own plan or results. */
export function settingsOf(input: PeriodSettings): PeriodSettings {
  const { dataset, aggregation, format, lanes, maxConcurrentFiles, filesPerActivity, smallDayFiles, failFast, reportTo } = input;
  return {
    dataset,
    aggregation,
    format,
    lanes,
    maxConcurrentFiles,
    ...(filesPerActivity !== undefined ? { filesPerActivity } : {}),
    ...(smallDayFiles !== undefined ? { smallDayFiles } : {}),
    failFast,
    ...(reportTo ? { reportTo } : {}),
  };
}

/** A child period's options: readable id `<dataset>/<period>`, summary, details and search attributes. */
export function childOptions(settings: PeriodSettings, level: Level, period: string, summary: string) {
  return {
    workflowId: `${settings.dataset}/${period}`,
    staticSummary: summary,
    staticDetails: `dataset **${settings.dataset}**, ${level} **${period}**`,
    typedSearchAttributes: searchAttributesOf(settings.dataset, period, level),
  };
}

/**
 * Start a period's child under its readable id. If that id is busy (another backfill over an
 * overlapping range is working on the same period right now), start our own under a suffixed id:
 * both do the work, every output is written once (the first writer wins, the other reports
 * "existing"), and neither backfill fails.
 */
export async function startPeriod<A, R>(
  workflow: (input: A) => Promise<R>,
  options: ReturnType<typeof childOptions> & { args: [A]; parentClosePolicy?: ParentClosePolicy },
): Promise<ChildWorkflowHandle<(input: A) => Promise<R>>> {
  try {
    return await startChild(workflow, options);
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return startChild(workflow, { ...options, workflowId: `${options.workflowId}~${shortHash(workflowInfo().workflowId)}` });
  }
}

/**
 * 8 hex digits of FNV-1a: the suffix of a busy period's own id, from the parent's workflow id, so
 * that two overlapping backfills' children differ, and a reset or replayed run names the same
 * child again (a run id would differ between the run that recorded it and a replay of a reset run).
 */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/** Run a period's child to its end (`startPeriod`'s id rule). */
export async function executePeriod<A, R>(workflow: (input: A) => Promise<R>, options: ReturnType<typeof childOptions> & { args: [A] }): Promise<R> {
  return (await startPeriod(workflow, options)).result() as Promise<R>;
}

export function setStatus(status: PeriodStatus): void {
  upsertSearchAttributes([{ key: statusKey, value: status }]);
}

/**
 * Run a workflow's body and set its `TkStatus` (and tell `onEnd`) from what it returns; "failed"
 * when it throws (fail-fast, cancelled). Continuing as new is not an end: the status stays "running".
 */
export async function withStatus<T>(body: () => Promise<T>, statusOf: (value: T) => FinalStatus, onEnd?: (status: FinalStatus) => void): Promise<T> {
  let value: T;
  try {
    value = await body();
  } catch (error) {
    if (!(error instanceof ContinueAsNew)) {
      setStatus("failed");
      onEnd?.("failed");
    }
    throw error;
  }
  const status = statusOf(value);
  setStatus(status);
  onEnd?.(status);
  return value;
}
