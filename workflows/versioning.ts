import type { VersioningBehavior } from "@temporalio/common";

/**
 * How each workflow type moves between worker deployment versions when the workers run with Worker
 * Versioning (`temporal-kerchunk worker --deployment-name ... --build-id ...`; README, "Upgrading
 * workers"). Unversioned workers (the default) ignore it.
 *
 *  - AUTO_UPGRADE for what runs long: the backfill and its years run for as long as the range takes
 *    (days for a decade) and continue as new; a month runs until its days end; `updateDataset` waits
 *    for its backfill; a census lists a decade. Pinned, each would hold its version's workers for
 *    days, and a continued-as-new run would stay pinned too. Auto-upgraded, each replays on the new
 *    version at its next workflow task, so a change to their code goes behind `patched()`, as the
 *    small-day batches and the watch did (test/versioning.test.ts deploys a patched change mid-run).
 *  - PINNED for a day: it runs for minutes (a day's files), so the version it started on drains
 *    soon after a new one becomes current; its extraction plan, staging and combine end on the
 *    code that began them, so a day's code may change between versions without a patch. Its
 *    activities run on its version's workers: stop the old workers once the version is drained.
 *  - PINNED for `ping` (one activity).
 */
export const versioningBehaviors = {
  backfillV3: "AUTO_UPGRADE",
  backfillYearV3: "AUTO_UPGRADE",
  backfillMonthV3: "AUTO_UPGRADE",
  backfillDayV3: "PINNED",
  updateDataset: "AUTO_UPGRADE",
  censusV1: "AUTO_UPGRADE",
  // Runs for as long as the archive grows (continuing as new): pinned, it would hold its version's workers forever.
  liveV1: "AUTO_UPGRADE",
  ping: "PINNED",
} as const satisfies Record<string, VersioningBehavior>;
