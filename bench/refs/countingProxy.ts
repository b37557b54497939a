import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One HTTP request as the counting proxy saw it (times in ms from performance.now()). */
export interface LoggedRequest {
  method: string;
  path: string;
  range: string | undefined;
  status: number;
  /** Response body bytes sent back to the client. */
  bytes: number;
  start: number;
  end: number;
}

/**
 * A plain HTTP reverse proxy that logs every request and the response bytes it passes on. Used as
 * the one neutral counter for both clients (ours and s3fs): it sits between Toxiproxy and MinIO,
 * so what it sees is exactly what went over the (slow) wire. The Host header is passed through
 * unchanged, so SigV4 signatures made for the outer endpoint still verify at MinIO.
 */
export class CountingProxy {
  readonly log: LoggedRequest[] = [];
  private server: Server | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  port = 0;

  constructor(private readonly upstream: { host: string; port: number }) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const entry: LoggedRequest = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        range: req.headers.range,
        status: 0,
        bytes: 0,
        start: performance.now(),
        end: 0,
      };
      const forward = request(
        {
          host: this.upstream.host,
          port: this.upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: this.agent,
        },
        (upstreamResponse) => {
          entry.status = upstreamResponse.statusCode ?? 0;
          res.writeHead(entry.status, upstreamResponse.headers);
          upstreamResponse.on("data", (chunk: Buffer) => {
            entry.bytes += chunk.length;
          });
          upstreamResponse.pipe(res);
          upstreamResponse.once("end", () => {
            entry.end = performance.now();
            this.log.push(entry);
          });
        },
      );
      forward.once("error", (error) => {
        entry.end = performance.now();
        this.log.push(entry);
        res.destroy(error);
      });
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Requests logged since `from` (an index into the log). */
  since(from: number): LoggedRequest[] {
    return this.log.slice(from);
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * The longest chain of requests each of which started after the previous one had finished: a
 * lower bound on the round trips that had to happen one after another (greedy by earliest end,
 * which is optimal for picking non-overlapping intervals). Times are as the proxy saw them.
 */
export function sequentialRoundTrips(requests: LoggedRequest[], addedLatencyMs = 0): number {
  // Behind a latency toxic the client gets the last byte `addedLatencyMs` after we sent it; a
  // request that depends on it starts after that, one issued in the same wave a few ms after the
  // others does not. Half the latency separates the two cases.
  const end = (r: LoggedRequest): number => r.end + addedLatencyMs / 2;
  const sorted = [...requests].sort((a, b) => end(a) - end(b));
  let count = 0;
  let lastEnd = -Infinity;
  for (const r of sorted) {
    if (r.start >= lastEnd) {
      count++;
      lastEnd = end(r);
    }
  }
  return count;
}
