import type { MinioServer } from "../test/harness/servers/minio.js";

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

/** A benchmark's `--server-config KEY=VALUE` settings (VALUE in JSON) as a dev server's dynamic config. */
export function serverConfigOf(settings: readonly string[] = []): Record<string, string | number | boolean> {
  return Object.fromEntries(
    settings.map((setting) => {
      const equals = setting.indexOf("=");
      if (equals < 1) throw new Error(`--server-config ${setting}: expected KEY=VALUE`);
      return [setting.slice(0, equals), JSON.parse(setting.slice(equals + 1)) as string | number | boolean];
    }),
  );
}
