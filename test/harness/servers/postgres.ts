import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ConfigError } from "../../../lib/errors.js";
import { pickPort } from "../../../lib/servers/ports.js";
import { ManagedProcess, canConnect, startWithRetries } from "../../../lib/servers/process.js";

const run = promisify(execFile);

/**
 * The folder with this machine's PostgreSQL server programs (initdb, postgres): $PG_BIN_DIR, else
 * the newest /usr/lib/postgresql/<version>/bin (Debian, Ubuntu), else the folder of `pg_config
 * --bindir`. Undefined when there is none.
 */
export async function postgresBinDir(): Promise<string | undefined> {
  const has = (dir: string): boolean => existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres"));
  if (process.env.PG_BIN_DIR) {
    if (!has(process.env.PG_BIN_DIR)) throw new ConfigError("PG_BIN_DIR", `${process.env.PG_BIN_DIR} has no initdb and postgres`);
    return process.env.PG_BIN_DIR;
  }
  const debian = "/usr/lib/postgresql";
  const versions = existsSync(debian) ? readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) if (has(join(debian, version, "bin"))) return join(debian, version, "bin");
  const fromPgConfig = await run("pg_config", ["--bindir"]).then((r) => r.stdout.trim(), () => undefined);
  return fromPgConfig && has(fromPgConfig) ? fromPgConfig : undefined;
}

/**
 * A throwaway PostgreSQL cluster on 127.0.0.1 and a free port, for the production-shaped Temporal
 * cluster: `initdb` into a new temporary folder, one superuser (`user`) trusted on the loopback
 * address only, `postgres` as a child process we can stop. PostgreSQL refuses to run as root: as
 * root, the folder is given to the `postgres` (or `nobody`) account and the programs run as it
 * (setpriv, which execs, so the process we hold is postgres itself).
 */
export class PostgresServer {
  readonly user = "temporal";
  readonly password = "temporal";
  port = 0;
  dataDir = "";
  private root = "";
  private process: ManagedProcess | undefined;

  constructor(
    private readonly binDir: string,
    private readonly logFile: string,
  ) {}

  /** As root: the account to run as, and the command prefix that switches to it. */
  private async runAs(): Promise<{ prefix: string[]; uid: number; gid: number } | undefined> {
    if (userInfo().uid !== 0) return undefined;
    for (const account of ["postgres", "nobody"]) {
      const ids = await run("id", ["-u", account]).then(async (u) => ({ uid: Number(u.stdout), gid: Number((await run("id", ["-g", account])).stdout) }), () => undefined);
      if (ids) return { prefix: ["setpriv", `--reuid=${ids.uid}`, `--regid=${ids.gid}`, "--clear-groups"], ...ids };
    }
    throw new ConfigError("PostgreSQL", "running as root, and no 'postgres' or 'nobody' account to run PostgreSQL as");
  }

  async start(): Promise<this> {
    const as = await this.runAs();
    const command = (program: string, args: string[]): [string, string[]] => {
      const full = [join(this.binDir, program), ...args];
      return as ? [as.prefix[0]!, [...as.prefix.slice(1), ...full]] : [full[0]!, full.slice(1)];
    };
    if (!this.root) {
      this.root = await mkdtemp(join(tmpdir(), "tk-postgres-"));
      if (as) await chown(this.root, as.uid, as.gid);
      this.dataDir = join(this.root, "data");
      const [initdb, args] = command("initdb", ["-D", this.dataDir, "-U", this.user, "--auth=trust", "-E", "UTF8", "--no-sync"]);
      await run(initdb, args).catch((error: { stderr?: string }) => {
        throw new ConfigError("PostgreSQL initdb", (error.stderr ?? String(error)).trim().split("\n").pop() ?? "failed");
      });
    }
    const restart = this.port !== 0;
    await startWithRetries("postgres", async () => {
      if (!restart) this.port = await pickPort();
      const [postgres, args] = command("postgres", ["-D", this.dataDir, "-p", String(this.port), "-k", this.dataDir, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]);
      this.process = new ManagedProcess("postgres", postgres, args, this.logFile);
      await this.process.start();
      await this.process.waitUntil(async () => (await canConnect("127.0.0.1", this.port)) && (await this.accepts()), 60_000);
    });
    return this;
  }

  /** The log says it accepts connections (a port that answers may still be starting up). */
  private async accepts(): Promise<boolean> {
    const { readFile } = await import("node:fs/promises");
    return /ready to accept connections/.test(await readFile(this.logFile, "utf8").catch(() => ""));
  }

  /** The postmaster's process id (its backends are its children). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  async stop(): Promise<void> {
    // SIGTERM is PostgreSQL's "smart" shutdown, which waits for clients: SIGINT ("fast") does not.
    if (this.process?.running && this.process.pid) process.kill(this.process.pid, "SIGINT");
    await this.process?.stop(15_000);
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}
