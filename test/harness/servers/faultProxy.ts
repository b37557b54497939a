import { randomBytes } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** The S3 error answers the proxy can inject. */
export type InjectedFault = "InternalError" | "SlowDown" | "NotImplemented";

const FAULTS: Record<InjectedFault, { status: number; message: string }> = {
  InternalError: { status: 500, message: "We encountered an internal error. Please try again." },
  SlowDown: { status: 503, message: "Please reduce your request rate." },
  NotImplemented: { status: 501, message: "A header you provided implies functionality that is not implemented." },
};

/**
 * What a plan sees of one request: its 0-based index among all requests the proxy received, method
 * and path, and whether the AWS SDK sent it (its invocation id header) or our lighter path did.
 */
export interface RequestInfo {
  index: number;
  method: string;
  path: string;
  bySdk: boolean;
}

/** Decides per request: a fault to answer with, or undefined to forward it. */
export type FaultPlan = (request: RequestInfo) => InjectedFault | undefined;

/** Plans. */
export const faultPlans = {
  /** Forward everything. */
  none: (): FaultPlan => () => undefined,
  /** The first `count` requests (counted from when the plan is set) get `fault`, then everything passes. */
  first(count: number, fault: InjectedFault): FaultPlan {
    let seen = 0;
    return () => (seen++ < count ? fault : undefined);
  },
  /** Every `n`-th request (the n-th, 2n-th, ...) gets `fault`. */
  everyNth(n: number, fault: InjectedFault): FaultPlan {
    let seen = 0;
    return () => (++seen % n === 0 ? fault : undefined);
  },
  /** A share (0..1) of requests, chosen by a seeded generator (mulberry32), get one of `faults` in turn. */
  share(share: number, seed: number, faults: InjectedFault[] = ["SlowDown"]): FaultPlan {
    let state = seed >>> 0;
    let turn = 0;
    const random = (): number => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    return () => (random() < share ? faults[turn++ % faults.length] : undefined);
  },
  /** Follow a fixed sequence (undefined = forward); past its end, forward. */
  sequence(steps: (InjectedFault | undefined)[]): FaultPlan {
    let i = 0;
    return () => steps[i++];
  },
};

/** What the proxy did so far. */
export interface FaultProxyCounts {
  /** Requests received. */
  requests: number;
  /** Requests forwarded upstream and answered from there. */
  forwarded: number;
  /** Injected answers by S3 error code. */
  injected: Record<InjectedFault, number>;
  /** Forwarded requests that failed upstream (refused, timed out, reset): answered 502 or cut. */
  upstreamErrors: number;
  /** Requests turned away because the proxy was at its limit (in flight or total): answered 503 SlowDown. */
  rejected: number;
  /** The most forwarded requests that were in flight at once: whether a client sent them side by side or one after another. */
  peakInFlight: number;
}

export interface FaultProxyOptions {
  /** Where to forward: an http:// URL on the loopback interface (MinIO's endpoint). */
  upstream: string;
  plan?: FaultPlan;
  /** Requests in flight at once; more are answered 503 SlowDown (counted as rejected). Default 64. */
  maxInFlight?: number;
  /** Requests over the proxy's life; past it every request is answered 503 (counted as rejected). Default 100,000. */
  maxRequests?: number;
  /** An upstream exchange that takes longer is cut. Default 30 s. */
  upstreamTimeoutMs?: number;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/**
 * A small HTTP proxy in front of an S3-compatible store for fault-injection tests: forwards each
 * request to the upstream unchanged (headers and signature included, so the store accepts it), or,
 * as its plan decides, answers with an S3 error (500 InternalError, 503 SlowDown) and an S3 XML
 * error body, without contacting the upstream. Listens on 127.0.0.1 only and forwards only to a
 * loopback upstream; bounded in requests in flight, requests overall and time per exchange.
 */
export class FaultProxy {
  readonly counts: FaultProxyCounts = {
    requests: 0,
    forwarded: 0,
    injected: { InternalError: 0, SlowDown: 0, NotImplemented: 0 },
    upstreamErrors: 0,
    rejected: 0,
    peakInFlight: 0,
  };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly upstream: URL;
  private plan: FaultPlan;
  private inFlight = 0;
  port = 0;

  constructor(private readonly options: FaultProxyOptions) {
    this.upstream = new URL(options.upstream);
    if (this.upstream.protocol !== "http:" || !LOOPBACK.test(this.upstream.hostname)) {
      throw new Error(`fault proxy: upstream must be http:// on the loopback interface, not ${options.upstream}`);
    }
    this.plan = options.plan ?? faultPlans.none();
  }

  /** http://127.0.0.1:port, for an S3 client's endpoint. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Replace the plan (its counting starts afresh). */
  setPlan(plan: FaultPlan): void {
    this.plan = plan;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const index = this.counts.requests++;
    const path = req.url ?? "/";
    const limit = this.options.maxRequests ?? 100_000;
    if (index >= limit || this.inFlight >= (this.options.maxInFlight ?? 64)) {
      this.counts.rejected++;
      this.answer(req, res, "SlowDown", path);
      return;
    }
    const fault = this.plan({ index, method: req.method ?? "GET", path, bySdk: req.headers["amz-sdk-invocation-id"] !== undefined });
    if (fault) {
      this.counts.injected[fault]++;
      this.answer(req, res, fault, path);
      return;
    }
    this.forward(req, res, path);
  }

  /** An S3 error answer (the request body, if any, is drained first so the connection stays usable). */
  private answer(req: IncomingMessage, res: ServerResponse, fault: InjectedFault, path: string): void {
    const { status, message } = FAULTS[fault];
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    const resource = path.replace(/\?.*$/, "").replace(/[<>&]/g, "");
    const body =
      req.method === "HEAD"
        ? ""
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault}</Code><Message>${message}</Message>` +
          `<Resource>${resource}</Resource><RequestId>${requestId}</RequestId></Error>`;
    req.resume();
    req.once("end", () => {
      res.writeHead(status, {
        "content-type": "application/xml",
        "content-length": Buffer.byteLength(body),
        "x-amz-request-id": requestId,
        ...(fault === "SlowDown" ? { "retry-after": "1" } : {}),
      });
      res.end(body);
    });
  }

  private forward(req: IncomingMessage, res: ServerResponse, path: string): void {
    this.inFlight++;
    this.counts.peakInFlight = Math.max(this.counts.peakInFlight, this.inFlight);
    let done = false;
    const finish = (failed: boolean): void => {
      if (done) return;
      done = true;
      this.inFlight--;
      if (failed) this.counts.upstreamErrors++;
      else this.counts.forwarded++;
    };
    const upstream = httpRequest(
      {
        host: this.upstream.hostname,
        port: this.upstream.port || 80,
        method: req.method,
        path,
        headers: req.headers,
        timeout: this.options.upstreamTimeoutMs ?? 30_000,
      },
      (upstreamResponse) => {
        res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(res);
        upstreamResponse.once("end", () => finish(false));
        upstreamResponse.once("error", () => {
          finish(true);
          res.destroy();
        });
      },
    );
    upstream.once("timeout", () => upstream.destroy(new Error("upstream timed out")));
    upstream.once("error", () => {
      finish(true);
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end("fault proxy: upstream failed");
      } else {
        res.destroy();
      }
    });
    res.once("close", () => {
      if (!done) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
