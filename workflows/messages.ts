import { defineQuery, defineSignal, defineUpdate } from "@temporalio/workflow";
import type { BackfillProgress, DayReport } from "./types.js";

// The backfill's messages, typed: clients import these rather than naming them by string.

/** Days and files done so far (`temporal workflow query --type progress`). */
export const progressQuery = defineQuery<BackfillProgress>("progress");
/** A day workflow tells its backfill what it listed and how it ended. */
export const dayReportSignal = defineSignal<[DayReport]>("dayReport");
/** Re-run the periods that failed so far, after the current pass; returns how many were queued. */
export const retryFailedUpdate = defineUpdate<number>("retryFailed");
