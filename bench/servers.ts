import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MinioServer } from "../test/harness/servers/minio.js";
import { toolPath } from "../lib/servers/process.js";

/** Point this process's standard AWS environment at a benchmark's MinIO (as a user would for their own store). */
export function useMinio(minio: MinioServer): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: minio.endpoint,
    AWS_ACCESS_KEY_ID: minio.accessKey,
    AWS_SECRET_ACCESS_KEY: minio.secretKey,
    AWS_REGION: "us-east-1",
    // Node 20 is within our supported range; the SDK's upgrade notice only clutters the output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });
}

/**
 * Have the next dev servers this process starts keep SQLite in WAL mode, synchronous=NORMAL (the
 * dev server's default journal syncs every commit to disk, which on a shared disk costs more than
 * everything else): a wrapper script of the `temporal` binary that TEMPORAL_CLI_PATH points at,
 * since TemporalDevServer has no pragma option.
 */
export async function useSqliteWal(dir: string): Promise<void> {
  const path = join(dir, "temporal-wal");
  const binary = toolPath("temporal", "TEMPORAL_CLI_PATH");
  await writeFile(path, `#!/bin/sh\nexec "${binary}" "$@" --sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=NORMAL\n`, { mode: 0o755 });
  process.env.TEMPORAL_CLI_PATH = path;
}
