/**
 * Where a dataset's repository lives: `<output prefix>/<source root>.icechunk` in the output
 * storage (a local folder, or an S3 bucket and key prefix), next to where kerchunk outputs go
 * (`<output prefix>/<source root>/<YYYYMMDD>.json`). Credentials never appear here: S3 access uses
 * the standard AWS environment (Icechunk's "FromEnv").
 */
import { resolve } from "node:path";
import type { StorageSpec } from "../datasets/spec.js";
import { s3Endpoint, s3Region } from "../source/s3Client.js";
import { joinKey } from "../storage/storage.js";
import type { Icechunk } from "./bindings.js";
import type { IcechunkDataset } from "./options.js";
import type { S3Options, Storage } from "@earthmover/icechunk";

export interface RepositoryLocation {
  /** For messages and summaries: "s3://bucket/prefix/root.icechunk" or an absolute folder. */
  description: string;
  storage: StorageSpec;
  /** The repository's key (folder) inside the output storage. */
  key: string;
}

/** The repository's key inside the output storage. */
export function repositoryKey(dataset: IcechunkDataset): string {
  const root = joinKey(dataset.source.root);
  return joinKey(dataset.output.prefix ?? "", `${root || dataset.name}.icechunk`);
}

export function repositoryLocation(dataset: IcechunkDataset): RepositoryLocation {
  const storage = dataset.output.storage;
  const key = repositoryKey(dataset);
  const description = storage.kind === "local" ? resolve(storage.path, key) : `s3://${storage.bucket}/${joinKey(storage.prefix ?? "", key)}`;
  return { description, storage, key };
}

/** Icechunk's S3 options for a storage spec: region, endpoint (MinIO and friends), anonymous access. */
export function icechunkS3Options(spec: Extract<StorageSpec, { kind: "s3" }>): S3Options {
  const connection = { endpoint: spec.endpoint, region: spec.region, anonymous: spec.anonymous };
  const endpoint = s3Endpoint(connection);
  return {
    region: s3Region(connection),
    ...(endpoint ? { endpointUrl: endpoint, allowHttp: endpoint.startsWith("http:"), forcePathStyle: true } : {}),
    ...(spec.anonymous ? { anonymous: true } : {}),
  };
}

/** The repository's storage as Icechunk opens it. */
export async function icechunkStorage(icechunk: Icechunk, location: RepositoryLocation): Promise<Storage> {
  const spec = location.storage;
  if (spec.kind === "local") return icechunk.Storage.newLocalFilesystem(location.description);
  const credentials = spec.anonymous ? ({ type: "Anonymous" } as const) : ({ type: "FromEnv" } as const);
  return icechunk.Storage.newS3(spec.bucket, joinKey(spec.prefix ?? "", location.key), credentials, icechunkS3Options(spec));
}
