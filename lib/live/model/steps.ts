/**
 * The live workflow's view of arrivals and the steps it asks of activities: plain types only, so
 * the workflow code (workflows/live.ts) and the activities (activities/live.ts) share them without
 * importing anything (this module is in the workflow bundle; test/workflowCode.test.ts).
 */

/** One object announced by an S3 event: its key in the source storage, its ETag, its day. */
export interface Arrival {
  /** Key relative to the dataset's source storage (its bucket and prefix), as a day's listing names it. */
  key: string;
  /** The ETag the event carried, without quotes: with the key, what makes an arrival a duplicate. */
  etag: string;
  /** "2022-01-13": the day the dataset's template puts the key in. */
  day: string;
}

/** A source file as the survey found it: key, reference URL and version (ETag, or mtime in ms). */
export interface LiveFile {
  key: string;
  url: string;
  version: string;
}

/**
 * A day the commit writes: `files` in time (key) order; `kept`, when given, are the day's files
 * already in the store, before them in time, which stay as they are (an arrival after the store's
 * end is appended: only the new files are written). Without `kept` the whole day is (re)written.
 */
export interface LiveDay {
  day: string;
  files: LiveFile[];
  kept?: LiveFile[];
}

/** What a batch's survey decided: days to (re)write in order, days already in the store as listed, days held back. */
export interface LivePlan {
  write: LiveDay[];
  unchanged: string[];
  deferred: { day: string; reason: string }[];
  /** The store's last day when surveyed (undefined: nothing committed yet). */
  storeEnd?: string;
}

export interface LiveExtractSummary {
  day: string;
  extracted: number;
  reused: number;
}

export interface LiveCommitSummary {
  /** The snapshot that holds the days (this commit's, or an earlier one when nothing changed). */
  snapshotId: string;
  /** False when the store already held exactly these files (a retried commit). */
  written: boolean;
  days: string[];
  files: number;
  /** Steps along the concat dimension from the first rewritten one, and the length of the store's last era after (the store's, without eras). */
  steps: number;
  storeLength: number;
  attempts: number;
  /** Staged references of batches that never committed, removed after this commit (`sweep.ts`); absent when none. */
  sweptStaged?: number;
  /** Why that sweep failed, when it did (the commit stands). */
  sweepFailed?: string;
}

/** The live workflow's activities (activities/live.ts over lib/live). */
export interface LiveSteps {
  liveSurvey(dataset: string, days: string[], arrivals: Arrival[]): Promise<LivePlan>;
  liveExtract(dataset: string, day: LiveDay): Promise<LiveExtractSummary>;
  liveCommit(dataset: string, days: LiveDay[]): Promise<LiveCommitSummary>;
}
