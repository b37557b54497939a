/**
 * Our HTTP/1.1 GET client (lib/source/httpGet.ts), which carries the lighter S3 path's requests,
 * against node's own HTTP server (every framing it writes) and against raw sockets for the answers a
 * server should not send (cut short, silent, malformed). The S3 answers themselves are covered
 * through MinIO in source.test.ts, s3List.test.ts and faults.test.ts.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { repositoryRoot } from "../lib/servers/process.js";
import { HttpPool, type HttpOrigin } from "../lib/source/httpGet.js";

const settings = { maxSockets: 4, connectionTimeoutMs: 2_000, socketTimeoutMs: 2_000 };
const pools: HttpPool[] = [];
const servers: net.Server[] = [];
after(() => {
  for (const pool of pools) pool.destroy();
  for (const server of servers) server.close();
});

function pool(overrides: Partial<typeof settings> = {}): HttpPool {
  const made = new HttpPool({ ...settings, ...overrides });
  pools.push(made);
  return made;
}

/** A server on a free port; counts the connections it accepted and holds at once. */
async function listen<T extends net.Server>(server: T): Promise<{ server: T; origin: HttpOrigin; connections: { accepted: number; open: number; peak: number } }> {
  const connections = { accepted: 0, open: 0, peak: 0 };
  server.on("connection", (socket: net.Socket) => {
    connections.accepted++;
    connections.peak = Math.max(connections.peak, ++connections.open);
    socket.on("close", () => connections.open--);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  const { port } = server.address() as net.AddressInfo;
  return { server, origin: { protocol: server instanceof https.Server ? "https:" : "http:", hostname: "127.0.0.1", port }, connections };
}

/** A raw server: each connection gets `answer` once its request's head has arrived. */
function rawServer(answer: (socket: net.Socket) => void): net.Server {
  return net.createServer((socket) => {
    let head = "";
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      if (head.includes("\r\n\r\n")) {
        head = "";
        answer(socket);
      }
    });
    socket.on("error", () => {});
  });
}

const body = randomBytes(300_000);

test("bodies framed by Content-Length, chunked coding or the connection's end arrive whole, on kept-alive connections", async () => {
  const seen: string[] = [];
  const { origin, connections } = await listen(
    http.createServer((request, response) => {
      seen.push(`${request.url} ${request.headers.range ?? ""}`);
      const [, size, framing] = /^\/(\d+)\/(\w+)$/.exec(request.url!)!;
      const part = body.subarray(0, Number(size));
      if (framing === "length") {
        response.writeHead(206, { "content-length": part.length, etag: '"e1"' });
        response.end(part);
      } else if (framing === "chunked") {
        // No length: node sends chunked coding, here in pieces of many sizes, an empty write among them.
        response.writeHead(200, { "content-type": "application/octet-stream" });
        for (let at = 0; at < part.length; ) {
          const n = Math.min(part.length - at, 1 + ((at * 7919) % 70_000));
          response.write(part.subarray(at, at + n));
          at += n;
        }
        response.write(Buffer.alloc(0));
        response.end();
      } else if (framing === "hints") {
        response.writeEarlyHints({ link: "</x>; rel=preload" });
        response.writeHead(200, { "content-length": part.length });
        response.end(part);
      } else if (framing === "empty") {
        response.writeHead(204);
        response.end();
      }
    }),
  );
  const client = pool();
  for (const [size, framing] of [
    [0, "length"],
    [1, "length"],
    [300_000, "length"],
    [300_000, "chunked"],
    [17, "chunked"],
    [0, "chunked"],
    [65_536, "hints"],
    [0, "empty"],
  ] as const) {
    const answer = await client.get(origin, `/${size}/${framing}`, { host: "x", range: "bytes=0-9" });
    assert.ok(answer.body.equals(body.subarray(0, size)), `${size} bytes, ${framing}: ${answer.body.length} bytes arrived`);
    assert.equal(answer.status, framing === "empty" ? 204 : framing === "length" ? 206 : 200);
    if (framing === "length") assert.equal(answer.headers.get("etag"), '"e1"');
  }
  assert.equal(seen.length, 8);
  assert.equal(seen[0], "/0/length bytes=0-9", "the path and headers as given");
  assert.equal(connections.accepted, 1, "one connection, kept alive from request to request");

  // A body that runs to the connection's end (no length, no chunked coding: an HTTP/1.0 answer).
  const untilClose = await listen(rawServer((socket) => socket.end(Buffer.concat([Buffer.from("HTTP/1.0 200 OK\r\nx-a: 1\r\n\r\n"), body]))));
  for (let i = 0; i < 2; i++) {
    const answer = await client.get(untilClose.origin, "/", { host: "x" });
    assert.ok(answer.body.equals(body), `${answer.body.length} bytes of ${body.length}`);
  }
  assert.equal(untilClose.connections.accepted, 2, "such a connection is not used again");
});

test("at most maxSockets connections to an origin; the other requests wait for one", async () => {
  const { origin, connections } = await listen(
    http.createServer((_request, response) => {
      setTimeout(() => response.end("ok"), 30);
    }),
  );
  const client = pool({ maxSockets: 3 });
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => client.get(origin, `/${i}`, { host: "x" })));
  assert.deepEqual(new Set(answers.map((a) => a.body.toString())), new Set(["ok"]));
  assert.equal(connections.peak, 3, `${connections.peak} connections at once`);
  assert.equal(connections.accepted, 3);
});

test("a connection is kept for the next request only as its answers allow: HTTP/1.1 unless `close`, HTTP/1.0 if `keep-alive`", async () => {
  const client = pool();
  // These servers leave the connection open whatever they said: only our reading of the header decides.
  for (const [head, reused] of [
    ["HTTP/1.1 200 OK\r\nconnection: close\r\n", false],
    ["HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\n", false],
    ["HTTP/1.1 200 OK\r\n", true],
    ["HTTP/1.0 200 OK\r\n", false],
    ["HTTP/1.0 200 OK\r\nconnection: keep-alive\r\n", true],
  ] as const) {
    const { origin, connections } = await listen(rawServer((socket) => socket.write(`${head}content-length: 3\r\n\r\nbye`)));
    for (let i = 0; i < 3; i++) assert.equal((await client.get(origin, "/", { host: "x" })).body.toString(), "bye");
    assert.equal(connections.accepted, reused ? 1 : 3, `${JSON.stringify(head)}: ${connections.accepted} connections for 3 requests`);
  }
});

test("an answer cut short, a silent server and a malformed answer fail with their reason, retryable as node's errors are", async () => {
  const client = pool({ socketTimeoutMs: 300 });
  const cut = await listen(rawServer((socket) => socket.end(Buffer.concat([Buffer.from("HTTP/1.1 206 Partial Content\r\ncontent-length: 1000\r\n\r\n"), body.subarray(0, 500)]))));
  await assert.rejects(client.get(cut.origin, "/", { host: "x" }), (error: Error & { code?: string; phase?: string }) => {
    assert.equal(error.message, "premature close: 500 of 1000 bytes");
    assert.equal(error.code, "ECONNRESET");
    assert.equal(error.phase, "body", "the answer's head had arrived");
    return true;
  });
  const chunkedCut = await listen(rawServer((socket) => socket.end("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n5\r\nab")));
  await assert.rejects(client.get(chunkedCut.origin, "/", { host: "x" }), /premature close: 18 bytes/);
  const hangUp = await listen(rawServer((socket) => socket.destroy()));
  await assert.rejects(client.get(hangUp.origin, "/", { host: "x" }), (error: Error & { code?: string; phase?: string }) => {
    assert.equal(error.code, "ECONNRESET");
    assert.equal(error.phase, undefined, "no answer had begun");
    return true;
  });
  const silent = await listen(rawServer(() => {}));
  const started = Date.now();
  await assert.rejects(client.get(silent.origin, "/", { host: "x" }), (error: Error) => error.name === "TimeoutError" && /socket timed out after 300 ms/.test(error.message));
  assert.ok(Date.now() - started < 2_000, "within the socket timeout, not the connection's life");
  for (const [answer, reason] of [
    ["SSH-2.0-OpenSSH\r\n\r\n", /not an HTTP\/1\.x answer/],
    ["HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd", /two different Content-Length/],
    ["HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabcdef", /more than the answer's Content-Length/],
    ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", /malformed chunk size/],
    ["HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", /malformed header line/],
  ] as const) {
    const bad = await listen(rawServer((socket) => socket.end(answer)));
    await assert.rejects(client.get(bad.origin, "/", { host: "x" }), reason);
  }
});

test("a header or target that could split the request is refused before anything is sent", async () => {
  const { origin, connections } = await listen(http.createServer((_request, response) => response.end()));
  const client = pool();
  assert.throws(() => client.get(origin, "/", { host: "x", range: "bytes=0-1\r\nx-injected: 1" }), /header range holds a line break/);
  assert.throws(() => client.get(origin, "/a b", { host: "x" }), /is not an escaped path/);
  assert.throws(() => client.get(origin, "/", { "bad name": "1" }), /is not a token/);
  assert.equal(connections.accepted, 0);
});

test("TLS: the server's certificate is checked, as node's https does; a trusted one carries the request", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tk-tls-"));
  try {
    const cert = join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    const { origin } = await listen(https.createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(cert) }, (_request, response) => response.end("over TLS")));
    assert.equal(origin.protocol, "https:");
    // No CA vouches for this certificate: refused, whatever the server then says.
    await assert.rejects(pool().get(origin, "/", { host: "127.0.0.1" }), (error: Error & { code?: string }) => error.code === "DEPTH_ZERO_SELF_SIGNED_CERT");
    // Trusted the way a deployment trusts its own CA (NODE_EXTRA_CA_CERTS, read when node starts).
    const script = `import { HttpPool } from "./lib/source/httpGet.ts";
      const pool = new HttpPool({ maxSockets: 1, connectionTimeoutMs: 2000, socketTimeoutMs: 2000 });
      const answers = [await pool.get(${JSON.stringify(origin)}, "/", { host: "127.0.0.1" }), await pool.get(${JSON.stringify(origin)}, "/", { host: "127.0.0.1" })];
      console.log(answers.map((a) => a.body.toString()).join(", "));
      pool.destroy();`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: repositoryRoot,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: cert },
      timeout: 60_000,
    });
    assert.equal(stdout.trim(), "over TLS, over TLS");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
