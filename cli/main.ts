#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * `temporal-kerchunk <command>`: the command-line entry point. Each command lives in its own module
 * under cli/ and is loaded only when used, so `refs` does not pay for the Temporal worker's start-up.
 *
 * The line above is where the bin's node flags are set, once (cli/binFlags.ts reads them for the
 * benchmarks): a worker allocates about 0.9 MB a file, nearly all of it short-lived, and with young-generation
 * semi-spaces of 64 MB instead of V8's 16 it spends about a tenth less CPU a file once warm
 * (docs/benchmarks.md, "Young generation"). A flag given at start is the only way: V8 sizes the
 * young generation when the process starts. `node dist/cli/main.js` skips the line: give the flags
 * there yourself.
 */
import { reportFailure } from "./failure.js";
import { didYouMean } from "../lib/settings/suggest.js";

interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  demo: async () => (await import("./demo.js")).demoCommand,
  refs: async () => (await import("./refs.js")).refsCommand,
  combine: async () => (await import("./combine.js")).combineCommand,
  worker: async () => (await import("./worker.js")).workerCommand,
  backfill: async () => (await import("./backfill.js")).backfillCommand,
  schedule: async () => (await import("./schedule.js")).scheduleCommand,
  census: async () => (await import("./census.js")).censusCommand,
  listen: async () => (await import("./listen.js")).listenCommand,
  setup: async () => (await import("./setup.js")).setupCommand,
};

function usage(): string {
  return [
    "usage: temporal-kerchunk <command> [options]",
    "",
    "commands:",
    ...Object.keys(commands).map((name) => `  ${name}`),
    "",
    "Run 'temporal-kerchunk <command> --help' for a command's options.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`unknown command '${name}'${didYouMean(name, Object.keys(commands))}\n\n${usage()}`);
    return 2;
  }
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // One line naming what is wrong and what to do (cli/failure.ts); the stack only with TK_DEBUG=1.
    reportFailure(error);
    process.exit(1);
  },
);
