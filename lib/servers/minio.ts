import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManagedProcess, canConnect, freePort, toolPath } from "./process.js";

export interface MinioOptions {
  /** Folder for MinIO's data; a new temporary folder (removed on stop) when omitted. */
  dataDir?: string;
  port?: number;
  logFile?: string;
}

/**
 * A local MinIO S3 server on 127.0.0.1 with throwaway credentials, for tests, the demo and
 * benchmarks. The credentials are generated per run and only ever passed by environment.
 */
export class MinioServer {
  readonly accessKey = "tk-minio-user";
  readonly secretKey: string = `tk-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  private process: ManagedProcess | undefined;
  private ownsDataDir = false;
  dataDir = "";
  port = 0;

  constructor(private readonly options: MinioOptions = {}) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = this.options.port ?? (await freePort());
    if (this.options.dataDir) {
      this.dataDir = this.options.dataDir;
    } else {
      this.dataDir = await mkdtemp(join(tmpdir(), "tk-minio-"));
      this.ownsDataDir = true;
    }
    const consolePort = await freePort();
    this.process = new ManagedProcess(
      "minio",
      toolPath("minio", "MINIO_PATH"),
      ["server", this.dataDir, "--address", `127.0.0.1:${this.port}`, "--console-address", `127.0.0.1:${consolePort}`, "--quiet"],
      this.options.logFile ?? join(this.dataDir, "..", `tk-minio-${this.port}.log`),
      {
        ...process.env,
        MINIO_ROOT_USER: this.accessKey,
        MINIO_ROOT_PASSWORD: this.secretKey,
        MINIO_BROWSER: "off",
        MINIO_UPDATE: "off",
      },
    );
    await this.process.start();
    await this.process.waitUntil(async () => {
      if (!(await canConnect("127.0.0.1", this.port))) return false;
      const health = await fetch(`${this.endpoint}/minio/health/ready`);
      return health.ok;
    }, 60_000);
    return this;
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}
