/**
 * Icechunk output: a dataset's archive as one versioned virtual Zarr v3 store, a commit per day.
 * Temporal-free: the activities, the CLI, the tests and the benchmarks call these.
 *
 *  - `commitDay(dataset, day, input)`: combine a day's references and commit them, exactly once;
 *  - `tagPeriod(dataset, "2022-01")`: tag a completed month or year;
 *  - `listDayCommits(dataset)`: the store's history as days;
 *  - `loadIcechunk()`: the native bindings (with the glibc shim where the system needs it);
 *  - `repositoryLocation`, `containerPrefix`, `readerAuthorization`: where the store is and what a
 *    reader must authorize.
 * An archive whose layout drifts gets an era group per change one array cannot hold (`eras.ts`).
 * Layout and durability rules: docs/design.md ("Icechunk output").
 */
import { openRepository } from "./repository.js";
import { dayCommits, type DayCommit } from "./history.js";
import { resolveIcechunkOptions, type IcechunkDataset, type IcechunkOptions } from "./options.js";

export { commitDay, type CommitDayOptions, type DayCommitSummary } from "./commitDay.js";
export { tagPeriod, periodTagName, type PeriodTag } from "./tags.js";
export { loadIcechunk, loadIcechunkWithInfo, type Icechunk, type BindingsInfo } from "./bindings.js";
export { repositoryLocation, repositoryKey, type RepositoryLocation } from "./location.js";
export { containerPrefix, readerAuthorization, sourceContainer } from "./containers.js";
export { openRepository, repositoryConfig, type OpenedRepository } from "./repository.js";
export { withWriterLock, writerLockPath, type WriterLockOptions } from "./localWriterLock.js";
export { lookupSourceVersions, lastModifiedOf, type SourceVersion } from "./sourceVersions.js";
export { parseCommitMessage, type DayCommitFacts, type EraPart } from "./commitMessage.js";
export { ERA_ATTRIBUTE, eraGroup } from "./eras.js";
export type { DayInput } from "./dayRefs.js";
export type { DayCommit } from "./history.js";
export type { IcechunkDataset, IcechunkOptions } from "./options.js";

/** The day commits on the dataset's branch, newest first. */
export async function listDayCommits(dataset: IcechunkDataset, options: IcechunkOptions = {}): Promise<DayCommit[]> {
  const settings = resolveIcechunkOptions(options);
  const { repository } = await openRepository(dataset, settings, { create: false });
  return dayCommits(repository, { branch: settings.branch });
}
