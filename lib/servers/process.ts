import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createServer, connect } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, ServerProcessError } from "../errors.js";

/** Repository root (this file is lib/servers/process.ts, or dist/lib/servers/process.js). */
export const repositoryRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

/**
 * Locate a tool binary: the environment override first, then what scripts/provision.sh linked into
 * .tools/bin. Throws a ConfigError telling the user how to get it.
 */
export function toolPath(name: "temporal" | "minio" | "toxiproxy-server", overrideVariable: string): string {
  const override = process.env[overrideVariable];
  if (override) {
    if (!existsSync(override)) throw new ConfigError(overrideVariable, `${override} does not exist`);
    return override;
  }
  const provisioned = resolve(repositoryRoot, ".tools/bin", name);
  if (existsSync(provisioned)) return provisioned;
  throw new ConfigError(
    overrideVariable,
    `${name} not found: run 'bash scripts/provision.sh' (builds it with Go) or set ${overrideVariable} to a ${name} binary`,
  );
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** True once something accepts TCP connections on host:port. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolveConnect(false);
    });
    socket.once("error", () => resolveConnect(false));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Children still running; killed when this process exits, so no server outlives its owner. */
const liveChildren = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL");
});

/** The last lines of a log file, to quote in an error. */
function logTail(path: string, lines = 5): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/**
 * A child process whose output goes to a log file, with readiness polling and a stop that always
 * ends it (SIGTERM, then SIGKILL after a grace period). Used for the dev server, MinIO, Toxiproxy.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

  constructor(
    readonly label: string,
    readonly command: string,
    readonly args: string[],
    readonly logFile: string,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.logFile), { recursive: true });
    const log = createWriteStream(this.logFile, { flags: "a" });
    const child = spawn(this.command, this.args, { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    liveChildren.add(child);
    this.exited = new Promise((resolveExit) => {
      child.once("exit", (code) => {
        liveChildren.delete(child);
        resolveExit(code);
      });
      child.once("error", () => {
        liveChildren.delete(child);
        resolveExit(-1);
      });
    });
    this.child = child;
  }

  /**
   * Poll `ready` until it returns true; fail early with the log's location if the process exits,
   * and after `timeoutMs` in any case.
   */
  async waitUntil(ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new ServerProcessError(
          this.label,
          `exited during start-up (code ${this.child?.exitCode}); end of ${this.logFile}:\n${logTail(this.logFile)}`,
        );
      }
      if (await ready().catch(() => false)) return;
      await sleep(100);
    }
    throw new ServerProcessError(this.label, `not ready after ${timeoutMs} ms; end of ${this.logFile}:\n${logTail(this.logFile)}`);
  }

  /** Graceful stop: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running || !this.child) return;
    this.child.kill("SIGTERM");
    const stopped = await Promise.race([this.exited!.then(() => true), sleep(graceMs).then(() => false)]);
    if (!stopped) await this.kill();
  }

  /** Immediate SIGKILL (crash simulation); resolves when the process is gone. */
  async kill(): Promise<void> {
    if (!this.running || !this.child) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }
}
