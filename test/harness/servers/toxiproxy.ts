import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pickPort, type PortPicker } from "../../../lib/servers/ports.js";
import { ManagedProcess, canConnect, startWithRetries, toolPath, type RetryOptions, type StartReport } from "../../../lib/servers/process.js";

/** Which direction of a proxied connection a toxic acts on. */
export type ToxicStream = "upstream" | "downstream";

/**
 * The toxics Toxiproxy 2.x has, with their attributes (times in milliseconds unless said).
 * `upstream` is client → server, `downstream` server → client.
 */
export interface ToxicAttributesByType {
  /** Every piece of data is delayed by latency ± jitter (pieces keep flowing: not per-request cumulative). */
  latency: { latency: number; jitter?: number };
  /** At most `rate` KB/s. */
  bandwidth: { rate: number };
  /** Nothing gets through; the connection is closed after `timeout` ms (never, with 0). */
  timeout: { timeout: number };
  /** TCP RST on the connection, immediately or after `timeout` ms. */
  reset_peer: { timeout?: number };
  /** Data cut into packets of about `average_size` bytes, `delay` microseconds apart. */
  slicer: { average_size: number; size_variation?: number; delay?: number };
  /** The connection is closed once `bytes` bytes have passed. */
  limit_data: { bytes: number };
  /** Closing the socket is delayed by `delay` ms. */
  slow_close: { delay: number };
}

export type ToxicType = keyof ToxicAttributesByType;

/** A toxic as Toxiproxy reports it. */
export interface Toxic<T extends ToxicType = ToxicType> {
  name: string;
  type: T;
  stream: ToxicStream;
  /** Probability (0..1) that a new connection gets this toxic. */
  toxicity: number;
  attributes: ToxicAttributesByType[T];
}

/** What to add: type and attributes; name (default `<type>_<stream>`), stream (default downstream), toxicity (default 1). */
export interface ToxicSpec<T extends ToxicType = ToxicType> {
  type: T;
  attributes: ToxicAttributesByType[T];
  name?: string;
  stream?: ToxicStream;
  toxicity?: number;
}

/** A proxy as Toxiproxy reports it. */
export interface ProxyState {
  name: string;
  /** host:port it listens on. */
  listen: string;
  /** host:port it forwards to. */
  upstream: string;
  enabled: boolean;
  toxics: Toxic[];
}

/** Toxiproxy answered with an error status (unknown proxy, duplicate toxic, bad attributes, ...). */
export class ToxiproxyApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`toxiproxy ${method} ${path}: HTTP ${status}: ${body.trim()}`);
    this.name = "ToxiproxyApiError";
  }
}

/** A typed client for Toxiproxy's HTTP API (any Toxiproxy 2.x server). */
export class ToxiproxyClient {
  constructor(readonly apiUrl: string) {}

  private async call<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new ToxiproxyApiError(method, path, response.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async version(timeoutMs = 5_000): Promise<string> {
    const response = await fetch(`${this.apiUrl}/version`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new ToxiproxyApiError("GET", "/version", response.status, await response.text());
    const text = (await response.text()).trim();
    // 2.5 answers {"version": "2.5.0"}; older servers a bare string.
    try {
      const parsed = JSON.parse(text) as { version?: string } | string;
      return typeof parsed === "string" ? parsed : (parsed.version ?? text);
    } catch {
      return text;
    }
  }

  async proxies(): Promise<Record<string, ProxyState>> {
    return this.call("GET", "/proxies");
  }

  /**
   * Create a proxy from `listen` (default: a port we pick on 127.0.0.1, picked again if it turns
   * out to be in use) to `upstream` ("host:port"). Returns a handle bound to it.
   */
  async createProxy(options: { name: string; upstream: string; listen?: string; enabled?: boolean }): Promise<ProxyHandle> {
    for (let attempt = 1; ; attempt++) {
      const listen = options.listen ?? `127.0.0.1:${await pickPort()}`;
      try {
        const state = await this.call<ProxyState>("POST", "/proxies", {
          name: options.name,
          listen,
          upstream: options.upstream,
          enabled: options.enabled ?? true,
        });
        return new ProxyHandle(this, state);
      } catch (error) {
        const inUse = error instanceof ToxiproxyApiError && /address already in use/i.test(error.body);
        if (!inUse || options.listen !== undefined || attempt >= 4) throw error;
      }
    }
  }

  async proxy(name: string): Promise<ProxyHandle> {
    return new ProxyHandle(this, await this.call<ProxyState>("GET", `/proxies/${encodeURIComponent(name)}`));
  }

  /** Enable every proxy and remove every toxic. */
  async reset(): Promise<void> {
    await this.call("POST", "/reset");
  }

  /** @internal used by ProxyHandle */
  request<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
    return this.call<T>(method, path, body);
  }
}

/** One proxy on a Toxiproxy server. */
export class ProxyHandle {
  constructor(
    private readonly client: ToxiproxyClient,
    private current: ProxyState,
  ) {}

  get name(): string {
    return this.current.name;
  }
  /** "127.0.0.1:port" */
  get listen(): string {
    return this.current.listen;
  }
  get port(): number {
    return Number(this.current.listen.slice(this.current.listen.lastIndexOf(":") + 1));
  }
  /** http://listen, for clients of an HTTP upstream (an S3 endpoint through the proxy). */
  get url(): string {
    return `http://${this.current.listen}`;
  }
  get upstream(): string {
    return this.current.upstream;
  }

  private get path(): string {
    return `/proxies/${encodeURIComponent(this.current.name)}`;
  }

  /** The proxy as the server sees it now, toxics included. */
  async state(): Promise<ProxyState> {
    this.current = await this.client.request<ProxyState>("GET", this.path);
    return this.current;
  }

  async toxics(): Promise<Toxic[]> {
    return this.client.request<Toxic[]>("GET", `${this.path}/toxics`);
  }

  async addToxic<T extends ToxicType>(spec: ToxicSpec<T>): Promise<Toxic<T>> {
    return this.client.request<Toxic<T>>("POST", `${this.path}/toxics`, {
      type: spec.type,
      stream: spec.stream ?? "downstream",
      toxicity: spec.toxicity ?? 1,
      attributes: spec.attributes,
      ...(spec.name ? { name: spec.name } : {}),
    });
  }

  /** Change an existing toxic's attributes (or toxicity). */
  async updateToxic<T extends ToxicType>(
    name: string,
    change: { attributes?: Partial<ToxicAttributesByType[T]>; toxicity?: number },
  ): Promise<Toxic<T>> {
    return this.client.request<Toxic<T>>("POST", `${this.path}/toxics/${encodeURIComponent(name)}`, change);
  }

  async removeToxic(name: string): Promise<void> {
    await this.client.request("DELETE", `${this.path}/toxics/${encodeURIComponent(name)}`);
  }

  async removeAllToxics(): Promise<void> {
    for (const toxic of await this.toxics()) await this.removeToxic(toxic.name);
  }

  /** Convenience: `latency` ± `jitter` ms on responses (downstream), or on the given stream. */
  latency(latency: number, options: { jitter?: number; stream?: ToxicStream; name?: string } = {}): Promise<Toxic<"latency">> {
    return this.addToxic({
      type: "latency",
      attributes: { latency, jitter: options.jitter ?? 0 },
      stream: options.stream,
      name: options.name,
    });
  }

  /** Take the store "down": the proxy stops listening and drops its connections. */
  async disable(): Promise<void> {
    this.current = await this.client.request<ProxyState>("POST", this.path, { enabled: false });
  }

  async enable(): Promise<void> {
    this.current = await this.client.request<ProxyState>("POST", this.path, { enabled: true });
  }

  async delete(): Promise<void> {
    await this.client.request("DELETE", this.path);
  }
}

export interface ToxiproxyOptions {
  /** API port; one we pick when omitted. */
  port?: number;
  logFile?: string;
  /** Where the ports we choose come from (default `pickPort`). */
  pickPort?: PortPicker;
  /** Tries when an address is in use, and who hears of a retry. */
  retry?: RetryOptions;
}

/**
 * A local Toxiproxy server (API on 127.0.0.1), for fault-injection tests and benchmarks. Proxies
 * it creates listen on 127.0.0.1 too. Its one address, the API port, comes from us; a start that
 * fails on an address in use is tried again on a fresh port. A restart keeps the API port.
 */
export class ToxiproxyServer {
  private process: ManagedProcess | undefined;
  private logDir: string | undefined;
  port = 0;
  client: ToxiproxyClient = new ToxiproxyClient("http://127.0.0.1:0");
  /** How the last `start()` went (attempts, and why earlier ones failed). */
  lastStart: StartReport | undefined;
  private everStarted = false;

  constructor(private readonly options: ToxiproxyOptions = {}) {}

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    let logFile = this.options.logFile;
    if (!logFile) {
      this.logDir ??= await mkdtemp(join(tmpdir(), "tk-toxiproxy-"));
      logFile = join(this.logDir, "toxiproxy.log");
    }
    const binary = toolPath("toxiproxy-server", "TOXIPROXY_PATH");
    const pick = this.options.pickPort ?? pickPort;
    const restart = this.everStarted;
    this.lastStart = await startWithRetries(
      "toxiproxy",
      async () => {
        if (!restart) this.port = this.options.port ?? (await pick());
        this.client = new ToxiproxyClient(this.apiUrl);
        // At LOG_LEVEL warn a failed bind still shows: it is logged as fatal.
        this.process = new ManagedProcess("toxiproxy", binary, ["-host", "127.0.0.1", "-port", String(this.port)], logFile, {
          ...process.env,
          LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
        });
        await this.process.start();
        await this.process.waitUntil(async () => {
          if (!(await canConnect("127.0.0.1", this.port))) return false;
          await this.client.version(1_000);
          return true;
        }, 30_000);
      },
      this.options.retry,
    );
    this.everStarted = true;
    return this;
  }

  /** Create a proxy to `upstream` ("host:port" or an http:// URL), listening on a free local port. */
  createProxy(name: string, upstream: string): Promise<ProxyHandle> {
    const hostPort = upstream.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    return this.client.createProxy({ name, upstream: hostPort });
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    if (this.logDir) await rm(this.logDir, { recursive: true, force: true });
    this.logDir = undefined;
  }
}
