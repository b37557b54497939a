/**
 * Port churn for bench/startup/run.ts: keeps opening and closing ephemeral ports on 127.0.0.1 until
 * SIGTERM, then prints what it did as JSON. Half the loops bind port 0 and hold the listener a
 * moment (as test servers and port pickers do); the other half open client connections to a local
 * listener (each takes an ephemeral port as its source port), as a busy machine does.
 *
 * Usage: tsx bench/startup/portChurn.ts [loops] [maxHoldMs]
 */
import { connect, createServer, type Server } from "node:net";

const loops = Number(process.argv[2] ?? 32);
const maxHoldMs = Number(process.argv[3] ?? 30);
/** `intruders`: connections others made to a port-0 listener of ours (they had been handed that number too). */
const counts = { listeners: 0, connections: 0, errors: 0, intruders: 0 };
let stopping = false;
const started = performance.now();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hold = (): Promise<void> => sleep(Math.random() * maxHoldMs);

async function listenLoop(): Promise<void> {
  while (!stopping) {
    // Someone else may connect to a port we hold (a port picker's readiness probe, a server
    // dialling its own internal service whose port we took): drop them, or close() waits forever.
    const server: Server = createServer((socket) => {
      counts.intruders++;
      socket.destroy();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
      counts.listeners++;
      await hold();
    } catch {
      counts.errors++;
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function connectLoop(target: number): Promise<void> {
  while (!stopping) {
    await new Promise<void>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port: target });
      socket.setTimeout(2_000, () => socket.destroy());
      socket.once("connect", () => {
        counts.connections++;
        void hold().then(() => socket.destroy());
      });
      socket.once("error", () => {
        counts.errors++;
        resolve();
      });
      socket.once("close", () => resolve());
    });
  }
}

const sink = createServer((socket) => socket.on("error", () => undefined).resume());
await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
const sinkPort = (sink.address() as { port: number }).port;
const running = Array.from({ length: loops }, (_, i) => (i % 2 === 0 ? listenLoop() : connectLoop(sinkPort)));
console.error(`[churn] ${loops} loops (half binding port 0, half connecting), holding each port up to ${maxHoldMs} ms`);

process.once("SIGTERM", () => {
  stopping = true;
  const report = (): void => {
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`${JSON.stringify({ ...counts, seconds: Math.round(seconds), perSecond: Math.round((counts.listeners + counts.connections) / seconds) })}\n`);
    process.exit(0);
  };
  // Every loop ends within its hold time; report then, or after 5 s whatever is still open.
  void Promise.all(running).then(report);
  setTimeout(report, 5_000).unref();
});
