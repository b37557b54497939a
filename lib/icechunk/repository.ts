/**
 * Opening (or creating) a dataset's repository with the configuration the store needs: the source
 * storage as a virtual chunk container, and manifests split along the concat dimension so that a
 * day's commit rewrites only the last split, not a manifest of every reference ever written.
 */
import type { Repository, RepositoryConfig } from "@earthmover/icechunk";
import { IcechunkError } from "../errors.js";
import { loadIcechunk, type Icechunk } from "./bindings.js";
import { containerPrefix, sourceContainer } from "./containers.js";
import { icechunkFailure } from "./failures.js";
import { icechunkStorage, repositoryLocation, type RepositoryLocation } from "./location.js";
import { concatDimension } from "../datasets/storeDimension.js";
import type { IcechunkDataset, ResolvedIcechunkOptions } from "./options.js";

export interface OpenedRepository {
  icechunk: Icechunk;
  repository: Repository;
  location: RepositoryLocation;
  /** True when this call created the repository. */
  created: boolean;
}

/** The configuration our stores are created and opened with. */
export function repositoryConfig(dataset: IcechunkDataset, options: Pick<ResolvedIcechunkOptions, "manifestSplitChunks">): RepositoryConfig {
  const dim = concatDimension(dataset);
  const container = sourceContainer(dataset.source.storage);
  return {
    virtualChunkContainers: { [containerPrefix(dataset.source.storage)]: container },
    ...(options.manifestSplitChunks > 0
      ? {
          // Serde form of Icechunk's ManifestSplittingConfig: every array, split along `dim`.
          manifest: { splitting: { split_sizes: [[{ path_matches: { regex: ".*" } }, [{ condition: { DimensionName: dim }, num_chunks: options.manifestSplitChunks }]]] } },
        }
      : {}),
  };
}

/**
 * Open the dataset's repository; with `create`, create it first when it does not exist (two
 * writers creating at once: the loser opens the winner's).
 */
export async function openRepository(dataset: IcechunkDataset, options: ResolvedIcechunkOptions, { create }: { create: boolean }): Promise<OpenedRepository> {
  const icechunk = await loadIcechunk();
  const location = repositoryLocation(dataset);
  const config = repositoryConfig(dataset, options);
  try {
    const storage = await icechunkStorage(icechunk, location);
    if (await icechunk.Repository.exists(storage)) {
      return { icechunk, repository: await icechunk.Repository.open(storage, config), location, created: false };
    }
    if (!create) throw new IcechunkError("no-repository", location.description, "no Icechunk repository here yet (no day has been committed)", false);
    try {
      return { icechunk, repository: await icechunk.Repository.create(storage, config), location, created: true };
    } catch (error) {
      if (!(await icechunk.Repository.exists(storage))) throw error;
      return { icechunk, repository: await icechunk.Repository.open(storage, config), location, created: false };
    }
  } catch (error) {
    throw icechunkFailure(error, location.description, create ? "opening or creating the repository" : "opening the repository");
  }
}
