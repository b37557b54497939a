import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pickPort, type PortPicker } from "../../../lib/servers/ports.js";
import { ManagedProcess, canConnect, startWithRetries, toolPath, type RetryOptions, type StartReport } from "../../../lib/servers/process.js";

export interface MotoOptions {
  /** API port; one we pick when omitted. */
  port?: number;
  logFile?: string;
  pickPort?: PortPicker;
  retry?: RetryOptions;
}

/**
 * A local moto server (test/harness; moto from PyPI in a virtualenv of its own, installed by
 * scripts/provision.sh), as the SQS server that speaks AWS's JSON protocol, the SDK's default and
 * what AWS itself answers (goaws speaks only the Query protocol). It takes any credentials; queues
 * are created with CreateQueue (their visibility timeout as a queue attribute). A start that fails
 * on an address in use is tried again on a fresh port.
 */
export class MotoServer {
  readonly accountId = "123456789012";
  private process: ManagedProcess | undefined;
  private dir: string | undefined;
  port = 0;
  lastStart: StartReport | undefined;

  constructor(private readonly options: MotoOptions = {}) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  queueUrl(name: string): string {
    return `${this.endpoint}/${this.accountId}/${name}`;
  }

  async start(): Promise<this> {
    this.dir ??= await mkdtemp(join(tmpdir(), "tk-moto-"));
    const binary = toolPath("moto_server", "MOTO_SERVER_PATH");
    const pick = this.options.pickPort ?? pickPort;
    this.lastStart = await startWithRetries(
      "moto",
      async () => {
        this.port = this.options.port ?? (await pick());
        this.process = new ManagedProcess("moto", binary, ["-H", "127.0.0.1", "-p", String(this.port)], this.options.logFile ?? join(this.dir!, "moto.log"), {
          ...process.env,
          // The queue URLs it answers with name this host and port.
          MOTO_PORT: String(this.port),
        });
        await this.process.start();
        await this.process.waitUntil(async () => {
          if (!(await canConnect("127.0.0.1", this.port))) return false;
          const health = await fetch(`${this.endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) });
          await health.body?.cancel();
          return health.ok;
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
