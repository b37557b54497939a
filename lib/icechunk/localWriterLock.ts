/**
 * One writer at a time for a repository on a local filesystem.
 *
 * Icechunk's commits are safe against concurrent writers only where the storage can update a file
 * conditionally (S3 and friends). Its local filesystem storage cannot (it goes through
 * object_store's LocalFileSystem; icechunk issues #804 and #1494): two writers committing at once
 * both move the branch and one commit is lost or a day lands twice. So writes to a local repository
 * (create, commit, tag) run while holding a lock file beside it, `<repository>.writer-lock`, made
 * with an exclusive create (atomic on a local filesystem, across processes and workers of one
 * machine; not across machines sharing a network filesystem, which the README says).
 *
 * A holder refreshes the lock file's modification time while it works; a lock not refreshed for
 * `staleMs` belongs to a writer that died (a SIGKILLed worker) and is broken by the next writer.
 * S3 repositories need none of this: `withWriterLock` runs the work directly.
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { IcechunkError } from "../errors.js";
import type { RepositoryLocation } from "./location.js";

export interface WriterLockOptions {
  /** A lock not refreshed for this long is taken to be a dead writer's and broken (default 60 s). */
  staleMs?: number;
  /** How long to wait for the lock before a retryable typed error (default 10 min). */
  waitMs?: number;
}

/** The lock file of a local repository. */
export function writerLockPath(location: RepositoryLocation): string {
  return `${location.description}.writer-lock`;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Run `work` as the repository's only writer (local repositories); S3 repositories run it directly. */
export async function withWriterLock<T>(location: RepositoryLocation, work: () => Promise<T>, options: WriterLockOptions = {}): Promise<T> {
  if (location.storage.kind !== "local") return work();
  const staleMs = options.staleMs ?? 60_000;
  const waitMs = options.waitMs ?? 600_000;
  const path = writerLockPath(location);
  const token = randomUUID();
  const deadline = Date.now() + waitMs;
  await mkdir(dirname(path), { recursive: true });
  for (let wait = 10; ; wait = Math.min(500, wait * 2)) {
    if (await tryCreate(path, token)) break;
    await breakIfStale(path, staleMs);
    if (Date.now() > deadline) {
      throw new IcechunkError("writer-lock", location.description, `another writer has held ${path} for over ${Math.round(waitMs / 1000)} s`, true);
    }
    await pause(wait * (0.5 + Math.random()));
  }
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, Math.max(10, Math.floor(staleMs / 4)));
  try {
    return await work();
  } finally {
    clearInterval(refresh);
    await releaseIfOurs(path, token);
  }
}

async function tryCreate(path: string, token: string): Promise<boolean> {
  try {
    const file = await open(path, "wx");
    try {
      await file.writeFile(JSON.stringify({ token, pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    } finally {
      await file.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Break a lock whose holder stopped refreshing it. Renaming first means only one of several
 * writers that found it stale removes it; the others' renames fail and they go back to waiting.
 */
async function breakIfStale(path: string, staleMs: number): Promise<void> {
  try {
    const { mtimeMs } = await stat(path);
    if (Date.now() - mtimeMs < staleMs) return;
    const aside = `${path}.stale-${randomUUID()}`;
    await rename(path, aside);
    await unlink(aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

async function releaseIfOurs(path: string, token: string): Promise<void> {
  try {
    const holder = JSON.parse(await readFile(path, "utf8")) as { token?: string };
    if (holder.token === token) await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" && !(error instanceof SyntaxError)) throw error;
  }
}
