import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pickPort, type PortPicker } from "../../../lib/servers/ports.js";
import { ManagedProcess, canConnect, startWithRetries, toolPath, type RetryOptions, type StartReport } from "../../../lib/servers/process.js";

export interface MinioOptions {
  /** Folder for MinIO's data; a new temporary folder (removed on stop) when omitted. */
  dataDir?: string;
  /** S3 API port; one we pick when omitted. */
  port?: number;
  logFile?: string;
  /** Where the ports we choose come from (default `pickPort`; a test hands out an occupied one first). */
  pickPort?: PortPicker;
  /** Tries when an address is in use, and who hears of a retry. */
  retry?: RetryOptions;
  /** More environment for the server (e.g. MINIO_NOTIFY_WEBHOOK_* event targets). */
  env?: NodeJS.ProcessEnv;
}

/**
 * A local MinIO S3 server on 127.0.0.1 with throwaway credentials, for tests and benchmarks. The
 * credentials are generated per run and only ever passed by environment. Both its addresses (S3
 * API, console) come from us; a start that fails on an address in use is tried again on fresh
 * ports. A restart keeps the API port (clients hold the endpoint).
 */
export class MinioServer {
  readonly accessKey = "tk-minio-user";
  readonly secretKey: string = `tk-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  private process: ManagedProcess | undefined;
  private ownsDataDir = false;
  dataDir = "";
  port = 0;
  consolePort = 0;
  /** How the last `start()` went (attempts, and why earlier ones failed). */
  lastStart: StartReport | undefined;
  private everStarted = false;

  constructor(private readonly options: MinioOptions = {}) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (this.options.dataDir) {
      this.dataDir = this.options.dataDir;
    } else if (!this.ownsDataDir) {
      this.dataDir = await mkdtemp(join(tmpdir(), "tk-minio-"));
      this.ownsDataDir = true;
    }
    const binary = toolPath("minio", "MINIO_PATH");
    const pick = this.options.pickPort ?? pickPort;
    const restart = this.everStarted;
    this.lastStart = await startWithRetries(
      "minio",
      async () => {
        if (!restart) this.port = this.options.port ?? (await pick());
        // Not served (MINIO_BROWSER=off), but MinIO may still reserve it: never let it choose.
        this.consolePort = await pick();
        this.process = new ManagedProcess(
          "minio",
          binary,
          ["server", this.dataDir, "--address", `127.0.0.1:${this.port}`, "--console-address", `127.0.0.1:${this.consolePort}`, "--quiet"],
          this.options.logFile ?? join(this.dataDir, "..", `tk-minio-${this.port}.log`),
          {
            ...process.env,
            MINIO_ROOT_USER: this.accessKey,
            MINIO_ROOT_PASSWORD: this.secretKey,
            MINIO_BROWSER: "off",
            MINIO_UPDATE: "off",
            ...this.options.env,
          },
        );
        await this.process.start();
        await this.process.waitUntil(async () => {
          if (!(await canConnect("127.0.0.1", this.port))) return false;
          // Always with a timeout: fetch can wait forever on a port that accepts and drops connections.
          const health = await fetch(`${this.endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(2000) });
          await health.body?.cancel();
          return health.ok;
        }, 60_000);
      },
      this.options.retry,
    );
    this.everStarted = true;
    return this;
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    if (this.ownsDataDir) {
      await rm(this.dataDir, { recursive: true, force: true });
      this.ownsDataDir = false;
    }
  }
}
