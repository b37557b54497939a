import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, statSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { connect } from "node:net";
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
export function toolPath(name: "temporal" | "temporal-server" | "temporal-sql-tool" | "minio" | "toxiproxy-server" | "goaws" | "moto_server", overrideVariable: string): string {
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

/**
 * Whether process `pid` is alive. A process of another user is too: signal 0 then fails with
 * EPERM, not ESRCH (only ESRCH says there is none). A zombie is not (it answers signal 0, but has
 * ended; where no init reaps it, as in some containers, it stays).
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return true; // no /proc: signal 0 is all there is
  }
}

/**
 * Processes (other than this one) one of whose command-line arguments contains `text`, from
 * /proc: empty where there is no /proc. Finds a server by the file it was started on.
 */
export async function processesNaming(text: string): Promise<{ pid: number; args: string[] }[]> {
  const entries = await readdir("/proc").catch(() => [] as string[]);
  const found: { pid: number; args: string[] }[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const args = await readFile(`/proc/${pid}/cmdline`, "utf8").then(
      (raw) => raw.split("\0").filter(Boolean),
      () => [],
    );
    if (args.some((arg) => arg.includes(text))) found.push({ pid, args });
  }
  return found;
}

/**
 * Children still running, each with how to signal it; killed when this process exits (normally,
 * by process.exit or by an uncaught error: not when a signal without a handler kills it), so no
 * server outlives its owner.
 */
const liveChildren = new Map<ChildProcess, (signal: NodeJS.Signals) => void>();
process.once("exit", () => {
  for (const signal of liveChildren.values()) signal("SIGKILL");
});

/** The log written since byte `from` (the start of this run: log files are appended to). */
function logSince(path: string, from: number): string {
  try {
    return readFileSync(path).subarray(from).toString("utf8");
  } catch {
    return "";
  }
}

/** The last lines of a log, to quote in an error. */
const tail = (log: string, lines = 5): string => log.trimEnd().split("\n").slice(-lines).join("\n");

/** How our servers (Go's net package, MinIO, Node) say a port was taken. */
const ADDRESS_IN_USE = /address already in use|port is already in use|EADDRINUSE/i;

/**
 * A server could not bind an address: one we chose was taken between our check and its start,
 * or one it chose itself. Starting again on fresh ports fixes it (`startWithRetries`).
 */
export class AddressInUseError extends ServerProcessError {
  constructor(
    server: string,
    readonly logLine: string,
    detail: string,
  ) {
    super(server, detail);
  }
}

export interface ManagedProcessOptions {
  /**
   * Run it in a process group of its own: a Ctrl-C at the terminal (SIGINT to the terminal's
   * process group) then reaches only its owner, which can stop what runs on the server before
   * stopping the server (the demo). The owner must then stop it on every way out: this process's
   * exit kills it, but a signal this process does not handle would leave it running.
   */
  ownProcessGroup?: boolean;
}

/**
 * A child process whose output goes to a log file, with readiness polling and a stop that always
 * ends it (SIGTERM, then SIGKILL after a grace period). Used for the dev server, MinIO, Toxiproxy.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  /** Size of the log file when this run started: what follows is this run's output. */
  private logStart = 0;

  constructor(
    readonly label: string,
    readonly command: string,
    readonly args: string[],
    readonly logFile: string,
    readonly env: NodeJS.ProcessEnv = process.env,
    readonly options: ManagedProcessOptions = {},
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.logFile), { recursive: true });
    this.logStart = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    // The child writes into the log file itself, not through pipes to this process: a server that
    // outlives its owner (a killed demo's dev server) would otherwise die of SIGPIPE, or of EPIPE,
    // at its next log line, and what it said last would be lost with the pipe.
    const log = openSync(this.logFile, "a");
    const ownGroup = this.options.ownProcessGroup ?? false;
    let child: ChildProcess;
    try {
      child = spawn(this.command, this.args, { env: this.env, stdio: ["ignore", log, log], detached: ownGroup });
    } finally {
      closeSync(log);
    }
    liveChildren.set(child, (signal) => {
      // Its group when it has one: whatever it started goes too.
      if (ownGroup && child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal);
          return;
        } catch {
          // The group is gone already (or was never made): signal the child itself.
        }
      }
      child.kill(signal);
    });
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
   * Poll `ready` until it returns true; fail early, quoting the log, if the process exits or logs
   * that an address is in use (an AddressInUseError then, after stopping it), and after
   * `timeoutMs` in any case.
   */
  async waitUntil(ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const exited = !this.running;
      const log = logSince(this.logFile, this.logStart);
      const inUse = log.split("\n").find((line) => ADDRESS_IN_USE.test(line));
      if (exited || inUse) {
        // Some servers log the failed bind and linger (or panic a moment later): end it either way.
        if (!exited) await this.kill();
        const how = exited ? `exited during start-up (code ${this.child?.exitCode ?? this.child?.signalCode})` : "could not bind an address";
        const detail = `${how}; end of ${this.logFile}:\n${tail(logSince(this.logFile, this.logStart))}`;
        throw inUse ? new AddressInUseError(this.label, inUse.trim(), detail) : new ServerProcessError(this.label, detail);
      }
      if (await ready().catch(() => false)) return;
      await sleep(100);
    }
    await this.kill();
    throw new ServerProcessError(this.label, `not ready after ${timeoutMs} ms; end of ${this.logFile}:\n${tail(logSince(this.logFile, this.logStart))}`);
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.child) liveChildren.get(this.child)?.(signal);
  }

  /**
   * Fails with the end of its log once the process exits: raced against work that needs it
   * running, so that its death ends the wait instead of leaving it hanging.
   */
  async failWhenExited(): Promise<never> {
    const code = await (this.exited ?? new Promise<never>(() => undefined));
    throw new ServerProcessError(this.label, `exited (code ${code ?? this.child?.signalCode}); end of ${this.logFile}:\n${tail(logSince(this.logFile, this.logStart))}`);
  }

  /** Graceful stop: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running || !this.child) return;
    this.signal("SIGTERM");
    const stopped = await Promise.race([this.exited!.then(() => true), sleep(graceMs).then(() => false)]);
    if (!stopped) await this.kill();
  }

  /** Immediate SIGKILL (crash simulation); resolves when the process is gone. */
  async kill(): Promise<void> {
    if (!this.running || !this.child) return;
    this.signal("SIGKILL");
    await this.exited;
  }
}

/** How a start went: attempts taken, and why the earlier ones failed. */
export interface StartReport {
  /** 1 when the first try succeeded. */
  attempts: number;
  /** For each failed try, the server's log line saying which address was in use. */
  retried: string[];
  /** Wall time of the whole start, retries included. */
  ms: number;
}

export interface RetryOptions {
  /** Tries in all (default 4). */
  attempts?: number;
  /** Told of each retry; by default a line on stderr, so a retry is never silent. */
  onRetry?: (message: string) => void;
}

/**
 * Start a server on ports we choose: `attempt(n)` picks its ports and starts it. When it fails
 * with an AddressInUseError the next attempt runs (with fresh ports), up to `attempts` tries;
 * any other failure, or the last one, is reported as it is (with the server's log).
 */
export async function startWithRetries(label: string, attempt: (n: number) => Promise<void>, options: RetryOptions = {}): Promise<StartReport> {
  const attempts = options.attempts ?? 4;
  const onRetry = options.onRetry ?? ((message: string) => console.error(message));
  const started = performance.now();
  const retried: string[] = [];
  for (let n = 1; ; n++) {
    try {
      await attempt(n);
      return { attempts: n, retried, ms: Math.round(performance.now() - started) };
    } catch (error) {
      if (!(error instanceof AddressInUseError) || n >= attempts) throw error;
      retried.push(error.logLine);
      onRetry(`[${label}] address in use (${error.logLine.slice(0, 200)}); starting again on fresh ports (try ${n + 1} of ${attempts})`);
    }
  }
}
