import { Connection } from "@temporalio/client";
import { msToTs } from "@temporalio/common/lib/time.js";
import { execFile } from "node:child_process";
import { createSign, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { pickPort } from "../../../lib/servers/ports.js";
import { ManagedProcess, canConnect, repositoryRoot, sleep, startWithRetries, toolPath } from "../../../lib/servers/process.js";
import { temporalConnectConfig } from "../../../worker/connection.js";
import { FEW_SHARDS_DYNAMIC_CONFIG } from "../../../worker/devServer.js";
import { prepareNamespace } from "../../../worker/namespace.js";
import { searchAttributeRegistrations } from "../../../workflows/searchAttributes.js";
import { PostgresServer, postgresBinDir } from "./postgres.js";

const run = promisify(execFile);

/** What a production-shaped cluster needs on this machine, or why it cannot run here. */
export async function clusterPrerequisites(): Promise<{ missing?: string; pgBinDir?: string }> {
  for (const [tool, variable] of [["temporal-server", "TEMPORAL_SERVER_PATH"], ["temporal-sql-tool", "TEMPORAL_SQL_TOOL_PATH"]] as const) {
    try {
      toolPath(tool, variable);
    } catch {
      return { missing: `${tool} is not built (needs Go: 'bash scripts/provision.sh temporal-server', or set ${variable})` };
    }
  }
  const pgBinDir = await postgresBinDir();
  if (!pgBinDir) return { missing: "no PostgreSQL server programs (initdb, postgres) on this machine: install postgresql, or set PG_BIN_DIR" };
  const openssl = await run("openssl", ["version"]).then(() => true, () => false);
  if (!openssl) return { missing: "openssl is not installed (it makes the cluster's certificates)" };
  return { pgBinDir };
}

/**
 * How clients prove who they are: "mtls" (a client certificate from our CA, which the frontend
 * requires), or "api-key" (Temporal Cloud's way: TLS without a client certificate, and a bearer
 * token the server checks: here a JWT signed by a key the server fetches from our JWKS endpoint,
 * with the default authorizer and claim mapper).
 */
export type ClusterAuth = "mtls" | "api-key";

export interface ClusterCertificates {
  ca: string;
  /** Client certificate and key per client name (scripts/cluster-certs.sh). */
  client(name: string): { cert: string; key: string };
}

/**
 * A Temporal cluster shaped like a production one, on this machine, for tests and benchmarks: the
 * Temporal server itself (go.temporal.io/server, built by scripts/provision.sh; all four services
 * in one process), PostgreSQL (a throwaway cluster of the machine's) for persistence and SQL
 * visibility with the schema applied by temporal-sql-tool, TLS on the frontend requiring client
 * certificates (mTLS) from a CA scripts/cluster-certs.sh makes (or, `auth` "api-key", TLS and API
 * keys checked by the server's JWT authorizer, as Temporal Cloud does), and the "default" namespace made
 * ready by our own `setup` (worker/namespace.ts). The server process can be SIGKILLed and started
 * again on the same ports and database, as a crash and a restart would.
 */
export class TemporalCluster {
  readonly postgres: PostgresServer;
  private server: ManagedProcess | undefined;
  readonly certDir: string;
  readonly configDir: string;
  port = 0;
  metricsPort = 0;
  private ports: Record<string, number> = {};
  private schemaDone = false;
  /** api-key mode: the key that signs API keys, and the JWKS endpoint that publishes it. */
  private signingKey: { privateKey: KeyObject; kid: string } | undefined;
  private jwks: Server | undefined;
  private jwksPort = 0;

  constructor(
    readonly dir: string,
    pgBinDir: string,
    /** Names of the client certificates to make (each its own CN), or of the API keys' subjects. */
    readonly clients: string[] = ["temporal-kerchunk-worker"],
    readonly auth: ClusterAuth = "mtls",
  ) {
    this.postgres = new PostgresServer(pgBinDir, join(dir, "postgres.log"));
    this.certDir = join(dir, "certs");
    this.configDir = join(dir, "config");
  }

  /**
   * The server's services, all in one process. With API keys, the server's own system workflows
   * (scanners, schedules) reach it through an internal frontend that is not authorized by API key,
   * as Temporal's docs advise, instead of the public one.
   */
  get services(): string[] {
    return ["frontend", ...(this.auth === "api-key" ? ["internal-frontend"] : []), "matching", "history", "worker"];
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get certificates(): ClusterCertificates {
    return { ca: join(this.certDir, "ca.pem"), client: (name) => ({ cert: join(this.certDir, `${name}.pem`), key: join(this.certDir, `${name}.key`) }) };
  }

  /**
   * The TEMPORAL_* environment a client named `name` connects with (as a user of such a cluster
   * sets it): its client certificate, or (api-key) an API key with `permissions` (the default
   * claim mapper's "<namespace>:<role>", "temporal-system:admin" for everything).
   */
  clientEnv(name: string, permissions: string[] = ["temporal-system:admin"]): Record<string, string> {
    const { cert, key } = this.certificates.client(name);
    return {
      TEMPORAL_ADDRESS: this.address,
      TEMPORAL_NAMESPACE: "default",
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: this.certificates.ca,
      ...(this.auth === "mtls" ? { TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key } : { TEMPORAL_API_KEY: this.apiKey(name, permissions) }),
      // The certificate names localhost and 127.0.0.1; a name (not an IP) keeps Node's TLS quiet.
      TEMPORAL_TLS_SERVER_NAME: "localhost",
    };
  }

  /** An API key for `subject`: a JWT (ES256) the server verifies with the key our JWKS endpoint publishes. */
  apiKey(subject: string, permissions: string[]): string {
    if (!this.signingKey) throw new Error("API keys need a cluster started with auth 'api-key'");
    const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsigned = `${part({ alg: "ES256", typ: "JWT", kid: this.signingKey.kid })}.${part({ sub: subject, permissions, exp: Math.floor(Date.now() / 1000) + 86_400 })}`;
    const signature = createSign("SHA256").update(unsigned).sign({ key: this.signingKey.privateKey, dsaEncoding: "ieee-p1363" });
    return `${unsigned}.${signature.toString("base64url")}`;
  }

  /** Publish a new signing key's public half as a JWKS document on a local port (api-key mode). */
  private async startJwks(): Promise<void> {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const kid = randomUUID();
    this.signingKey = { privateKey, kid };
    const body = JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" }] });
    this.jwks = createServer((_, response) => response.writeHead(200, { "content-type": "application/json" }).end(body));
    this.jwksPort = await pickPort();
    await new Promise<void>((resolveListen, reject) => this.jwks!.once("error", reject).listen(this.jwksPort, "127.0.0.1", resolveListen));
  }

  /** A client connection as `name`, from the same settings module the CLI and the worker use. */
  async connect(name = this.clients[0]!): Promise<Connection> {
    return Connection.connect({ ...temporalConnectConfig({}, this.clientEnv(name)).connectionOptions, connectTimeout: 5_000 });
  }

  async start(): Promise<this> {
    await mkdir(this.dir, { recursive: true });
    if (!existsSync(this.certificates.ca)) {
      await run("bash", [resolve(repositoryRoot, "scripts/cluster-certs.sh"), this.certDir, ...this.clients]);
    }
    if (!this.postgres.port) await this.postgres.start();
    if (this.auth === "api-key" && !this.jwks) await this.startJwks();
    if (!this.schemaDone) {
      await this.applySchema();
      this.schemaDone = true;
    }
    await this.startServer();
    await this.prepareDefaultNamespace();
    return this;
  }

  /** temporal-sql-tool: both databases, each at the schema version this server embeds. */
  private async applySchema(): Promise<void> {
    const tool = toolPath("temporal-sql-tool", "TEMPORAL_SQL_TOOL_PATH");
    const common = ["--plugin", "postgres12", "--ep", "127.0.0.1", "-p", String(this.postgres.port), "-u", this.postgres.user, "--pw", this.postgres.password];
    for (const [db, schema] of [["temporal", "postgresql/v12/temporal"], ["temporal_visibility", "postgresql/v12/visibility"]] as const) {
      for (const step of [["create-database"], ["setup-schema", "-v", "0.0"], ["update-schema", "--schema-name", schema]]) {
        await run(tool, [...common, "--db", db, ...step]).catch((error: { stderr?: string; message: string }) => {
          throw new Error(`temporal-sql-tool ${step[0]} on ${db} failed: ${(error.stderr ?? error.message).trim().split("\n").slice(-3).join(" | ")}`);
        });
      }
    }
  }

  private async writeConfig(): Promise<void> {
    const p = this.ports;
    const certs = this.certificates;
    const serverCert = join(this.certDir, "server.pem");
    const serverKey = join(this.certDir, "server.key");
    const systemWorker = certs.client(this.clients[0]!);
    const datastore = (database: string, conns: number): string => `
      sql:
        pluginName: postgres12
        databaseName: ${database}
        connectAddr: "127.0.0.1:${this.postgres.port}"
        connectProtocol: tcp
        user: ${this.postgres.user}
        password: ${this.postgres.password}
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
    const service = (name: string): string => `
  ${name}:
    rpc: { grpcPort: ${p[`${name}Grpc`]}, membershipPort: ${p[`${name}Membership`]}, bindOnLocalHost: true${name.endsWith("frontend") ? `, httpPort: ${p[`${name}Http`]}` : ""} }`;
    const config = `# Written by test/harness/servers/temporalCluster.ts
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:${datastore("temporal", 20)}
    visibility:${datastore("temporal_visibility", 10)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:${this.metricsPort}"
${this.auth === "api-key" ? `  authorization:
    jwtKeyProvider:
      keySourceURIs: ["http://127.0.0.1:${this.jwksPort}/jwks.json"]
      refreshInterval: 1m
    permissionsClaimName: permissions
    authorizer: default
    claimMapper: default
` : ""}  tls:
    frontend:
      server:
        certFile: ${serverCert}
        keyFile: ${serverKey}
        requireClientAuth: ${this.auth === "mtls"}
        clientCaFiles: [${certs.ca}]
      client:
        serverName: localhost
        rootCaFiles: [${certs.ca}]
    systemWorker:
      certFile: ${systemWorker.cert}
      keyFile: ${systemWorker.key}
      client:
        serverName: localhost
        rootCaFiles: [${certs.ca}]
services:${this.services.map(service).join("")}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "localhost:${this.port}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${join(this.configDir, "dynamicconfig.yaml")}
  pollInterval: 10s
`;
    await mkdir(this.configDir, { recursive: true });
    await writeFile(join(this.configDir, "development.yaml"), config);
    // A new namespace's settings (our search attributes among them) reach the frontend at the
    // namespace cache's refresh: 2 s here instead of 10 s, so a test does not wait for it. Its 4
    // history shards read their queues as a dev server's one does (FEW_SHARDS_DYNAMIC_CONFIG).
    const dynamicConfig = { "system.namespaceCacheRefreshInterval": "2s", ...FEW_SHARDS_DYNAMIC_CONFIG };
    await writeFile(join(this.configDir, "dynamicconfig.yaml"), Object.entries(dynamicConfig).map(([key, value]) => `${key}:\n  - value: ${value}\n`).join(""));
  }

  private async startServer(): Promise<void> {
    const binary = toolPath("temporal-server", "TEMPORAL_SERVER_PATH");
    const restart = this.port !== 0;
    await startWithRetries("temporal server", async (attempt) => {
      // The frontend (which clients hold) keeps its port across restarts; the rest may move on a retry.
      if (!restart) this.port = await pickPort();
      if (!restart || attempt > 1 || !this.metricsPort) {
        this.metricsPort = await pickPort();
        for (const service of this.services) {
          for (const port of ["Grpc", "Membership", "Http"]) if (`${service}${port}` !== "frontendGrpc") this.ports[`${service}${port}`] = await pickPort();
        }
      }
      this.ports.frontendGrpc = this.port;
      await this.writeConfig();
      const args = ["--root", this.dir, "--config", "config", "--env", "development", ...(this.auth === "mtls" ? ["--allow-no-auth"] : []), "start", ...this.services.flatMap((name) => ["--service", name])];
      this.server = new ManagedProcess("temporal server", binary, args, join(this.dir, "temporal-server.log"));
      await this.server.start();
      await this.server.waitUntil(() => this.answers(), 180_000);
    });
  }

  /** The frontend accepts our client certificate and answers; the metrics endpoint is ours. */
  private async answers(): Promise<boolean> {
    if (!(await canConnect("127.0.0.1", this.port))) return false;
    const metrics = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(2000) });
    await metrics.body?.cancel();
    if (!metrics.ok) return false;
    const connection = await this.connect();
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  }

  /** Register "default" (once; a server has none of its own) and add our search attributes. */
  private async prepareDefaultNamespace(): Promise<void> {
    const connection = await this.connect();
    try {
      await connection.workflowService.registerNamespace({ namespace: "default", workflowExecutionRetentionPeriod: msToTs("1 day") }).catch((error: { code?: number }) => {
        if (error.code !== 6) throw error; // ALREADY_EXISTS: a restart
      });
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ready = await prepareNamespace(connection, "default").then(() => true, (error: unknown) => {
          if (Date.now() > deadline) throw error;
          return false;
        });
        if (ready) break;
        await sleep(250);
      }
      // The attributes are usable once the frontend's namespace cache has them (dynamicconfig.yaml).
      for (;;) {
        const described = await connection.workflowService.describeNamespace({ namespace: "default" });
        const aliases = Object.values(described.config?.customSearchAttributeAliases ?? {});
        if (Object.keys(searchAttributeRegistrations).every((name) => aliases.includes(name))) break;
        if (Date.now() > deadline) throw new Error(`search attributes not served by the frontend after 60 s: ${aliases.join(", ")}`);
        await sleep(250);
      }
    } finally {
      await connection.close();
    }
  }

  /** The Temporal server's process id (all its services are in it). */
  get serverPid(): number | undefined {
    return this.server?.pid;
  }

  /** SIGKILL the server process (a crash); PostgreSQL keeps running. */
  async killServer(): Promise<void> {
    await this.server?.kill();
  }

  /** Start the server again on the same database and frontend port. */
  async restartServer(): Promise<void> {
    await this.startServer();
  }

  /** The server's log, for a failed test's message. */
  async serverLog(): Promise<string> {
    return readFile(join(this.dir, "temporal-server.log"), "utf8").catch(() => "");
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    await this.postgres.stop();
    await new Promise((resolveClose) => (this.jwks ? this.jwks.close(resolveClose) : resolveClose(undefined)));
  }
}
