import { ManagedProcess, toolPath } from "../../../lib/servers/process.js";
import { LocalSqsServer, type SqsLaunch } from "./sqsServer.js";

/**
 * A local moto server (moto from PyPI in a virtualenv of its own, installed by
 * scripts/provision.sh), as the SQS server that speaks AWS's JSON protocol, the SDK's default and
 * what AWS itself answers (goaws speaks only the Query protocol); it answers the Query protocol
 * too. It takes any credentials; queues are created with CreateQueue (their visibility timeout as
 * a queue attribute).
 */
export class MotoServer extends LocalSqsServer {
  readonly accountId = "123456789012";
  protected readonly name = "moto";

  protected async launch(_dir: string, logFile: string): Promise<SqsLaunch> {
    const binary = toolPath("moto_server", "MOTO_SERVER_PATH");
    // MOTO_PORT: the queue URLs it answers with name this port.
    const server = new ManagedProcess("moto", binary, ["-H", "127.0.0.1", "-p", String(this.port)], logFile, { ...process.env, MOTO_PORT: String(this.port) });
    return { process: server, health: `${this.endpoint}/moto-api/data.json` };
  }
}
