import { Connection } from "@temporalio/client";
import { TestWorkflowEnvironment } from "@temporalio/testing";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManagedProcess, canConnect, freePort, toolPath } from "../lib/servers/process.js";

export type SearchAttributeType = "Text" | "Keyword" | "Int" | "Double" | "Bool" | "Datetime" | "KeywordList";

export interface DevServerOptions {
  /** Custom search attributes to register at start-up, name to type. */
  searchAttributes?: Record<string, SearchAttributeType>;
  /** SQLite file for the server's state: keeps workflows across restarts. A temp file when omitted. */
  dbFile?: string;
  port?: number;
  /** Serve the Web UI (on `uiPort`, free port when omitted). */
  ui?: boolean;
  uiPort?: number;
  logFile?: string;
  /** Extra `--dynamic-config-value KEY=VALUE` settings. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

/**
 * The Temporal dev server (`temporal server start-dev`) as a child process we control: it can be
 * stopped, SIGKILLed and restarted on the same database file, which the tests use to prove a
 * backfill survives a server crash. Without a built `temporal` binary it falls back to the dev
 * server that @temporalio/testing downloads (needs internet; no kill/restart then).
 */
export class TemporalDevServer {
  private process: ManagedProcess | undefined;
  private downloaded: TestWorkflowEnvironment | undefined;
  port = 0;
  uiPort = 0;
  dbFile = "";

  constructor(private readonly options: DevServerOptions = {}) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get uiUrl(): string | undefined {
    return this.options.ui ? `http://127.0.0.1:${this.uiPort}` : undefined;
  }

  async start(): Promise<this> {
    this.port ||= this.options.port ?? (await freePort());
    if (this.options.ui) this.uiPort ||= this.options.uiPort ?? (await freePort());
    this.dbFile ||= this.options.dbFile ?? join(await mkdtemp(join(tmpdir(), "tk-temporal-")), "temporal.db");
    let binary: string | undefined;
    try {
      binary = toolPath("temporal", "TEMPORAL_CLI_PATH");
    } catch (error) {
      if (process.env.TK_NO_DOWNLOAD === "1") throw error;
    }
    if (binary === undefined) return this.startDownloaded();

    const args = [
      "server", "start-dev",
      "--ip", "127.0.0.1",
      "--port", String(this.port),
      "--db-filename", this.dbFile,
      "--log-level", "warn",
      ...(this.options.ui ? ["--ui-port", String(this.uiPort)] : ["--headless"]),
      ...Object.entries(this.options.searchAttributes ?? {}).flatMap(([name, type]) => ["--search-attribute", `${name}=${type}`]),
      ...Object.entries(this.options.dynamicConfig ?? {}).flatMap(([key, value]) => [
        "--dynamic-config-value",
        `${key}=${JSON.stringify(value)}`,
      ]),
    ];
    this.process = new ManagedProcess("temporal dev server", binary, args, this.options.logFile ?? `${this.dbFile}.log`);
    await this.process.start();
    await this.process.waitUntil(() => this.answers(), 120_000);
    return this;
  }

  private async startDownloaded(): Promise<this> {
    this.downloaded = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: "127.0.0.1",
        port: this.port,
        dbFilename: this.dbFile,
        ui: this.options.ui ?? false,
        ...(this.options.ui ? { uiPort: this.uiPort } : {}),
        extraArgs: Object.entries(this.options.searchAttributes ?? {}).flatMap(([name, type]) => [
          "--search-attribute",
          `${name}=${type}`,
        ]),
      },
    });
    return this;
  }

  /** True when the frontend accepts gRPC and the default namespace is served. */
  private async answers(): Promise<boolean> {
    if (!(await canConnect("127.0.0.1", this.port))) return false;
    const connection = await Connection.connect({ address: this.address, connectTimeout: 2000 });
    try {
      await connection.workflowService.describeNamespace({ namespace: "default" });
      return true;
    } finally {
      await connection.close();
    }
  }

  /** Graceful stop; the database file stays, so `start()` resumes every workflow. */
  async stop(): Promise<void> {
    await this.process?.stop();
    await this.downloaded?.teardown();
    this.downloaded = undefined;
  }

  /** SIGKILL, as a crash would. */
  async kill(): Promise<void> {
    if (!this.process) throw new Error("kill() needs a locally built temporal binary");
    await this.process.kill();
  }
}
