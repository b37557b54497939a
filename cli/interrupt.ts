import { constants } from "node:os";

/** What a step awaited by `Interruption.race` rejects with once SIGINT or SIGTERM came. */
export class InterruptedError extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/**
 * SIGINT and SIGTERM for a command that starts servers and workflows: the first signal aborts
 * `signal` (what the command awaits then rejects, see `race`), and the command stops what it
 * started, in its own order, and returns `exitCode`. A second signal does not wait for that: it
 * exits at once (the servers this process started are killed on exit, lib/servers/process.ts).
 * Whoever holds one calls `dispose()` when done, giving the signals back to their default.
 */
export class Interruption {
  private readonly controller = new AbortController();
  private received: NodeJS.Signals | undefined;
  private readonly handler = (signal: NodeJS.Signals): void => {
    if (this.received) {
      process.stderr.write(`\n${signal} again: exiting now\n`);
      process.exit(128 + constants.signals[signal]);
    }
    this.received = signal;
    this.onInterrupt(signal);
    this.controller.abort(new InterruptedError(signal));
  };

  /** `onInterrupt` hears of the first signal, before anything awaited is aborted. */
  constructor(private readonly onInterrupt: (signal: NodeJS.Signals) => void) {
    process.on("SIGINT", this.handler);
    process.on("SIGTERM", this.handler);
  }

  /** Aborted by the first signal (its reason an InterruptedError): hand it to child processes and loops. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The signal that came, if one did. */
  get interrupted(): NodeJS.Signals | undefined {
    return this.received;
  }

  /** The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). */
  get exitCode(): number {
    return this.received ? 128 + constants.signals[this.received] : 0;
  }

  /** `step`'s value, or an InterruptedError as soon as a signal comes (`step` is left to settle unheard). */
  race<T>(step: Promise<T>): Promise<T> {
    if (this.controller.signal.aborted) {
      step.catch(() => undefined);
      return Promise.reject(this.controller.signal.reason as InterruptedError);
    }
    return new Promise<T>((resolveStep, rejectStep) => {
      const abort = (): void => rejectStep(this.controller.signal.reason as InterruptedError);
      this.controller.signal.addEventListener("abort", abort, { once: true });
      step.then(resolveStep, rejectStep).finally(() => this.controller.signal.removeEventListener("abort", abort));
    });
  }

  /** Resolves when the first signal comes (e.g. `--keep`: wait for Ctrl-C). */
  untilInterrupted(): Promise<void> {
    return new Promise((resolveWait) => {
      if (this.controller.signal.aborted) resolveWait();
      else this.controller.signal.addEventListener("abort", () => resolveWait(), { once: true });
    });
  }

  dispose(): void {
    process.off("SIGINT", this.handler);
    process.off("SIGTERM", this.handler);
  }
}
