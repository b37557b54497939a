/**
 * Loading `@earthmover/icechunk`'s native Node bindings. The plain load is tried first; only when it
 * fails for the glibc 2.38 symbols our shim provides (`glibcShim.ts`) is the shim built and loaded
 * and the load tried again. Any other failure is an IcechunkError("bindings-unavailable") that says
 * what failed, never the package's generic "Cannot find native binding".
 *
 * The package is loaded with require(), not import(): a failed ESM import stays failed for the life
 * of the process, a failed require() can be retried once the shim is in place.
 */
import { createRequire } from "node:module";
import type * as IcechunkModule from "@earthmover/icechunk";
import { IcechunkError } from "../errors.js";
import { loadGlibcShim, ShimUnavailable, shimmedSymbols } from "./glibcShim.js";

export type Icechunk = typeof IcechunkModule;

const PACKAGE = "@earthmover/icechunk";
const require = createRequire(import.meta.url);

/** How the bindings were loaded, for diagnostics. */
export interface BindingsInfo {
  /** The shim library loaded first, when the plain load needed it. */
  glibcShim?: string;
}

let loaded: Promise<{ icechunk: Icechunk; info: BindingsInfo }> | undefined;

/** Every message in an error's cause chain (the package chains each candidate's load error). */
function causeMessages(error: unknown): string[] {
  const messages: string[] = [];
  for (let e = error, depth = 0; e && depth < 20; e = (e as { cause?: unknown }).cause, depth++) {
    messages.push(e instanceof Error ? e.message : String(e));
  }
  return messages;
}

/** The undefined symbols named in a load failure ("undefined symbol: __isoc23_sscanf"). */
function undefinedSymbols(error: unknown): string[] {
  return [...new Set(causeMessages(error).flatMap((m) => [...m.matchAll(/undefined symbol: (\w+)/g)].map((match) => match[1]!)))];
}

function unavailable(detail: string): IcechunkError {
  return new IcechunkError("bindings-unavailable", PACKAGE, detail, false);
}

function describe(error: unknown): string {
  const messages = causeMessages(error);
  // The most specific message is the native loader's (a .node path), else the last in the chain.
  const native = messages.find((m) => /\.node\b/.test(m) && !/Cannot find module/.test(m));
  return (native ?? messages[messages.length - 1] ?? "unknown error").split("\n")[0]!;
}

async function load(): Promise<{ icechunk: Icechunk; info: BindingsInfo }> {
  let firstError: unknown;
  try {
    return { icechunk: require(PACKAGE) as Icechunk, info: {} };
  } catch (error) {
    firstError = error;
  }
  const missing = undefinedSymbols(firstError);
  const shimmable = missing.length > 0 && missing.every((s) => (shimmedSymbols as readonly string[]).includes(s));
  if (process.platform !== "linux" || !shimmable) {
    throw unavailable(
      `the native bindings do not load on ${process.platform}-${process.arch}: ${describe(firstError)}` +
        (missing.length > 0 ? ` (symbols missing from this system's libraries: ${missing.join(", ")})` : " (is the optional package for this platform installed? run 'npm ci' without --omit=optional)"),
    );
  }
  let shim: string;
  try {
    shim = await loadGlibcShim();
  } catch (error) {
    const detail = error instanceof ShimUnavailable ? error.message : String(error);
    throw unavailable(`the prebuilt addon needs glibc 2.38 (${missing.join(", ")}) and this system has an older glibc; ${detail}`);
  }
  try {
    return { icechunk: require(PACKAGE) as Icechunk, info: { glibcShim: shim } };
  } catch (error) {
    throw unavailable(`the native bindings still do not load with the glibc shim (${shim}) in place: ${describe(error)}`);
  }
}

/** The Icechunk bindings (loaded once per process). */
export async function loadIcechunk(): Promise<Icechunk> {
  return (await loadIcechunkWithInfo()).icechunk;
}

/** The bindings and how they were loaded. A failed load is not cached: the next call tries again. */
export function loadIcechunkWithInfo(): Promise<{ icechunk: Icechunk; info: BindingsInfo }> {
  loaded ??= load().catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}
