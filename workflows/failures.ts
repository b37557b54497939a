import { ActivityFailure, ApplicationFailure, CancelledFailure, ChildWorkflowFailure, TerminatedFailure, TimeoutFailure } from "@temporalio/common";
import { CancellationScope, isCancellation } from "@temporalio/workflow";
import { closedFailure, failed, type ClosedAs, type FailedResult } from "../lib/backfill/model/index.js";

/**
 * The failed result for whatever a child or an activity failed with: the innermost cause's type
 * (our error kind, carried by activities/failures.ts) and message. A child that an operator
 * terminated or cancelled, or that timed out, is said so, with its id (`ERROR(Terminated): <id> was
 * terminated; ...`). A wrapper without a cause is itself the answer; the walk is bounded.
 */
export function describeFailure(error: unknown): FailedResult {
  let cause: unknown = error;
  let child: string | undefined;
  for (let depth = 0; depth < 32 && (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause; depth++) {
    if (cause instanceof ChildWorkflowFailure) child = cause.execution.workflowId ?? undefined;
    cause = cause.cause;
  }
  const closed: ClosedAs | undefined =
    cause instanceof TerminatedFailure ? "Terminated" : cause instanceof CancelledFailure ? "Cancelled" : cause instanceof TimeoutFailure ? "TimedOut" : undefined;
  if (closed && child) return closedFailure(child, closed);
  if (cause instanceof ApplicationFailure) return failed(cause.type ?? "Error", cause.message);
  if (closed) return failed(closed, cause instanceof Error ? cause.message : String(cause));
  if (cause instanceof Error) return failed(cause.name, cause.message);
  return failed("Error", String(cause));
}

/**
 * A cancellation of this workflow itself (its own scope was cancelled: the backfill is being
 * cancelled), as opposed to a child that an operator cancelled, which is that child's failure.
 */
export const isOwnCancellation = (error: unknown): boolean => isCancellation(error) && CancellationScope.current().consideredCancelled;

/**
 * A period's failure as its result, so the backfill goes on; rethrown instead when the backfill
 * fails fast or is being cancelled (its own cancellation is never recorded as a failed period).
 */
export function recordFailure(error: unknown, failFast: boolean): FailedResult {
  if (failFast || isOwnCancellation(error)) throw error;
  return describeFailure(error);
}
