import { randomBytes } from "node:crypto";
import { readFile as readFileCallback, readlinkSync, writeFile as writeFileCallback } from "node:fs";
import { link, mkdir, readdir, rename, rmdir, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { StorageError } from "../errors.js";
import { processExists } from "../servers/process.js";
import { LocalFileSource } from "../source/localFile.js";
import type { ByteSource } from "../source/byteSource.js";
import type { ObjectInfo, Storage } from "./storage.js";

/**
 * Whole-file reads and writes through the callback API, one promise each: fs/promises makes one
 * for every step (open, stat, each read or write, close), about 20 a staged file read and written
 * back, and inside an activity's AsyncLocalStorage Node 20 runs its promise hooks on each.
 */
const readFile = promisify(readFileCallback);
const writeFile = promisify(writeFileCallback);

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException)?.code;

/**
 * Temporary files (`<key>.tmp-<pid>-<process token>-<pid namespace>-<count>-<host>`) and when one is
 * stale. A writer killed between writing its temporary file and renaming it (SIGKILL, OOM, power)
 * leaves the file behind; `list` removes such files, and must never remove a live writer's: that
 * writer's rename would then fail (an error and a retry, never a wrong output, but a failed write).
 *
 * A temporary file is stale when its writer is known dead:
 *  - written on this host, in this pid namespace, by our own pid but another process token: our
 *    pid was the writer's, so that writer is gone (a restarted container often gets the same pid);
 *  - written on this host, in this pid namespace, by a pid that no longer exists (kill(pid, 0)
 *    says ESRCH). The namespace is in the name because containers sharing a hostname (host
 *    networking) have separate pid spaces, where our kill(pid, 0) says nothing of their writer.
 * A live pid is never judged stale (it may be the writer, or a reused pid: the file then waits for
 * the age bound). Files from another host or namespace are stale only when untouched for
 * STALE_TEMPORARY_MS: a write takes seconds, so a day is far past any live write (a writer paused
 * that long fails its rename and is retried). Names in the format before this one (`.tmp-<12 hex>`)
 * are left alone: a listing may be of a user's source folder, where only a name no other program
 * writes may be removed.
 */
const STALE_TEMPORARY_MS = 24 * 3600 * 1000;
const processToken = randomBytes(4).toString("hex");
const pidNamespace = ((): string => {
  try {
    return /\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"))?.[1] ?? "";
  } catch {
    return ""; // not Linux: no namespace to tell, so only our own pid and the age bound apply
  }
})();
const hostName = hostname().replace(/[^A-Za-z0-9.-]/g, "_");
const temporaryPattern = /\.tmp-(\d+)-([0-9a-f]{8})-(\d*)-[0-9a-f]{12}-([A-Za-z0-9._-]+)$/;

/** Unique within the process (pid and token tell processes apart): a count, cheaper than random bytes per write. */
let temporaryCount = 0;
const temporaryName = (target: string): string => `${target}.tmp-${process.pid}-${processToken}-${pidNamespace}-${(temporaryCount++).toString(16).padStart(12, "0")}-${hostName}`;

/** Whether a file named `name`, last modified at `mtimeMs`, is a temporary file whose writer is gone (see above). */
export function isStaleTemporary(name: string, mtimeMs: number, now = Date.now()): boolean {
  const match = temporaryPattern.exec(name);
  if (!match) return false;
  const [, pidText, token, namespace, host] = match;
  if (host === hostName && namespace === pidNamespace) {
    const pid = Number(pidText);
    if (pid === process.pid) return token !== processToken; // ours, or our pid's dead predecessor's
    if (pidNamespace !== "" && !processExists(pid)) return true;
  }
  return now - mtimeMs > STALE_TEMPORARY_MS;
}

/** A local folder as storage. Atomic writes: a temporary file, then rename (or link, to create once). */
export class LocalStorage implements Storage {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get description(): string {
    return this.root;
  }

  private path(key: string): string {
    const path = resolve(this.root, key);
    if (path !== this.root && !path.startsWith(this.root + sep)) {
      throw new StorageError(this.description, key, "key escapes the storage folder", false);
    }
    return path;
  }

  url(key: string): string {
    return this.path(key);
  }

  /**
   * Every object under `prefix`, in key order. Temporary files are never listed; those of a writer
   * that is gone (`isStaleTemporary`) are removed on the way, so a run after a crash tidies up.
   */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk from the deepest folder the prefix names, then filter by the full prefix.
    const slash = prefix.lastIndexOf("/");
    const start = this.path(slash < 0 ? "" : prefix.slice(0, slash));
    const found: ObjectInfo[] = [];
    // A folder's key is its parent's and its name: no path arithmetic per entry. The entries that
    // do not match are most of a large folder (a day's survey lists "<output folder>/20130101." in
    // a folder of every day's output), so they cost a string comparison each and nothing more.
    const walk = async (dir: string, dirKey: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return;
        throw new StorageError(this.description, relative(this.root, dir), `cannot list: ${(error as Error).message}`, false);
      }
      for (const entry of entries) {
        const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(join(dir, entry.name), key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const path = join(dir, entry.name);
          if (!entry.name.includes(".tmp-")) {
            const info = await this.listedObject(path, key);
            if (info) found.push(info);
          } else {
            await this.removeIfStale(path, entry.name);
          }
        }
      }
    };
    await walk(start, relative(this.root, start).split(sep).join("/"));
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* found;
  }

  /**
   * A listed file's size and time; none when it is gone since the folder was read (another run
   * removed it: a listing is of what was there, and a day's combine removes staging while others
   * list it).
   */
  protected async listedObject(path: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(path);
      return { key, size: info.size, modifiedMs: info.mtimeMs };
    } catch (error) {
      if (errorCode(error) === "ENOENT") return undefined;
      throw new StorageError(this.description, key, `cannot list: ${(error as Error).message}`, false);
    }
  }

  private async removeIfStale(path: string, name: string): Promise<void> {
    try {
      if (isStaleTemporary(name, (await stat(path)).mtimeMs)) await unlink(path);
    } catch {
      // Gone already (its writer renamed it, or another lister removed it), or not ours to remove
      // (a read-only folder): listing goes on.
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch (error) {
      if (errorCode(error) === "ENOENT") return false;
      throw new StorageError(this.description, key, (error as Error).message, false);
    }
  }

  async read(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.path(key)));
    } catch (error) {
      throw new StorageError(this.description, key, `cannot read: ${(error as Error).message}`, false);
    }
  }

  async write(key: string, bytes: Uint8Array, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    const target = this.path(key);
    const temporary = temporaryName(target);
    // Renamed into place, the temporary name is gone: no unlink (a failing system call and error) after.
    let renamed = false;
    try {
      await writeCreatingFolders(temporary, bytes);
      if (options.ifAbsent) {
        // link() fails if the target exists: an atomic create-once, unlike rename().
        try {
          await link(temporary, target);
        } catch (error) {
          if (errorCode(error) === "EEXIST") return false;
          throw error;
        }
        return true;
      }
      await rename(temporary, target);
      renamed = true;
      return true;
    } catch (error) {
      throw new StorageError(this.description, key, `cannot write: ${(error as Error).message}`, false);
    } finally {
      if (!renamed) await unlink(temporary).catch(() => undefined);
    }
  }

  /**
   * Remove a key, and the folders it leaves empty (staging folders do not pile up). A writer that
   * just made one of those folders may see it removed before its file lands: `write` tries again.
   */
  async delete(key: string): Promise<void> {
    return this.deleteAll([key]);
  }

  /**
   * The files first, then each folder they were in, once (not once per file: a day's staging
   * folder is tried when its last file is gone, not 24 times).
   */
  async deleteAll(keys: readonly string[]): Promise<void> {
    const paths = keys.map((key) => this.path(key));
    // unlink, not rm: a key is a file, and rm looks at it (lstat) before unlinking it.
    await Promise.all(
      paths.map((path) =>
        unlink(path).catch((error: unknown) => {
          if (errorCode(error) !== "ENOENT") throw error;
        }),
      ),
    );
    for (const folder of new Set(paths.map((path) => dirname(path)))) {
      for (let dir = folder; dir.startsWith(this.root + sep); dir = dirname(dir)) {
        try {
          await rmdir(dir);
        } catch {
          break; // not empty (or gone): stop climbing
        }
      }
    }
  }

  source(key: string): ByteSource {
    return new LocalFileSource(this.path(key));
  }

  async close(): Promise<void> {}
}

/**
 * Write a file, making its folders when they are missing (ENOENT; usually they are there: a day's
 * staging folder gets file after file). Another writer's `delete` may remove a folder it found
 * empty while we make its subfolders or write into it (ENOENT): make the folders again, a few times.
 */
async function writeCreatingFolders(path: string, bytes: Uint8Array): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (attempt > 1) await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
      return;
    } catch (error) {
      if (errorCode(error) !== "ENOENT" || attempt >= 20) throw error;
    }
  }
}
