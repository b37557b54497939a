import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pickPort, type PortPicker } from "../../../lib/servers/ports.js";
import { ManagedProcess, canConnect, startWithRetries, type RetryOptions, type StartReport } from "../../../lib/servers/process.js";

export interface SqsServerOptions {
  /** SQS API port; one we pick when omitted. */
  port?: number;
  logFile?: string;
  pickPort?: PortPicker;
  retry?: RetryOptions;
}

/** How one SQS server program is started: its process in `dir` on `port`, and the URL that answers once it is up. */
export interface SqsLaunch {
  process: ManagedProcess;
  health: string;
}

/**
 * A local SQS server for the tests (goaws, moto: test/harness/servers/*.ts say what each speaks): a
 * process on 127.0.0.1 whose queue URLs are `<endpoint>/<account>/<name>`, ready once its health
 * URL answers; a start that fails on an address in use is tried again on a fresh port.
 */
export abstract class LocalSqsServer {
  abstract readonly accountId: string;
  protected abstract readonly name: string;
  private process: ManagedProcess | undefined;
  private dir: string | undefined;
  port = 0;
  lastStart: StartReport | undefined;

  constructor(protected readonly options: SqsServerOptions = {}) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  queueUrl(name: string): string {
    return `${this.endpoint}/${this.accountId}/${name}`;
  }

  /** The server's process for `port`, with its files in `dir` and its log in `logFile`. */
  protected abstract launch(dir: string, logFile: string): Promise<SqsLaunch>;

  async start(): Promise<this> {
    this.dir ??= await mkdtemp(join(tmpdir(), `tk-${this.name}-`));
    const pick = this.options.pickPort ?? pickPort;
    this.lastStart = await startWithRetries(
      this.name,
      async () => {
        this.port = this.options.port ?? (await pick());
        const { process, health } = await this.launch(this.dir!, this.options.logFile ?? join(this.dir!, `${this.name}.log`));
        this.process = process;
        await process.start();
        await process.waitUntil(async () => {
          if (!(await canConnect("127.0.0.1", this.port))) return false;
          const answer = await fetch(health, { signal: AbortSignal.timeout(2000) });
          await answer.body?.cancel();
          return answer.ok;
        }, 60_000);
      },
      this.options.retry,
    );
    return this;
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
