import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from "@temporalio/worker";
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { inspect } from "node:util";

export interface FileLoggingOptions {
  /** Lowest level written (default INFO). */
  level?: LogLevel;
  /**
   * Signals on which the SDK shuts its workers down by itself (its default: SIGINT, SIGTERM,
   * SIGQUIT, SIGUSR2). A command that stops what it started in its own order passes [].
   */
  shutdownSignals?: NodeJS.Signals[];
}

/**
 * Install the SDK's Runtime with every log line of the worker in one file: the SDK's and our
 * activities' and workflows' logs, and the SDK core's own (forwarded to the same logger), so a
 * terminal shows only what the command prints (a failed activity's whole failure and stack, or the
 * core's warnings about a terminated workflow's activities, go to the file). Lines are written
 * synchronously, so nothing is lost when the process exits. Call once, before any connection.
 */
export function installFileLogging(path: string, options: FileLoggingOptions = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "a");
  process.once("exit", () => closeSync(fd));
  const write = ({ level, timestampNanos, message, meta }: LogEntry): void => {
    const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
    const details = meta === undefined || Object.keys(meta).length === 0 ? "" : ` ${inspect(meta, { depth: 6, breakLength: Infinity })}`;
    writeSync(fd, `${time} [${level}] ${message}${details}\n`);
  };
  Runtime.install({
    logger: new DefaultLogger(options.level ?? "INFO", write),
    telemetryOptions: { logging: { filter: { core: "WARN", other: "ERROR" }, forward: {} } },
    ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
  });
}
