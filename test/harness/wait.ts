import { sleep } from "../../lib/servers/process.js";

/**
 * Ask `probe` every 200 ms until it gives a value, and return that value; after `timeoutMs`, fail
 * naming what was awaited. The tests' one way to wait for a state they cannot be told of.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}`);
    await sleep(200);
  }
}
