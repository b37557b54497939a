/**
 * CPU per GET of the lighter S3 path's HTTP client (lib/source/httpGet.ts) beside node's http
 * module with a keep-alive agent (what the path used before), in this process, against node's HTTP
 * server in a child process (so its CPU is not counted) answering each GET with a body of `--size`
 * bytes, as MinIO answers a ranged GET. Requests go `--concurrency` at a time; rounds alternate the
 * two clients; each round's figure is process CPU (user + system) over its requests.
 *
 *   npx tsx bench/refs/httpClient.ts [--size 200000] [--requests 3000] [--rounds 4] [--concurrency 4]
 */
import { fork } from "node:child_process";
import http from "node:http";
import { parseArgs } from "node:util";
import { HttpPool, type HttpOrigin } from "../../lib/source/httpGet.js";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "200000" },
    requests: { type: "string", default: "3000" },
    rounds: { type: "string", default: "4" },
    concurrency: { type: "string", default: "4" },
    serve: { type: "string" },
  },
});

if (values.serve !== undefined) {
  // The child: serve every GET with `size` bytes, as a ranged GET's answer.
  const body = Buffer.alloc(Number(values.serve), 7);
  const server = http.createServer((_request, response) => {
    response.writeHead(206, { "content-length": body.length, "content-range": `bytes 0-${body.length - 1}/${body.length * 4}`, etag: '"e"' });
    response.end(body);
  });
  server.listen(0, "127.0.0.1", () => process.send!((server.address() as { port: number }).port));
} else {
  const size = Number(values.size);
  const child = fork(new URL(import.meta.url).pathname, ["--serve", String(size)], { execArgv: ["--import", "tsx"] });
  const port = await new Promise<number>((resolve) => child.once("message", (m) => resolve(Number(m))));
  const origin: HttpOrigin = { protocol: "http:", hostname: "127.0.0.1", port };
  // Headers of the size and kind a signed ranged GET carries.
  const headers = {
    range: `bytes=0-${size - 1}`,
    host: `127.0.0.1:${port}`,
    "x-amz-date": "20261207T000000Z",
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=${"a".repeat(64)}`,
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const pool = new HttpPool({ maxSockets: 50, connectionTimeoutMs: 5_000, socketTimeoutMs: 30_000 });

  // node's http as s3Get.ts used it: a request with the agent and timeouts, the body read from its stream.
  const viaNodeHttp = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const request = http.request({ method: "GET", hostname: "127.0.0.1", port, path: "/bucket/key.nc", headers, agent }, (response) => {
        const parts: Buffer[] = [];
        response.on("data", (part: Buffer) => parts.push(part));
        response.on("error", reject);
        response.on("end", () => resolve(Buffer.concat(parts).length));
      });
      request.setTimeout(30_000, () => request.destroy(new Error("timed out")));
      request.on("error", reject);
      request.end();
    });
  const viaHttpGet = async (): Promise<number> => (await pool.get(origin, "/bucket/key.nc", headers)).body.length;

  const clients = { "node http": viaNodeHttp, httpGet: viaHttpGet };
  const concurrency = Number(values.concurrency);
  const requests = Number(values.requests);
  const round = async (get: () => Promise<number>): Promise<number> => {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next++ < requests) if ((await get()) !== size) throw new Error("short body");
    };
    const before = process.cpuUsage();
    await Promise.all(Array.from({ length: concurrency }, lane));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / requests;
  };
  for (const get of Object.values(clients)) await round(get); // warm-up: both compiled
  const figures: Record<string, number[]> = { "node http": [], httpGet: [] };
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const [name, get] of Object.entries(clients)) figures[name]!.push(await round(get));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [name, xs] of Object.entries(figures)) {
    console.log(`${name}: ${median(xs).toFixed(3)} ms CPU a GET (median; rounds ${xs.map((x) => x.toFixed(3)).join(", ")}), ${size} bytes, ${concurrency} at a time`);
  }
  pool.destroy();
  agent.destroy();
  child.kill();
}
