import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from "@temporalio/common";
import { isCancellation } from "@temporalio/workflow";
import { failed, type FailedResult } from "../lib/backfill/model/result.js";

/**
 * The failed result for whatever a child or an activity failed with: the innermost cause's type
 * (our error kind, carried by activities/failures.ts) and message. A wrapper without a cause is
 * itself the answer; the walk is bounded, whatever the chain.
 */
export function describeFailure(error: unknown): FailedResult {
  let cause: unknown = error;
  for (let depth = 0; depth < 32 && (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause; depth++) {
    cause = cause.cause;
  }
  if (cause instanceof ApplicationFailure) return failed(cause.type ?? "Error", cause.message);
  if (cause instanceof Error) return failed(cause.name, cause.message);
  return failed("Error", String(cause));
}

/**
 * A period's failure as its result, so the backfill goes on; rethrown instead when the backfill
 * fails fast or is being cancelled (a cancellation is never recorded as a failed period).
 */
export function recordFailure(error: unknown, failFast: boolean): FailedResult {
  if (failFast || isCancellation(error)) throw error;
  return describeFailure(error);
}
