import { Connection } from "@temporalio/client";
import type { TestWorkflowEnvironment } from "@temporalio/testing";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../lib/errors.js";
import { pickPort, type PortPicker } from "../lib/servers/ports.js";
import { AddressInUseError, ManagedProcess, canConnect, startWithRetries, toolPath, type RetryOptions, type StartReport } from "../lib/servers/process.js";

export type SearchAttributeType = "Text" | "Keyword" | "Int" | "Double" | "Bool" | "Datetime" | "KeywordList";

export interface DevServerOptions {
  /** Custom search attributes to register at start-up, name to type. */
  searchAttributes?: Record<string, SearchAttributeType>;
  /** SQLite file for the server's state: keeps workflows across restarts. A temp file when omitted. */
  dbFile?: string;
  /** Frontend gRPC port; one we pick when omitted. */
  port?: number;
  /** Serve the Web UI (on `uiPort`, one we pick when omitted). */
  ui?: boolean;
  uiPort?: number;
  logFile?: string;
  /**
   * SQLite pragmas of the server's database (`--sqlite-pragma NAME=VALUE`). Default: WAL journal
   * with synchronous=NORMAL. The dev server's own default (a rollback journal synced at every
   * commit) costs more server time than a small file's extraction (docs/benchmarks.md: a decade of
   * small files 12 x the bare library with it, 4.6 x with WAL); WAL with NORMAL still loses nothing
   * when the server process is killed (only a machine crash can drop the last commits), which is
   * what the tests that SIGKILL it check. `{}` keeps the dev server's default.
   */
  sqlitePragmas?: Record<string, string>;
  /** Extra `--dynamic-config-value KEY=VALUE` settings, over `FEW_SHARDS_DYNAMIC_CONFIG`. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** Where the ports we choose come from (default `pickPort`; a test hands out an occupied one first). */
  pickPort?: PortPicker;
  /** Tries when an address is in use, and who hears of a retry (see `startWithRetries`). */
  retry?: RetryOptions;
  /**
   * Run the server in a process group of its own (see `ManagedProcessOptions`): a Ctrl-C at the
   * terminal reaches only us, and we stop it after what runs on it. Whoever sets it stops the
   * server on every way out (this process's exit kills it).
   */
  ownProcessGroup?: boolean;
}

/**
 * Dynamic config for a server with few history shards: every dev server we start (demo, tests,
 * benchmarks) and our test cluster (4 shards). The server reads each history shard's task queues
 * (transfer: workflow and activity tasks, child workflows, signals; timer; visibility) at most
 * `history.*ProcessorMaxPollRPS` times a second, 20 by default. A large cluster spreads workflows
 * over hundreds of shards; the dev server has one, so there every task that follows another (a
 * child's end waking its parent, a signal, the next activity) waited for the next of 20 reads a
 * second: 50 ms a hop once a short burst was spent, about 2 ms with 200 (docs/benchmarks.md,
 * part 6; docs/deploy.md for a small cluster).
 */
export const FEW_SHARDS_DYNAMIC_CONFIG: Readonly<Record<string, number>> = {
  "history.transferProcessorMaxPollRPS": 200,
  "history.timerProcessorMaxPollRPS": 200,
  "history.visibilityProcessorMaxPollRPS": 200,
};

/**
 * The Temporal dev server (`temporal server start-dev`) as a child process we control: it can be
 * stopped, SIGKILLed and restarted on the same database file, which the tests use to prove a
 * backfill survives a server crash. Every port it binds that its command line lets us set
 * (frontend gRPC, frontend HTTP, metrics, Web UI) comes from us; its internal services pick their
 * own (the CLI has no flag for them), which is why a start that fails on an address in use is
 * tried again on fresh ports. A restart keeps the frontend and UI ports, which clients hold.
 *
 * Without a built `temporal` binary it falls back to the dev server that @temporalio/testing
 * downloads (a development dependency: present in a clone; needs internet; no kill then).
 */
export class TemporalDevServer {
  private process: ManagedProcess | undefined;
  private downloaded: TestWorkflowEnvironment | undefined;
  port = 0;
  uiPort = 0;
  httpPort = 0;
  metricsPort = 0;
  dbFile = "";
  /** How the last `start()` went (attempts, and why earlier ones failed). */
  lastStart: StartReport | undefined;
  private everStarted = false;

  constructor(private readonly options: DevServerOptions = {}) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get uiUrl(): string | undefined {
    return this.options.ui ? `http://127.0.0.1:${this.uiPort}` : undefined;
  }

  async start(): Promise<this> {
    this.dbFile ||= this.options.dbFile ?? join(await mkdtemp(join(tmpdir(), "tk-temporal-")), "temporal.db");
    let binary: string | undefined;
    try {
      binary = toolPath("temporal", "TEMPORAL_CLI_PATH");
    } catch (error) {
      if (process.env.TK_NO_DOWNLOAD === "1") throw error;
    }
    const pick = this.options.pickPort ?? pickPort;
    // Ports clients hold (frontend, UI) stay across restarts; the first start may still change them on a retry.
    const restart = this.everStarted;
    this.lastStart = await startWithRetries(
      "temporal dev server",
      async () => {
        if (!restart) {
          this.port = this.options.port ?? (await pick());
          if (this.options.ui) this.uiPort = this.options.uiPort ?? (await pick());
        }
        this.httpPort = await pick();
        this.metricsPort = await pick();
        if (binary === undefined) await this.startDownloaded();
        else await this.startBuilt(binary);
      },
      this.options.retry,
    );
    this.everStarted = true;
    return this;
  }

  private extraArgs(): string[] {
    return [
      "--http-port", String(this.httpPort),
      "--metrics-port", String(this.metricsPort),
      ...Object.entries(this.options.sqlitePragmas ?? { journal_mode: "WAL", synchronous: "NORMAL" }).flatMap(([name, value]) => ["--sqlite-pragma", `${name}=${value}`]),
      ...Object.entries(this.options.searchAttributes ?? {}).flatMap(([name, type]) => ["--search-attribute", `${name}=${type}`]),
      ...Object.entries({ ...FEW_SHARDS_DYNAMIC_CONFIG, ...this.options.dynamicConfig }).flatMap(([key, value]) => ["--dynamic-config-value", `${key}=${JSON.stringify(value)}`]),
    ];
  }

  private async startBuilt(binary: string): Promise<void> {
    const args = [
      "server", "start-dev",
      "--ip", "127.0.0.1",
      "--port", String(this.port),
      "--db-filename", this.dbFile,
      "--log-level", "warn",
      ...(this.options.ui ? ["--ui-port", String(this.uiPort)] : ["--headless"]),
      ...this.extraArgs(),
    ];
    this.process = new ManagedProcess("temporal dev server", binary, args, this.options.logFile ?? `${this.dbFile}.log`, process.env, {
      ownProcessGroup: this.options.ownProcessGroup ?? false,
    });
    await this.process.start();
    await this.process.waitUntil(() => this.answers(), 120_000);
  }

  private async startDownloaded(): Promise<void> {
    let testing: typeof import("@temporalio/testing");
    try {
      testing = await import("@temporalio/testing");
    } catch {
      throw new ConfigError(
        "TEMPORAL_CLI_PATH",
        "no temporal binary: run 'bash scripts/provision.sh' (builds it with Go), set TEMPORAL_CLI_PATH to a temporal CLI, " +
          "or install @temporalio/testing (npm install --no-save @temporalio/testing) to download a dev server",
      );
    }
    try {
      this.downloaded = await testing.TestWorkflowEnvironment.createLocal({
        server: {
          ip: "127.0.0.1",
          port: this.port,
          dbFilename: this.dbFile,
          ui: this.options.ui ?? false,
          ...(this.options.ui ? { uiPort: this.uiPort } : {}),
          extraArgs: this.extraArgs(),
        },
      });
    } catch (error) {
      const message = (error as Error).message;
      if (/address already in use/i.test(message)) throw new AddressInUseError("temporal dev server", message, message);
      throw error;
    }
  }

  /**
   * True when the frontend accepts gRPC and the default namespace is served, and our metrics port
   * answers too: a frontend port that some other server holds must not pass for ours.
   */
  private async answers(): Promise<boolean> {
    if (!(await canConnect("127.0.0.1", this.port))) return false;
    const metrics = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(2000) });
    await metrics.body?.cancel();
    if (!metrics.ok) return false;
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
