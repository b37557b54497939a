import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pickPort, type PortPicker } from "../../../lib/servers/ports.js";
import { ManagedProcess, canConnect, startWithRetries, toolPath, type RetryOptions, type StartReport } from "../../../lib/servers/process.js";

export interface GoawsOptions {
  /** SQS API port; one we pick when omitted. */
  port?: number;
  logFile?: string;
  /** Queues created at start. */
  queues?: string[];
  /** Every queue's visibility timeout in seconds (default 30): a message received and not deleted comes back after it. */
  visibilityTimeoutSeconds?: number;
  pickPort?: PortPicker;
  retry?: RetryOptions;
}

/**
 * A local goaws SQS server (test/harness; built by scripts/provision.sh), for `listen
 * --sqs-queue-url`. goaws v0.4.5 speaks SQS's Query protocol only, so clients of it are made with
 * `sqsProtocol: "query"`; it takes any credentials. It binds 0.0.0.0 (it has no host setting);
 * queue URLs name 127.0.0.1. A start that fails on an address in use is tried again on a fresh port.
 */
export class GoawsServer {
  readonly accountId = "100010001000";
  private process: ManagedProcess | undefined;
  private dir: string | undefined;
  port = 0;
  lastStart: StartReport | undefined;

  constructor(private readonly options: GoawsOptions = {}) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  queueUrl(name: string): string {
    return `${this.endpoint}/${this.accountId}/${name}`;
  }

  async start(): Promise<this> {
    this.dir ??= await mkdtemp(join(tmpdir(), "tk-goaws-"));
    const binary = toolPath("goaws", "GOAWS_PATH");
    const pick = this.options.pickPort ?? pickPort;
    this.lastStart = await startWithRetries(
      "goaws",
      async () => {
        this.port = this.options.port ?? (await pick());
        const queues = (this.options.queues ?? []).map((name) => `    - Name: ${name}\n`).join("");
        const config = join(this.dir!, `goaws-${this.port}.yaml`);
        await writeFile(
          config,
          // No Region: goaws would put it in front of the host in queue URLs.
          `Local:\n  Host: 127.0.0.1\n  Port: ${this.port}\n  AccountId: "${this.accountId}"\n  LogToFile: false\n` +
            `  QueueAttributeDefaults:\n    VisibilityTimeout: ${this.options.visibilityTimeoutSeconds ?? 30}\n    ReceiveMessageWaitTimeSeconds: 0\n    MaximumMessageSize: 262144\n` +
            `  Queues:${queues ? `\n${queues}` : " []\n"}  Topics: []\n`,
        );
        this.process = new ManagedProcess("goaws", binary, ["-config", config, "Local"], this.options.logFile ?? join(this.dir!, "goaws.log"), process.env);
        await this.process.start();
        await this.process.waitUntil(async () => {
          if (!(await canConnect("127.0.0.1", this.port))) return false;
          const health = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(2000) });
          await health.body?.cancel();
          return health.ok;
        }, 30_000);
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
