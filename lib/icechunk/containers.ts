/**
 * The virtual chunk container of a dataset's source storage: the URL prefix its references start
 * with (`s3://bucket/`, or the `file://` URL of the local archive folder) and how Icechunk reaches
 * it. The repository keeps the container in its configuration; a reader must also authorize it
 * (Icechunk reads no virtual chunk from a prefix its user did not allow).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Credentials, VirtualChunkContainer } from "@earthmover/icechunk";
import type { StorageSpec } from "../datasets/spec.js";
import { s3Endpoint } from "../source/s3Client.js";
import { icechunkS3Options } from "./location.js";

/** The URL prefix every reference into this storage starts with. */
export function containerPrefix(source: StorageSpec): string {
  if (source.kind === "s3") return `s3://${source.bucket}/`;
  // The same spelling as the references' (referenceUrl: pathToFileURL of the absolute path).
  return `${pathToFileURL(resolve(source.path)).href.replace(/\/$/, "")}/`;
}

export function sourceContainer(source: StorageSpec): VirtualChunkContainer {
  const urlPrefix = containerPrefix(source);
  if (source.kind === "local") return { urlPrefix, store: { type: "LocalFileSystem", field0: resolve(source.path) } };
  const endpoint = s3Endpoint({ endpoint: source.endpoint });
  return { urlPrefix, store: { type: endpoint ? "S3Compatible" : "S3", field0: icechunkS3Options(source) } };
}

/**
 * What a JS reader passes as `authorizeVirtualChunkAccess` to read the source's chunks: S3
 * credentials from the AWS environment (anonymous for a public bucket); local folders need none.
 */
export function readerAuthorization(source: StorageSpec): Record<string, Credentials | null> {
  const prefix = containerPrefix(source);
  if (source.kind === "local") return { [prefix]: null };
  return { [prefix]: { type: "S3", field0: source.anonymous ? { type: "Anonymous" } : { type: "FromEnv" } } };
}
