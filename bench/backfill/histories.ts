/**
 * What a backfill's histories say, for the benchmarks: their sizes (from the visibility listing:
 * no history is fetched); and, from the histories fetched once (`runHistories`), how the work was
 * shared between worker processes (which worker started each extraction, and each workflow task)
 * and where the wall time went (`timelineOf`).
 */
import type { Client } from "@temporalio/client";
import type { History } from "../../test/harness/outputs.js";

export interface HistoryStats {
  workflows: number;
  totalEvents: number;
  /** The largest history of any run (each continue-as-new run counts on its own). */
  largest: { workflowId: string; type: string; events: number; bytes: number };
  /** The largest history by workflow type. */
  largestByType: Record<string, number>;
  /** Runs of each type (more runs than workflows: continue-as-new). */
  runsByType: Record<string, number>;
}

export async function historyStats(client: Client, dataset: string): Promise<HistoryStats> {
  const stats: HistoryStats = { workflows: 0, totalEvents: 0, largest: { workflowId: "", type: "", events: 0, bytes: 0 }, largestByType: {}, runsByType: {} };
  for await (const execution of client.workflow.list({ query: `TkDataset = '${dataset}'` })) {
    stats.workflows++;
    stats.totalEvents += execution.historyLength;
    stats.runsByType[execution.type] = (stats.runsByType[execution.type] ?? 0) + 1;
    stats.largestByType[execution.type] = Math.max(stats.largestByType[execution.type] ?? 0, execution.historyLength);
    if (execution.historyLength > stats.largest.events) {
      stats.largest = { workflowId: execution.workflowId, type: execution.type, events: execution.historyLength, bytes: execution.historySize ?? 0 };
    }
  }
  return stats;
}

export interface WorkShare {
  /** Files extracted by each worker process, by pid (from the identity `<pid>@<host>` of the worker that started the activity). */
  filesByWorker: Record<string, number>;
  /** Workflow tasks each worker completed. */
  workflowTasksByWorker: Record<string, number>;
  /** The smallest share of files over the largest (1: even). */
  evenness: number;
}

const decode = (data: Uint8Array | null | undefined): unknown => (data ? JSON.parse(Buffer.from(data).toString()) : undefined);

/** One run of a workflow of the dataset: its type and its history. */
export interface RunHistory {
  type: string;
  history: History;
}

/** Every run's history of a dataset's workflows, fetched 16 at a time: what `workShare` and `timelineOf` read. */
export async function runHistories(client: Client, dataset: string): Promise<RunHistory[]> {
  const executions = [];
  for await (const execution of client.workflow.list({ query: `TkDataset = '${dataset}'` })) executions.push(execution);
  const runs: RunHistory[] = [];
  for (let i = 0; i < executions.length; i += 16) {
    runs.push(
      ...(await Promise.all(
        executions.slice(i, i + 16).map(async (execution) => ({ type: execution.type, history: await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory() })),
      )),
    );
  }
  return runs;
}

export function workShare(runs: readonly RunHistory[], pids: number[]): WorkShare {
  const files: Record<string, number> = Object.fromEntries(pids.map((pid) => [String(pid), 0]));
  const tasks: Record<string, number> = Object.fromEntries(pids.map((pid) => [String(pid), 0]));
  const who = (identity: string | null | undefined): string => (identity ?? "?").split("@")[0]!;
  for (const { history } of runs) {
    const batchSize = new Map<number, number>();
    const smallDays = new Set<number>();
    const startedBy = new Map<number, string>();
    for (const event of history.events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      const type = scheduled?.activityType?.name;
      if (type === "extractFile") batchSize.set(Number(event.eventId), 1);
      if (type === "extractFiles") batchSize.set(Number(event.eventId), (decode(scheduled!.input?.payloads?.[2]?.data) as string[]).length);
      if (type === "runSmallDays") smallDays.add(Number(event.eventId));
      const started = event.activityTaskStartedEventAttributes;
      if (started && batchSize.has(Number(started.scheduledEventId))) {
        const pid = who(started.identity);
        files[pid] = (files[pid] ?? 0) + batchSize.get(Number(started.scheduledEventId))!;
      }
      if (started && smallDays.has(Number(started.scheduledEventId))) startedBy.set(Number(started.scheduledEventId), who(started.identity));
      // A batch of small days: the files its days listed, by the worker of its last attempt.
      const completed = event.activityTaskCompletedEventAttributes;
      if (completed && smallDays.has(Number(completed.scheduledEventId))) {
        const pid = startedBy.get(Number(completed.scheduledEventId)) ?? "?";
        const outcomes = decode(completed.result?.payloads?.[0]?.data) as { files?: { listed: number } }[];
        files[pid] = (files[pid] ?? 0) + outcomes.reduce((n, o) => n + (o.files?.listed ?? 0), 0);
      }
      const task = event.workflowTaskCompletedEventAttributes;
      if (task) tasks[who(task.identity)] = (tasks[who(task.identity)] ?? 0) + 1;
    }
  }
  const counts = pids.map((pid) => files[String(pid)] ?? 0);
  return { filesByWorker: files, workflowTasksByWorker: tasks, evenness: counts.length > 0 ? +(Math.min(...counts) / Math.max(1, Math.max(...counts))).toFixed(2) : 1 };
}

/**
 * Where a backfill's wall time went, from its histories, in ms after the backfill started: the
 * first extraction activity started (what came before: planning, the tree of workflows, the
 * surveys), the last one ended (what came after: the days' combines, the reports and ends of
 * months, years and the backfill), the last day ended, and the backfill ended.
 */
export interface Timeline {
  firstExtractionStarted: number;
  lastExtractionEnded: number;
  lastDayEnded: number;
  ended: number;
}

/** The activities that extract files: a day workflow's, and a batch of small days (which may only survey its days). */
const EXTRACTIONS = new Set(["extractFile", "extractFiles", "runSmallDays"]);

export function timelineOf(runs: readonly RunHistory[]): Timeline {
  const at = (time: { seconds?: unknown; nanos?: number | null } | null | undefined): number => Number(time?.seconds ?? 0) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
  let started = Number.POSITIVE_INFINITY;
  let ended = 0;
  let firstExtractionStarted = Number.POSITIVE_INFINITY;
  let firstBatchStarted = Number.POSITIVE_INFINITY;
  let lastExtractionEnded = 0;
  let lastDayEnded = 0;
  for (const { type, history } of runs) {
    const extraction = new Set<number>();
    for (const event of history.events ?? []) {
      const time = at(event.eventTime);
      if (event.workflowExecutionStartedEventAttributes && type.startsWith("backfillV")) started = Math.min(started, time);
      if (event.workflowExecutionCompletedEventAttributes) {
        if (type.startsWith("backfillV")) ended = Math.max(ended, time);
        if (type.startsWith("backfillDay")) lastDayEnded = Math.max(lastDayEnded, time);
      }
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled && EXTRACTIONS.has(scheduled.activityType?.name ?? "")) extraction.add(Number(event.eventId));
      const activityStarted = event.activityTaskStartedEventAttributes;
      if (activityStarted && extraction.has(Number(activityStarted.scheduledEventId))) {
        if (type.startsWith("backfillMonth")) firstBatchStarted = Math.min(firstBatchStarted, time);
        else firstExtractionStarted = Math.min(firstExtractionStarted, time);
      }
      const completed = event.activityTaskCompletedEventAttributes;
      if (completed && extraction.has(Number(completed.scheduledEventId))) {
        lastExtractionEnded = Math.max(lastExtractionEnded, time);
        // A batch of small days ends its days itself.
        if (type.startsWith("backfillMonth")) lastDayEnded = Math.max(lastDayEnded, time);
      }
    }
  }
  // A batch of small days counts when no day workflow extracted anything (its days were all small).
  if (firstExtractionStarted === Number.POSITIVE_INFINITY) firstExtractionStarted = firstBatchStarted;
  return { firstExtractionStarted: firstExtractionStarted - started, lastExtractionEnded: lastExtractionEnded - started, lastDayEnded: lastDayEnded - started, ended: ended - started };
}
