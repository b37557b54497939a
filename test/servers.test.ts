/**
 * The servers we start get their ports from us, and a start that fails because an address is in
 * use is tried again on fresh ports (visibly), a few times, before it is reported with the log.
 * Real servers; the only stand-in is the port picker, which hands out an occupied port first.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import { Client, Connection } from "@temporalio/client";
import { ephemeralPortRange, pickPort, type PortPicker } from "../lib/servers/ports.js";
import { AddressInUseError, ManagedProcess, processExists, repositoryRoot, sleep } from "../lib/servers/process.js";
import { ServerProcessError } from "../lib/errors.js";
import { TemporalDevServer } from "../worker/devServer.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";
import { testDir } from "./harness/env.js";
import { MinioServer } from "./harness/servers/minio.js";
import { ToxiproxyServer } from "./harness/servers/toxiproxy.js";

/** A port held by a listening socket in this process until `close()`. */
async function occupiedPort(): Promise<{ port: number; close(): Promise<void> }> {
  const port = await pickPort();
  const connections = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections.add(socket);
    socket.once("close", () => connections.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host: "127.0.0.1", exclusive: true }, resolve);
  });
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of connections) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Hands out `first` for the first `times` picks, then fresh ports; records every port handed out. */
function pickerStartingWith(first: number, times = 1): PortPicker & { handed: number[] } {
  const handed: number[] = [];
  const picker = async (): Promise<number> => {
    const port = handed.length < times ? first : await pickPort();
    handed.push(port);
    return port;
  };
  return Object.assign(picker, { handed });
}

const ok = async (url: string): Promise<boolean> => (await fetch(url, { signal: AbortSignal.timeout(5000) })).ok;

describe("ports we pick", () => {
  test("outside the kernel's ephemeral range, free, and never the same twice in a row", async () => {
    const { low, high } = ephemeralPortRange();
    const ports = await Promise.all(Array.from({ length: 50 }, () => pickPort()));
    for (const port of ports) assert.ok(port < low || port > high, `${port} lies in the ephemeral range ${low}-${high}`);
    assert.equal(new Set(ports).size, ports.length);
  });
});

describe("a start on an occupied port is tried again on fresh ports", () => {
  test("Temporal dev server with its Web UI: the frontend port is taken on the first try", async () => {
    const dir = await testDir("dev-retry");
    const taken = await occupiedPort();
    const retries: string[] = [];
    const picker = pickerStartingWith(taken.port);
    const server = new TemporalDevServer({
      ui: true,
      searchAttributes: searchAttributeRegistrations,
      dbFile: join(dir, "temporal.db"),
      logFile: join(dir, "temporal.log"),
      pickPort: picker,
      retry: { onRetry: (message) => retries.push(message) },
    });
    try {
      await server.start();
      assert.equal(server.lastStart?.attempts, 2);
      assert.equal(retries.length, 1);
      assert.match(retries[0]!, new RegExp(`\\[temporal dev server\\] address in use \\(.*${taken.port}.*address already in use.*\\); starting again on fresh ports \\(try 2 of 4\\)`));
      assert.notEqual(server.port, taken.port);
      // Every port it was given on the second try is the one it serves.
      assert.deepEqual(picker.handed.slice(-4), [server.port, server.uiPort, server.httpPort, server.metricsPort]);
      assert.ok(await ok(`http://127.0.0.1:${server.metricsPort}/metrics`), "metrics endpoint");
      assert.ok(await ok(`${server.uiUrl}/`), "Web UI");
      assert.ok(await ok(`http://127.0.0.1:${server.httpPort}/api/v1/namespaces/default`), "HTTP API");

      // A restart on its own database keeps the frontend and UI ports, and the workflows.
      const connection = await Connection.connect({ address: server.address });
      const client = new Client({ connection });
      await client.workflow.start("noSuchWorkflow", { taskQueue: "servers-test-none", workflowId: "servers-test/kept" });
      await connection.close();
      const before = { port: server.port, uiPort: server.uiPort };
      await server.kill();
      await server.start();
      assert.deepEqual({ port: server.port, uiPort: server.uiPort }, before);
      const again = await Connection.connect({ address: server.address });
      const described = await new Client({ connection: again }).workflow.getHandle("servers-test/kept").describe();
      assert.equal(described.status.name, "RUNNING");
      await again.close();
    } finally {
      await server.stop();
      await taken.close();
    }
  });

  test("MinIO: the S3 port is taken on the first try", async () => {
    const dir = await testDir("minio-retry");
    const taken = await occupiedPort();
    const retries: string[] = [];
    const minio = new MinioServer({
      dataDir: join(dir, "data"),
      logFile: join(dir, "minio.log"),
      pickPort: pickerStartingWith(taken.port),
      retry: { onRetry: (message) => retries.push(message) },
    });
    try {
      await minio.start();
      assert.equal(minio.lastStart?.attempts, 2);
      assert.match(retries[0]!, /\[minio\] address in use \(.*port is already in use.*\); starting again on fresh ports \(try 2 of 4\)/i);
      assert.notEqual(minio.port, taken.port);
      assert.ok(await ok(`${minio.endpoint}/minio/health/ready`));
    } finally {
      await minio.stop();
      await taken.close();
    }
  });

  test("Toxiproxy: the API port is taken on the first try", async () => {
    const dir = await testDir("toxiproxy-retry");
    const taken = await occupiedPort();
    const retries: string[] = [];
    const toxiproxy = new ToxiproxyServer({
      logFile: join(dir, "toxiproxy.log"),
      pickPort: pickerStartingWith(taken.port),
      retry: { onRetry: (message) => retries.push(message) },
    });
    try {
      await toxiproxy.start();
      assert.equal(toxiproxy.lastStart?.attempts, 2);
      assert.match(retries[0]!, new RegExp(`\\[toxiproxy\\] address in use \\(.*127\\.0\\.0\\.1:${taken.port}: bind: address already in use`));
      assert.ok(await toxiproxy.client.version(), "the API answers");
    } finally {
      await toxiproxy.stop();
      await taken.close();
    }
  });

  test("when every try finds the address in use, the failure is reported with the server's log", async () => {
    const dir = await testDir("dev-exhausted");
    const taken = await occupiedPort();
    const retries: string[] = [];
    const server = new TemporalDevServer({
      dbFile: join(dir, "temporal.db"),
      logFile: join(dir, "temporal.log"),
      pickPort: pickerStartingWith(taken.port, 1_000),
      retry: { attempts: 3, onRetry: (message) => retries.push(message) },
    });
    try {
      await assert.rejects(server.start(), (error: unknown) => {
        assert.ok(error instanceof AddressInUseError, String(error));
        assert.match(error.message, new RegExp(`temporal dev server: exited during start-up .*end of .*temporal\\.log:\\n[^]*${taken.port}: bind: address already in use`));
        return true;
      });
      assert.equal(retries.length, 2);
    } finally {
      await server.stop();
      await taken.close();
    }
  });

  test("a failure that is not an address in use is reported at once, not retried", async () => {
    const dir = await testDir("dev-bad");
    const retries: string[] = [];
    const server = new TemporalDevServer({
      dbFile: join(dir, "temporal.db"),
      logFile: join(dir, "temporal.log"),
      searchAttributes: { TkBad: "NotAType" as "Keyword" },
      retry: { onRetry: (message) => retries.push(message) },
    });
    await assert.rejects(server.start(), (error: unknown) => {
      assert.ok(error instanceof ServerProcessError && !(error instanceof AddressInUseError), String(error));
      assert.match(error.message, /exited during start-up \(code 1\); end of .*temporal\.log:\n.*invalid search attribute value type/);
      return true;
    });
    assert.equal(retries.length, 0);
  });
});

describe("a process that dies while something waits on it", () => {
  test("ends the wait with its exit and the end of its log, and does not end it while it runs", async () => {
    const dir = await testDir("servers-dying");
    const dying = new ManagedProcess("dying", process.execPath, ["-e", "setTimeout(() => { console.error('last words'); process.exit(3); }, 300)"], join(dir, "dying.log"));
    await dying.start();
    const never = new Promise<never>(() => undefined);
    const waited = Promise.race([never, dying.failWhenExited()]);
    // Still running: the wait goes on.
    assert.equal(await Promise.race([waited.then(() => "ended", () => "ended"), sleep(100).then(() => "waiting")]), "waiting");
    await assert.rejects(waited, (error: unknown) => {
      assert.ok(error instanceof ServerProcessError);
      assert.match(error.message, /dying: exited \(code 3\); end of .*dying\.log:\n(.*\n)*last words/);
      return true;
    });
  });
});

describe("a process whose owner is killed", () => {
  test("runs on and its output still reaches its log (a killed demo's dev server, which --resume stops)", async () => {
    const dir = await testDir("servers-orphan");
    const logFile = join(dir, "orphan.log");
    // The child writes to stdout and stderr every 20 ms for two seconds, then says it is done.
    const child = "let n = 0; const t = setInterval(() => { console.log('out ' + n); console.error('err ' + n); if (++n === 100) { clearInterval(t); console.log('done'); } }, 20);";
    const owner = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `import { ManagedProcess } from ${JSON.stringify(resolve(repositoryRoot, "lib/servers/process.ts"))};
         const p = new ManagedProcess("orphan", process.execPath, ["-e", ${JSON.stringify(child)}], ${JSON.stringify(logFile)}, process.env, { ownProcessGroup: true });
         await p.start(); console.log(p.pid); setInterval(() => undefined, 1000);`,
      ],
      { cwd: repositoryRoot, stdio: ["ignore", "pipe", "inherit"] },
    );
    const pid = Number(await new Promise<string>((resolveLine) => owner.stdout!.once("data", (chunk: Buffer) => resolveLine(chunk.toString().trim()))));
    assert.ok(Number.isInteger(pid) && pid > 0, `the owner printed its child's pid: ${pid}`);
    owner.kill("SIGKILL");
    await new Promise((resolveExit) => owner.once("exit", resolveExit));
    assert.ok(processExists(pid), "the child outlived its owner");
    const deadline = Date.now() + 20_000;
    while (processExists(pid) && Date.now() < deadline) await sleep(50);
    const log = await readFile(logFile, "utf8");
    assert.match(log, /^err 99$/m);
    assert.match(log, /^done$/m, `the child wrote to the end after its owner was killed:\n${log.slice(-200)}`);
  });
});
