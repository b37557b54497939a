import { WorkflowExecutionAlreadyStartedError } from "@temporalio/common";
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  getExternalWorkflowHandle,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from "@temporalio/workflow";
import type { BackfillActivities } from "../activities/backfill.js";
import { boundedAll } from "../lib/concurrency.js";
import { datasetKey, levelKey, periodKey, statusKey } from "./searchAttributes.js";
import {
  isFailure,
  type BackfillInput,
  type BackfillProgress,
  type BackfillSummary,
  type DayInput,
  type DayReport,
  type FileCounts,
  type MonthInput,
  type PeriodOutcome,
  type PeriodResult,
  type PeriodSettings,
  type YearInput,
} from "./types.js";

/**
 * Transient failures (S3 throttling, a worker that died) are retried with backoff for about a
 * quarter of an hour; typed bad-input failures are non-retryable and end the attempt at once.
 */
const activityOptions: ActivityOptions = {
  startToCloseTimeout: "15 minutes",
  // Heartbeats every 2 s (activities/heartbeat.ts): a killed worker's activities are retried within 20 s.
  heartbeatTimeout: "20 seconds",
  retry: { initialInterval: "1 second", backoffCoefficient: 2, maximumInterval: "1 minute", maximumAttempts: 20 },
};
const activities = proxyActivities<BackfillActivities>(activityOptions);
const planning = proxyLocalActivities<BackfillActivities>({
  startToCloseTimeout: "1 minute",
  retry: { maximumAttempts: 3 },
});

export const progressQuery = defineQuery<BackfillProgress>("progress");
export const dayReportSignal = defineSignal<[DayReport]>("dayReport");
/** Re-run the days that failed so far (after the current pass); returns how many were queued. */
export const retryFailedUpdate = defineUpdate<number>("retryFailed");

const noFiles = (): FileCounts => ({ listed: 0, extracted: 0, reused: 0 });
const addFiles = (a: FileCounts, b: FileCounts): FileCounts => ({
  listed: a.listed + b.listed,
  extracted: a.extracted + b.extracted,
  reused: a.reused + b.reused,
});

/** "ERROR(<kind>): <message>" from whatever a child or an activity failed with. */
function describeFailure(error: unknown): PeriodResult {
  let cause: unknown = error;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) cause = cause.cause ?? cause;
  if (cause instanceof ApplicationFailure) return `ERROR(${cause.type ?? "Error"}): ${cause.message}`;
  return `ERROR(${(cause as Error)?.name ?? "Error"}): ${(cause as Error)?.message ?? String(cause)}`;
}

const lastSegment = (key: string): string => key.slice(key.lastIndexOf("/") + 1);

function childOptions(settings: PeriodSettings, level: string, period: string, summary: string) {
  return {
    workflowId: `${settings.dataset}/${period}`,
    staticSummary: summary,
    staticDetails: `dataset **${settings.dataset}**, ${level} **${period}**`,
    typedSearchAttributes: [
      { key: datasetKey, value: settings.dataset },
      { key: periodKey, value: period },
      { key: levelKey, value: level },
      { key: statusKey, value: "running" },
    ],
  };
}

/**
 * Run a period's child under its readable id. If that id is busy (another backfill over an
 * overlapping range is working on the same period right now), run our own under a suffixed id:
 * both do the work, every output is written once (the first writer wins, the other reports
 * "existing"), and neither backfill fails.
 */
async function executePeriod<A>(
  workflow: (input: A) => Promise<PeriodOutcome>,
  options: ReturnType<typeof childOptions> & { args: [A] },
): Promise<PeriodOutcome> {
  try {
    return await executeChild(workflow, options);
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return executeChild(workflow, { ...options, workflowId: `${options.workflowId}~${workflowInfo().runId.slice(0, 8)}` });
  }
}

/** Only the settings: what every level passes down, and nothing of its own plan or results. */
function settingsOf(input: PeriodSettings): PeriodSettings {
  const { dataset, aggregation, maxConcurrentDays, maxConcurrentFiles, filesPerActivity, failFast, reportTo } = input;
  return { dataset, aggregation, maxConcurrentDays, maxConcurrentFiles, filesPerActivity, failFast, ...(reportTo ? { reportTo } : {}) };
}

/** Results known for some periods only (a child gets its own, so inputs stay small). */
function only(results: Record<string, PeriodResult> | undefined, periods: string[]): Record<string, PeriodResult> {
  const out: Record<string, PeriodResult> = {};
  for (const period of periods) if (results?.[period] !== undefined) out[period] = results[period]!;
  return out;
}

function setStatus(status: "running" | "completed" | "failed" | "partial"): void {
  upsertSearchAttributes([{ key: statusKey, value: status }]);
}

// ---------------------------------------------------------------------------------------------

/**
 * A backfill over a date range: one child per year, each running its months and days; results per
 * period like the seed notebook's. Started from the Temporal CLI:
 *   temporal workflow start --task-queue temporal-kerchunk --type backfill \
 *     --input '{"dataset":"himawari8-sst","start":"2022-01-01","end":"2022-01-31"}'
 */
export async function backfill(input: BackfillInput): Promise<BackfillSummary> {
  const plan = await planning.planBackfill(input.dataset, input.start, input.end);
  const settings: PeriodSettings = {
    dataset: input.dataset,
    aggregation: plan.aggregation,
    maxConcurrentDays: Math.max(1, input.maxConcurrentDays ?? 4),
    maxConcurrentFiles: Math.max(1, input.maxConcurrentFiles ?? 4),
    filesPerActivity: Math.max(1, input.filesPerActivity ?? 1),
    failFast: input.failFast ?? false,
    reportTo: workflowInfo().workflowId,
  };
  const results: Record<string, PeriodResult> = { ...input.checkpoint };
  const allDays = plan.years.flatMap((y) => y.months.flatMap((m) => m.days));
  const files = noFiles();
  const listedByDay = new Map<string, number>();
  const running = new Set<string>();
  let retryRequested = false;

  upsertSearchAttributes([
    { key: datasetKey, value: input.dataset },
    { key: periodKey, value: `${input.start}..${input.end}` },
    { key: levelKey, value: "backfill" },
    { key: statusKey, value: "running" },
  ]);

  const progress = (): BackfillProgress => {
    const dayResults = allDays.map((d) => results[d]);
    return {
      dataset: input.dataset,
      start: input.start,
      end: input.end,
      daysTotal: allDays.length,
      daysDone: dayResults.filter((r) => r !== undefined).length,
      daysFailed: dayResults.filter(isFailure).length,
      daysExisting: dayResults.filter((r) => r === "existing").length,
      filesListed: [...listedByDay.values()].reduce((a, b) => a + b, 0),
      filesDone: allDays.filter((d) => results[d] !== undefined).reduce((n, d) => n + (listedByDay.get(d) ?? 0), 0),
      running: [...running].sort(),
    };
  };
  const describe = (): void => {
    const p = progress();
    setCurrentDetails(
      `**${p.daysDone}/${p.daysTotal}** days done (${p.daysFailed} failed, ${p.daysExisting} existing), ` +
        `${p.filesDone}/${p.filesListed} files${p.running.length ? `; running: ${p.running.join(", ")}` : ""}`,
    );
  };
  setHandler(progressQuery, progress);
  setHandler(dayReportSignal, (report) => {
    if (report.stage === "listed") {
      listedByDay.set(report.day, report.files);
      running.add(report.day);
    } else {
      running.delete(report.day);
      if (report.result !== undefined) results[report.day] = report.result;
    }
    describe();
  });
  setHandler(retryFailedUpdate, () => {
    const failed = allDays.filter((d) => isFailure(results[d])).length;
    retryRequested = failed > 0;
    return failed;
  });

  const runYear = async (year: (typeof plan.years)[number]): Promise<void> => {
    const outcome = await executePeriod(backfillYear, {
      ...childOptions(settings, "year", year.id, `${input.dataset} ${year.id}: ${year.months.length} months`),
      args: [{ ...settingsOf(settings), year, checkpoint: pick(results, year) }],
    });
    Object.assign(results, outcome.results);
    Object.assign(files, addFiles(files, outcome.files));
  };

  // A year is settled when each of its days (and its rollup, if any) has a result, failed or not.
  const settled = (year: (typeof plan.years)[number]): boolean =>
    year.months.every((m) => m.days.every((d) => results[d] !== undefined)) && (plan.aggregation !== "year" || results[year.id] !== undefined);
  for (;;) {
    for (const year of plan.years) {
      if (settled(year)) continue;
      if (workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof backfill>({ ...input, checkpoint: results });
      }
      await runYear(year);
      describe();
    }
    if (!retryRequested) break;
    // retryFailed: forget the failures (days and the rollups they spoiled) and run those years again.
    retryRequested = false;
    for (const [period, result] of Object.entries(results)) if (isFailure(result) && result !== "ERROR(NOFILES)") delete results[period];
  }

  const dayResults = allDays.map((d) => results[d]);
  const summary: BackfillSummary = {
    dataset: input.dataset,
    start: input.start,
    end: input.end,
    results,
    days: {
      total: allDays.length,
      written: dayResults.filter((r) => r !== undefined && r !== "existing" && !isFailure(r)).length,
      existing: dayResults.filter((r) => r === "existing").length,
      failed: dayResults.filter((r) => isFailure(r) && r !== "ERROR(NOFILES)").length,
      noFiles: dayResults.filter((r) => r === "ERROR(NOFILES)").length,
    },
    files,
  };
  setStatus(summary.days.failed > 0 ? "failed" : "completed");
  describe();
  await condition(allHandlersFinished);
  return summary;
}

/** Results already known for a year's periods (from an earlier run of this backfill). */
function pick(results: Record<string, PeriodResult>, year: { id: string; months: { id: string; days: string[] }[] }): Record<string, PeriodResult> {
  const periods = [year.id, ...year.months.flatMap((m) => [m.id, ...m.days])];
  return Object.fromEntries(Object.entries(only(results, periods)).filter(([, result]) => !isFailure(result)));
}

// ---------------------------------------------------------------------------------------------

/** One year: its months one after another, then (aggregation "year") the yearly rollup. */
export async function backfillYear(input: YearInput): Promise<PeriodOutcome> {
  const results: Record<string, PeriodResult> = { ...input.checkpoint };
  let files = noFiles();
  for (const month of input.year.months) {
    const outcome = await executePeriod(backfillMonth, {
      ...childOptions(input, "month", month.id, `${input.dataset} ${month.id}: ${month.days.length} days`),
      args: [{ ...settingsOf(input), month, checkpoint: only(results, [month.id, ...month.days]) }],
    });
    Object.assign(results, outcome.results);
    files = addFiles(files, outcome.files);
  }
  if (input.aggregation === "year") {
    results[input.year.id] = await rollup(input, input.year.id, input.year.whole, input.year.months.map((m) => m.id), results);
  }
  setStatus(input.year.months.some((m) => m.days.some((d) => isFailure(results[d]))) ? "failed" : "completed");
  return { results, files };
}

/** One month: its days with bounded concurrency, then (aggregation "month" or "year") the monthly rollup. */
export async function backfillMonth(input: MonthInput): Promise<PeriodOutcome> {
  const results: Record<string, PeriodResult> = {};
  for (const day of input.month.days) {
    const known = input.checkpoint?.[day];
    if (known !== undefined && !isFailure(known)) results[day] = known;
  }
  let files = noFiles();
  const pending = input.month.days.filter((d) => results[d] === undefined);
  await boundedAll(pending, input.maxConcurrentDays, async (day) => {
    // Histories stay small (a month has at most 31 children), but honour the server's advice:
    // stop starting days, let the running ones finish, and carry the results over.
    if (workflowInfo().continueAsNewSuggested) return;
    const dayInput: DayInput = { ...settingsOf(input), day };
    try {
      const outcome = await executePeriod(backfillDay, {
        ...childOptions(input, "day", day, `${input.dataset} ${day}`),
        args: [dayInput],
      });
      Object.assign(results, outcome.results);
      files = addFiles(files, outcome.files);
    } catch (error) {
      if (input.failFast) throw error;
      results[day] = describeFailure(error);
    }
  });
  if (input.month.days.some((d) => results[d] === undefined)) {
    await condition(allHandlersFinished);
    await continueAsNew<typeof backfillMonth>({ ...settingsOf(input), month: input.month, checkpoint: only({ ...input.checkpoint, ...results }, input.month.days) });
  }
  if (input.aggregation !== "day") {
    results[input.month.id] = await rollup(input, input.month.id, input.month.whole, input.month.days, results);
  }
  setStatus(input.month.days.some((d) => isFailure(results[d])) ? "failed" : "completed");
  return { results, files };
}

/** Build a rollup from its children's outputs, when the range covers the whole period and every child succeeded. */
async function rollup(
  settings: PeriodSettings,
  period: string,
  whole: boolean,
  children: string[],
  results: Record<string, PeriodResult>,
): Promise<PeriodResult> {
  if (!whole) return "PARTIAL";
  // A day without files is a gap in the archive, not a failure: the rollup goes on without it.
  const present = children.filter((c) => results[c] !== "ERROR(NOFILES)");
  const failed = present.filter((c) => results[c] === undefined || isFailure(results[c]) || results[c] === "PARTIAL");
  if (failed.length > 0) return `ERROR(Incomplete): ${failed.length} of ${children.length} inputs missing or failed (${failed.slice(0, 3).join(", ")})`;
  if (present.length === 0) return "ERROR(NOFILES)";
  try {
    const summary = await activities.rollupPeriod.executeWithOptions(
      { ...activityOptions, summary: `roll up ${period} from ${children.length} outputs` },
      [settings.dataset, period, present],
    );
    return summary.existing ? "existing" : summary.output;
  } catch (error) {
    if (settings.failFast) throw error;
    return describeFailure(error);
  }
}

/**
 * One day: skip it if its output exists; list its files; extract each (bounded, retried);
 * combine them into the day's reference file, written once.
 */
export async function backfillDay(input: DayInput): Promise<PeriodOutcome> {
  const { dataset, day } = input;
  // Progress goes to the backfill that started us; if it is gone, the day's work still counts.
  const report = async (message: DayReport): Promise<void> => {
    if (input.reportTo) await getExternalWorkflowHandle(input.reportTo).signal(dayReportSignal, message).catch(() => undefined);
  };
  const finish = async (result: PeriodResult, files: FileCounts): Promise<PeriodOutcome> => {
    await report({ day, stage: "done", files: files.listed, result });
    setStatus(isFailure(result) && result !== "ERROR(NOFILES)" ? "failed" : "completed");
    return { results: { [day]: result }, files };
  };
  try {
    const existing = await activities.findPeriodOutput.executeWithOptions({ ...activityOptions, summary: `is ${day} done?` }, [dataset, day]);
    if (existing !== null) return finish("existing", noFiles());

    const sources = await activities.listDaySources.executeWithOptions({ ...activityOptions, summary: `list ${day}` }, [dataset, day]);
    await report({ day, stage: "listed", files: sources.length });
    if (sources.length === 0) return finish("ERROR(NOFILES)", noFiles());
    setCurrentDetails(`${sources.length} files`);

    let done = 0;
    const perActivity = input.filesPerActivity ?? 1;
    const batches: string[][] = [];
    for (let i = 0; i < sources.length; i += perActivity) batches.push(sources.slice(i, i + perActivity));
    const extracted = (
      await boundedAll(batches, input.maxConcurrentFiles, async (batch) => {
        const summaries =
          batch.length === 1
            ? [await activities.extractFile.executeWithOptions({ ...activityOptions, summary: `extract ${lastSegment(batch[0]!)}` }, [dataset, day, batch[0]!])]
            : await activities.extractFiles.executeWithOptions(
                { ...activityOptions, summary: `extract ${batch.length} files from ${lastSegment(batch[0]!)}` },
                [dataset, day, batch],
              );
        done += batch.length;
        setCurrentDetails(`${done}/${sources.length} files extracted`);
        return summaries;
      })
    ).flat();
    const files: FileCounts = {
      listed: sources.length,
      extracted: extracted.filter((e) => !e.reused).length,
      reused: extracted.filter((e) => e.reused).length,
    };
    const combined = await activities.aggregateDay.executeWithOptions(
      { ...activityOptions, summary: `combine ${sources.length} files of ${day}` },
      [dataset, day, extracted.map((e) => e.staged)],
    );
    return finish(combined.existing ? "existing" : combined.output, files);
  } catch (error) {
    if (input.failFast) {
      await report({ day, stage: "done", files: 0, result: describeFailure(error) });
      throw error;
    }
    return finish(describeFailure(error), noFiles());
  }
}
