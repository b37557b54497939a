import { ApplicationFailure } from "@temporalio/common";
import { TemporalKerchunkError } from "../lib/errors.js";

/**
 * Run an activity body, turning our typed errors into Temporal failures: the error's kind becomes
 * the failure type (visible in the Web UI and in results), and bad input (corrupt file, bad
 * setting) is non-retryable while network trouble is retried with backoff. Other errors are left
 * as they are (retryable), since an unknown error may well be transient.
 */
export async function withTypedFailures<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TemporalKerchunkError) {
      throw ApplicationFailure.create({
        message: error.message,
        type: error.kind,
        nonRetryable: !error.retryable,
        details: [error.context],
        cause: error,
      });
    }
    throw error;
  }
}
