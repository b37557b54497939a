import { failed, type FailedResult, type PeriodResults } from "./result.js";

/**
 * How a period's workflow ended when it could not say so itself: an operator terminated it (the
 * Web UI's Terminate, `temporal workflow terminate`), cancelled it, a timeout closed it, or it
 * failed. Kinds as the summary shows them: `ERROR(Terminated): ...`.
 */
export type ClosedAs = "Terminated" | "Cancelled" | "TimedOut" | "Failed" | "Completed";

/** The server's name of a closed workflow's status (`WorkflowExecutionStatusName`) as a kind; undefined while it runs. */
export function closedAs(status: string): ClosedAs | undefined {
  switch (status) {
    case "TERMINATED":
      return "Terminated";
    case "CANCELLED":
      return "Cancelled";
    case "TIMED_OUT":
      return "TimedOut";
    case "FAILED":
      return "Failed";
    case "COMPLETED":
      return "Completed";
    default:
      return undefined; // RUNNING (also a reset's new run, or a run continued as new), or unknown
  }
}

/** The failure a period's unfinished work gets when its workflow closed without telling its results. */
export const closedFailure = (workflowId: string, how: ClosedAs): FailedResult =>
  failed(how === "Completed" ? "Incomplete" : how, `${workflowId} ${closedText[how]}; a re-run redoes what it did not finish`);

const closedText: Record<ClosedAs, string> = {
  Terminated: "was terminated",
  Cancelled: "was cancelled",
  TimedOut: "timed out",
  Failed: "failed",
  Completed: "completed without reporting its results",
};

/**
 * The results of a period whose workflow ended without telling how its days went (terminated,
 * cancelled by an operator, timed out, failed): what is known stays, what its outputs show is
 * kept (a day written before the end is written: `settled`, from one listing of the outputs), and
 * every other period of it gets `failure`. So none of it is left looking as if it runs, and a
 * re-run redoes exactly the periods that got `failure`.
 */
export function abandonedResults(periods: readonly string[], known: PeriodResults, settled: PeriodResults, failure: FailedResult): PeriodResults {
  const results: PeriodResults = {};
  for (const period of periods) {
    if (known[period] !== undefined) continue;
    results[period] = settled[period] ?? failure;
  }
  return results;
}
