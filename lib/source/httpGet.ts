/**
 * GET requests over HTTP/1.1 keep-alive connections, without node's http module. The lighter S3
 * path (s3Get.ts) sends a worker's ranged GETs and listings through this: node's ClientRequest
 * and IncomingMessage (header validation and bookkeeping, two streams per answer, the agent's
 * socket events) cost about 0.3 ms of CPU a request here, twice the request's own socket work, and
 * their code is among the largest V8 compiles in a fresh worker (docs/benchmarks.md, issue 20).
 *
 * Only what those requests need: GET, whole answers read into memory, framing by Content-Length,
 * chunked transfer coding or the connection's end (RFC 9112, 6.3), interim 1xx answers skipped,
 * connections kept alive unless either side says otherwise, at most `maxSockets` per origin (the
 * others wait), TLS with the platform's certificate checks. Failures look like node's: an error
 * with a `code` (ECONNRESET for a connection that closed before its answer was whole, and the
 * socket's own codes), or a TimeoutError; one after the answer's head arrived also carries
 * `phase: "body"` (the request was answered, its body broke off).
 */
import net from "node:net";
import tls from "node:tls";

export interface HttpOrigin {
  protocol: "http:" | "https:";
  hostname: string;
  port: number | undefined;
}

export interface HttpPoolSettings {
  maxSockets: number;
  /** How long a connection may take to open (TLS handshake included). */
  connectionTimeoutMs: number;
  /** How long a connection may stay silent while a request waits for its answer. */
  socketTimeoutMs: number;
}

export interface HttpAnswer {
  status: number;
  /** Header names in lower case; a repeated header keeps its first value. */
  headers: ReadonlyMap<string, string>;
  body: Buffer;
}

/** A response head larger than this is refused (node's default limit is 16 KiB). */
const MAX_HEAD_BYTES = 64 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FORBIDDEN_IN_VALUE = /[\r\n\0]/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/;
/** The Connection header's tokens that end a connection (HTTP/1.1) or keep it (HTTP/1.0). */
const CLOSE_TOKEN = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;
const KEEP_ALIVE_TOKEN = /(?:^|,)[ \t]*keep-alive[ \t]*(?:,|$)/i;

function connectionError(message: string, code = "ECONNRESET"): Error {
  return Object.assign(new Error(message), { code });
}

function timeoutError(message: string): Error {
  const error = new Error(message);
  error.name = "TimeoutError";
  return error;
}

/** Connections to each origin, reused while they stay open. */
export class HttpPool {
  private readonly origins = new Map<string, OriginConnections>();
  private destroyed = false;

  constructor(private readonly settings: HttpPoolSettings) {}

  /** GET `target` (a path and query, already escaped) from `origin` with these headers (Host included). */
  get(origin: HttpOrigin, target: string, headers: Readonly<Record<string, string>>): Promise<HttpAnswer> {
    if (this.destroyed) return Promise.reject(connectionError("the connection pool was closed"));
    const request = serializeRequest(target, headers);
    const key = `${origin.protocol}//${origin.hostname}:${origin.port ?? ""}`;
    let connections = this.origins.get(key);
    if (!connections) {
      connections = new OriginConnections(origin, this.settings);
      this.origins.set(key, connections);
    }
    return connections.send(request);
  }

  /** Closes every connection; requests under way fail. */
  destroy(): void {
    this.destroyed = true;
    for (const connections of this.origins.values()) connections.destroy();
    this.origins.clear();
  }
}

/** The request's bytes; a header that could split the request (CR, LF, NUL) is refused. */
function serializeRequest(target: string, headers: Readonly<Record<string, string>>): string {
  if (!/^\/[\x21-\x7e]*$/.test(target)) throw new TypeError(`request target ${JSON.stringify(target)} is not an escaped path`);
  let text = `GET ${target} HTTP/1.1\r\n`;
  for (const name in headers) {
    const value = headers[name]!;
    if (!TOKEN.test(name)) throw new TypeError(`header name ${JSON.stringify(name)} is not a token`);
    if (FORBIDDEN_IN_VALUE.test(value)) throw new TypeError(`header ${name} holds a line break or NUL`);
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

interface PendingRequest {
  request: string;
  resolve(answer: HttpAnswer): void;
  reject(error: unknown): void;
}

class OriginConnections {
  private readonly idle: Connection[] = [];
  private readonly waiting: PendingRequest[] = [];
  private open = 0;
  private closed = false;

  constructor(
    private readonly origin: HttpOrigin,
    private readonly settings: HttpPoolSettings,
  ) {}

  send(request: string): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const pending: PendingRequest = { request, resolve, reject };
      let connection = this.idle.pop();
      // One the server closed a moment ago may still be listed: its "close" event is on its way.
      while (connection && !connection.usable()) connection = this.idle.pop();
      if (connection) connection.start(pending);
      else if (this.open < this.settings.maxSockets) this.connect().start(pending);
      else this.waiting.push(pending);
    });
  }

  private connect(): Connection {
    this.open++;
    return new Connection(this.origin, this.settings, this);
  }

  /** A connection finished its request and can take another. */
  reusable(connection: Connection): void {
    if (this.closed) return connection.close();
    const next = this.waiting.shift();
    if (next) connection.start(next);
    else {
      connection.rest();
      this.idle.push(connection);
    }
  }

  /** A connection closed: it leaves the pool, and a waiting request gets a new one. */
  gone(connection: Connection): void {
    this.open--;
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    const next = this.waiting.shift();
    if (next) {
      if (this.closed) next.reject(connectionError("the connection pool was closed"));
      else this.connect().start(next);
    }
  }

  destroy(): void {
    this.closed = true;
    for (const pending of this.waiting.splice(0)) pending.reject(connectionError("the connection pool was closed"));
    for (const connection of this.idle.splice(0)) connection.close();
  }
}

type BodyFraming = { kind: "none" } | { kind: "length"; remaining: number } | { kind: "chunked" } | { kind: "close" };

/** Where a chunked body is (RFC 9112, 7.1): at a size line, in a chunk's data, at its CRLF, in the trailers, done. */
type ChunkState = "size" | "data" | "dataEnd" | "trailers" | "done";

/**
 * An idle connection is closed after this long: servers close theirs after a while (S3 after about
 * 20 s), and a request sent on a connection the server is closing fails and costs a retry.
 */
const IDLE_MS = 4_000;
const EMPTY = Buffer.alloc(0);

/** One connection, one request at a time. */
class Connection {
  private readonly socket: net.Socket;
  private readonly connectTimer: NodeJS.Timeout;
  private current: PendingRequest | undefined;
  /** The server closed its side: the connection takes no further request. */
  private ended = false;
  // The answer being read.
  private partialHead: Buffer | undefined;
  private status = 0;
  private headers = new Map<string, string>();
  private keepAlive = true;
  private framing: BodyFraming = { kind: "none" };
  private parts: Buffer[] = [];
  private received = 0;
  private chunkState: ChunkState = "size";
  private chunkLeft = 0;
  private partialLine: Buffer | undefined;

  constructor(
    origin: HttpOrigin,
    private readonly settings: HttpPoolSettings,
    private readonly pool: OriginConnections,
  ) {
    const port = origin.port ?? (origin.protocol === "https:" ? 443 : 80);
    const socket =
      origin.protocol === "https:"
        ? tls.connect({ host: origin.hostname, port, servername: net.isIP(origin.hostname) ? undefined : origin.hostname, ALPNProtocols: ["http/1.1"] })
        : net.connect({ host: origin.hostname, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    this.connectTimer = setTimeout(
      () => socket.destroy(timeoutError(`connection timed out after ${settings.connectionTimeoutMs} ms`)),
      settings.connectionTimeoutMs,
    );
    socket.once(origin.protocol === "https:" ? "secureConnect" : "connect", () => clearTimeout(this.connectTimer));
    socket.on("timeout", () => {
      if (this.current) socket.destroy(timeoutError(`socket timed out after ${settings.socketTimeoutMs} ms`));
      else socket.destroy();
    });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => {
      this.ended = true;
      socket.end();
    });
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => {
      clearTimeout(this.connectTimer);
      // A body framed by the connection's end is whole now; any other answer was cut short.
      if (this.current && this.status !== 0 && this.framing.kind === "close") this.complete();
      else if (this.current) this.fail(this.cutShort());
      this.pool.gone(this);
    });
  }

  start(pending: PendingRequest): void {
    this.current = pending;
    this.partialHead = undefined;
    this.status = 0;
    this.framing = { kind: "none" };
    this.parts = [];
    this.received = 0;
    this.chunkState = "size";
    this.partialLine = undefined;
    this.socket.ref();
    this.socket.setTimeout(this.settings.socketTimeoutMs);
    this.socket.write(pending.request);
  }

  usable(): boolean {
    return !this.ended && !this.socket.destroyed;
  }

  /** Idle between requests: closed after IDLE_MS, and not keeping the process alive meanwhile. */
  rest(): void {
    this.socket.setTimeout(IDLE_MS);
    this.socket.unref();
  }

  close(): void {
    this.socket.destroy();
  }

  private cutShort(): Error {
    if (this.status === 0) return connectionError("socket hang up");
    const expected = this.framing.kind === "length" ? ` of ${this.received + this.framing.remaining}` : "";
    return connectionError(`premature close: ${this.received}${expected} bytes`);
  }

  private fail(error: unknown): void {
    if (this.status !== 0 && error instanceof Error) Object.assign(error, { phase: "body" });
    const pending = this.current;
    this.current = undefined;
    if (!this.socket.destroyed) this.socket.destroy();
    pending?.reject(error);
  }

  private onData(chunk: Buffer): void {
    if (!this.current) {
      // Bytes nobody asked for: the connection cannot be trusted with another request.
      this.socket.destroy();
      return;
    }
    try {
      this.consume(chunk);
    } catch (error) {
      this.fail(error);
    }
  }

  private consume(chunk: Buffer): void {
    let rest = chunk;
    while (this.status === 0) {
      const afterHead = this.readHead(rest);
      if (afterHead === undefined) return;
      rest = afterHead;
      if (this.status === 0 && rest.length === 0) return; // an interim answer, and nothing after it yet
    }
    if (this.framing.kind === "chunked") rest = this.readChunked(rest);
    else if (this.framing.kind !== "none") {
      if (this.framing.kind === "length" && rest.length > this.framing.remaining) {
        throw connectionError("the server sent more than the answer's Content-Length", "EPROTO");
      }
      this.take(rest);
      rest = EMPTY;
    }
    if (this.bodyDone()) {
      if (rest.length > 0) throw connectionError("the server sent bytes after the answer", "EPROTO");
      this.complete();
    }
  }

  private take(part: Buffer): void {
    if (part.length === 0) return;
    this.parts.push(part);
    this.received += part.length;
    if (this.framing.kind === "length") this.framing.remaining -= part.length;
  }

  private bodyDone(): boolean {
    switch (this.framing.kind) {
      case "none":
        return true;
      case "length":
        return this.framing.remaining === 0;
      case "chunked":
        return this.chunkState === "done";
      case "close":
        return false;
    }
  }

  /**
   * Reads a response head: returns what follows it, or undefined while it is incomplete. An
   * interim (1xx) answer is skipped: `status` stays 0 and the real head follows.
   */
  private readHead(chunk: Buffer): Buffer | undefined {
    const searchFrom = this.partialHead === undefined ? 0 : Math.max(0, this.partialHead.length - 3);
    const bytes = this.partialHead === undefined ? chunk : Buffer.concat([this.partialHead, chunk]);
    const end = bytes.indexOf("\r\n\r\n", searchFrom, "latin1");
    if (end < 0) {
      if (bytes.length > MAX_HEAD_BYTES) throw connectionError(`response head longer than ${MAX_HEAD_BYTES} bytes`, "EPROTO");
      this.partialHead = bytes;
      return undefined;
    }
    this.partialHead = undefined;
    const lines = bytes.toString("latin1", 0, end).split("\r\n");
    const statusLine = STATUS_LINE.exec(lines[0]!);
    if (!statusLine) throw connectionError(`not an HTTP/1.x answer: ${JSON.stringify(lines[0]!.slice(0, 80))}`, "EPROTO");
    const status = Number(statusLine[2]);
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      if (colon <= 0 || !TOKEN.test(name)) throw connectionError(`malformed header line in the answer: ${JSON.stringify(line.slice(0, 80))}`, "EPROTO");
      const value = line.slice(colon + 1).trim();
      const earlier = headers.get(name);
      if (earlier === undefined) headers.set(name, value);
      else if (name === "content-length" && earlier !== value) throw connectionError("the answer has two different Content-Length headers", "EPROTO");
    }
    const rest = bytes.subarray(end + 4);
    if (status === 101) throw connectionError("the server switched protocols, which was not asked for", "EPROTO");
    if (status < 200) return rest;
    this.status = status;
    this.headers = headers;
    const connection = headers.get("connection") ?? "";
    this.keepAlive = statusLine[1] === "1" ? !CLOSE_TOKEN.test(connection) : KEEP_ALIVE_TOKEN.test(connection);
    const transferCoding = headers.get("transfer-encoding");
    const length = headers.get("content-length");
    if (status === 204 || status === 304) this.framing = { kind: "none" };
    else if (transferCoding !== undefined) {
      // RFC 9112, 6.3: chunked last frames the body; any other coding runs to the connection's end.
      const codings = transferCoding.toLowerCase().split(",");
      if (codings[codings.length - 1]!.trim() === "chunked") this.framing = { kind: "chunked" };
      else this.framing = { kind: "close" };
    } else if (length !== undefined) {
      if (!/^\d{1,15}$/.test(length)) throw connectionError(`the answer's Content-Length ${JSON.stringify(length)} is not a number`, "EPROTO");
      this.framing = { kind: "length", remaining: Number(length) };
    } else this.framing = { kind: "close" };
    if (this.framing.kind === "close") this.keepAlive = false;
    return rest;
  }

  /** Chunked transfer coding: sizes in hex, extensions and trailers ignored. Returns the bytes after the body. */
  private readChunked(chunk: Buffer): Buffer {
    let bytes = this.partialLine === undefined ? chunk : Buffer.concat([this.partialLine, chunk]);
    this.partialLine = undefined;
    while (bytes.length > 0 && this.chunkState !== "done") {
      if (this.chunkState === "data") {
        const part = bytes.subarray(0, this.chunkLeft);
        this.take(part);
        this.chunkLeft -= part.length;
        bytes = bytes.subarray(part.length);
        if (this.chunkLeft === 0) this.chunkState = "dataEnd";
        continue;
      }
      const lineEnd = bytes.indexOf("\r\n", 0, "latin1");
      if (lineEnd < 0) {
        if (bytes.length > MAX_HEAD_BYTES) throw connectionError("a chunked body's line is too long", "EPROTO");
        this.partialLine = bytes;
        return EMPTY;
      }
      const line = bytes.toString("latin1", 0, lineEnd);
      bytes = bytes.subarray(lineEnd + 2);
      if (this.chunkState === "dataEnd") {
        if (line !== "") throw connectionError("a chunk's data is not followed by CRLF", "EPROTO");
        this.chunkState = "size";
      } else if (this.chunkState === "trailers") {
        if (line === "") this.chunkState = "done";
      } else {
        const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
        if (!size) throw connectionError(`malformed chunk size ${JSON.stringify(line.slice(0, 40))}`, "EPROTO");
        this.chunkLeft = parseInt(size[1]!, 16);
        this.chunkState = this.chunkLeft === 0 ? "trailers" : "data";
      }
    }
    return bytes;
  }

  private complete(): void {
    const pending = this.current!;
    this.current = undefined;
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.received);
    const answer: HttpAnswer = { status: this.status, headers: this.headers, body };
    this.parts = [];
    if (this.keepAlive && !this.ended && !this.socket.destroyed) this.pool.reusable(this);
    else if (!this.socket.destroyed) this.socket.destroy();
    pending.resolve(answer);
  }
}

