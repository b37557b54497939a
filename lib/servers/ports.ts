/**
 * Ports for the servers we start (the Temporal dev server, MinIO, Toxiproxy).
 *
 * Asking the kernel for port 0 and handing the number to a server races with everything else
 * that asks for port 0: the kernel may give the same number to another process (an outgoing
 * connection, a test server) or to the dev server itself, which picks ports 0 for its internal
 * services while it starts. So we pick ports *outside* the kernel's ephemeral range, which port-0
 * requests never receive, and check each is free right now. What can still collide (another
 * process binding the same number on purpose, or a server's own internal port-0 picks) is
 * handled by retrying the start with fresh ports (`startWithRetries` in process.ts).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Where ports come from; tests substitute their own to occupy the first choice. */
export type PortPicker = () => Promise<number>;

/** Ports below this are left to well-known services. */
const LOWEST = 10_000;

/**
 * The kernel's ephemeral port range (Linux: /proc/sys/net/ipv4/ip_local_port_range, default
 * 32768-60999). Elsewhere 32768-65535, which contains the 49152-65535 of macOS and Windows.
 */
export function ephemeralPortRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! > 0 && high! >= low!) return { low: low!, high: high! };
  } catch {
    // not Linux, or /proc not mounted
  }
  return { low: 32_768, high: 65_535 };
}

/** The ports we choose from: below the ephemeral range (or above it, if that is larger). */
function candidateRange(): { low: number; high: number } | undefined {
  const ephemeral = ephemeralPortRange();
  const below = { low: LOWEST, high: ephemeral.low - 1 };
  const above = { low: Math.max(LOWEST, ephemeral.high + 1), high: 65_535 };
  const best = below.high - below.low >= above.high - above.low ? below : above;
  return best.high - best.low >= 1_000 ? best : undefined;
}

/** True when `port` can be bound on `host` right now. */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolveFree(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolveFree(true)));
  });
}

/** A port the kernel chose (port 0): the old way, and the fallback when no range is left to us. */
export function kernelPort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Ports this process handed out lately, so two servers (or two ports of one) never get the same. */
const recentlyHanded: number[] = [];

/**
 * A port free on 127.0.0.1 a moment ago, outside the ephemeral range, not handed out by this
 * process in its last 1,000 picks.
 */
export async function pickPort(host = "127.0.0.1"): Promise<number> {
  const range = candidateRange();
  for (let tries = 0; range && tries < 200; tries++) {
    const port = range.low + Math.floor(Math.random() * (range.high - range.low + 1));
    if (recentlyHanded.includes(port) || !(await isPortFree(port, host))) continue;
    recentlyHanded.push(port);
    if (recentlyHanded.length > 1_000) recentlyHanded.shift();
    return port;
  }
  return kernelPort(host);
}
