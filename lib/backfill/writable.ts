import { randomBytes } from "node:crypto";
import { openStorage, type ResolvedDatasetSpec } from "../datasets/spec.js";
import { ConfigError, TemporalKerchunkError } from "../errors.js";
import { joinKey } from "../storage/storage.js";

/**
 * Fail before any work when the output location cannot be written (a missing bucket, a path under
 * a file, no permission): write a small probe object where staging goes, then remove it.
 */
export async function checkOutputWritable(spec: ResolvedDatasetSpec): Promise<void> {
  const storage = openStorage(spec.output.storage);
  const probe = joinKey(spec.output.prefix, spec.source.root, ".staging", `.write-check-${randomBytes(6).toString("hex")}`);
  try {
    await storage.write(probe, new TextEncoder().encode("ok"));
    await storage.delete(probe);
  } catch (error) {
    if (error instanceof TemporalKerchunkError && error.retryable) throw error; // a network fault: retry the check
    throw new ConfigError(`datasets.${spec.name}.output.storage`, `cannot write to ${storage.description}: ${(error as Error).message}`);
  } finally {
    await storage.close();
  }
}
