/**
 * Errors thrown by the Icechunk bindings are plain `Error`s (code "GenericFailure") whose message is
 * Icechunk's Rust error text. This is the one place that reads those texts, turning them into
 * IcechunkErrors a caller (and Temporal) can act on.
 */
import { IcechunkError, TemporalKerchunkError } from "../errors.js";

/** Another writer moved the branch since this session started. */
export function isCommitConflict(error: unknown): boolean {
  return /branch update conflict|rebase|conflict/i.test((error as Error)?.message ?? "");
}

const transient = /timed? ?out|timeout|connection|connect error|dispatch failure|temporarily|throttl|slow ?down|service unavailable|internal ?error|50[0-9]\b|reset by peer|broken pipe/i;

/** Wrap a bindings error thrown while doing `action`; our own typed errors pass through. */
export function icechunkFailure(error: unknown, store: string, action: string, extra: { day?: string; variable?: string } = {}): TemporalKerchunkError {
  if (error instanceof TemporalKerchunkError) return error;
  const message = ((error as Error)?.message ?? String(error)).replace(/\n\s*context:\s*$/s, "").replace(/\s+/g, " ").trim();
  if (isCommitConflict(error)) return new IcechunkError("commit-conflict", store, `${action}: ${message}`, true, extra);
  return new IcechunkError("storage", store, `${action} failed: ${message}`, transient.test(message), extra);
}
