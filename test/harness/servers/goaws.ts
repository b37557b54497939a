import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ManagedProcess, toolPath } from "../../../lib/servers/process.js";
import { LocalSqsServer, type SqsLaunch, type SqsServerOptions } from "./sqsServer.js";

export interface GoawsOptions extends SqsServerOptions {
  /** Queues created at start. */
  queues?: string[];
  /** Every queue's visibility timeout in seconds (default 30): a message received and not deleted comes back after it. */
  visibilityTimeoutSeconds?: number;
}

/**
 * A local goaws SQS server (test/harness; built by scripts/provision.sh), for `listen
 * --sqs-queue-url`. goaws v0.4.5 speaks SQS's Query protocol only, so clients of it are made with
 * `sqsProtocol: "query"`; it takes any credentials. It binds 0.0.0.0 (it has no host setting);
 * queue URLs name 127.0.0.1.
 */
export class GoawsServer extends LocalSqsServer {
  readonly accountId = "100010001000";
  protected readonly name = "goaws";

  constructor(private readonly goaws: GoawsOptions = {}) {
    super(goaws);
  }

  protected async launch(dir: string, logFile: string): Promise<SqsLaunch> {
    const binary = toolPath("goaws", "GOAWS_PATH");
    const queues = (this.goaws.queues ?? []).map((name) => `    - Name: ${name}\n`).join("");
    const config = join(dir, `goaws-${this.port}.yaml`);
    await writeFile(
      config,
      // No Region: goaws would put it in front of the host in queue URLs.
      `Local:\n  Host: 127.0.0.1\n  Port: ${this.port}\n  AccountId: "${this.accountId}"\n  LogToFile: false\n` +
        `  QueueAttributeDefaults:\n    VisibilityTimeout: ${this.goaws.visibilityTimeoutSeconds ?? 30}\n    ReceiveMessageWaitTimeSeconds: 0\n    MaximumMessageSize: 262144\n` +
        `  Queues:${queues ? `\n${queues}` : " []\n"}  Topics: []\n`,
    );
    return { process: new ManagedProcess("goaws", binary, ["-config", config, "Local"], logFile, process.env), health: `${this.endpoint}/health` };
  }
}
