import { defineQuery, defineSignal, defineUpdate } from "@temporalio/workflow";
import type { BackfillProgress, PeriodReport } from "./types.js";

// The backfill's messages, typed: clients import these rather than naming them by string.

/** Days and files done so far (`temporal workflow query --type progress`). */
export const progressQuery = defineQuery<BackfillProgress>("progress");
/** A month (or a year) tells its backfill what ended and what runs, sampled (workflows/reports.ts). */
export const reportSignal = defineSignal<[PeriodReport]>("report");
/** Re-run the periods that failed so far, after the current pass; returns how many were queued. */
export const retryFailedUpdate = defineUpdate<number>("retryFailed");
