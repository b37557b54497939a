import { Client, Connection } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime } from "@temporalio/worker";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { repositoryRoot } from "../lib/servers/process.js";
import { TemporalDevServer } from "../worker/devServer.js";
import { createWorker, defaultTaskQueue } from "../worker/worker.js";
import { searchAttributeRegistrations } from "../workflows/searchAttributes.js";

const help = `usage: temporal-kerchunk demo [--keep] [--ui-port N]

Starts the local Temporal dev server (with its Web UI) and a worker, runs the demo workflow and
prints the result. --keep leaves the server and worker running until Ctrl-C, to browse the Web UI.`;

export const demoCommand = {
  summary: "run the main job on the embedded default (local dev server, local data)",
  async run(args: string[]): Promise<number> {
    const { values } = parseArgs({
      args,
      options: { keep: { type: "boolean" }, "ui-port": { type: "string" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      console.log(help);
      return 0;
    }
    const workDir = resolve(repositoryRoot, ".work/demo");
    await mkdir(workDir, { recursive: true });
    Runtime.install({ logger: new DefaultLogger("WARN") });

    console.log("starting the Temporal dev server ...");
    const server = await new TemporalDevServer({
      ui: true,
      ...(values["ui-port"] ? { uiPort: Number(values["ui-port"]) } : {}),
      dbFile: resolve(workDir, "temporal.db"),
      logFile: resolve(workDir, "temporal.log"),
      searchAttributes: searchAttributeRegistrations,
    }).start();
    console.log(`Temporal ${server.address}; Web UI ${server.uiUrl ?? "(not available)"}`);

    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const worker = await createWorker({ connection: nativeConnection });
    const running = worker.run();
    try {
      const workflowId = `demo-ping-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      const result = await client.workflow.execute("ping", {
        taskQueue: defaultTaskQueue,
        workflowId,
        args: ["the demo"],
      });
      console.log(`workflow ${workflowId}: ${result}`);
      if (server.uiUrl) console.log(`see it in the Web UI: ${server.uiUrl}/namespaces/default/workflows/${workflowId}`);
      if (values.keep) {
        console.log("--keep: server and worker stay up; Ctrl-C to stop");
        await new Promise<void>((resolveWait) => process.once("SIGINT", () => resolveWait()));
      }
    } finally {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await server.stop();
    }
    return 0;
  },
};
