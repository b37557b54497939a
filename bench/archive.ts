import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { repositoryRoot } from "../lib/servers/process.js";

const run = promisify(execFile);

/** Where the backfill benchmarks keep their archives and runs. */
export const benchDir = resolve(repositoryRoot, ".work/bench/backfill");

/** The date (YYYY-MM-DD) of the `days`th day of a range that starts on `start` (YYYY-MM-DD). */
export function lastDayOf(start: string, days: number): string {
  return new Date(Date.parse(`${start}T00:00:00Z`) + (days - 1) * 86_400_000).toISOString().slice(0, 10);
}

/** The keys of an archive (…/YYYY/MM/DD/…, as python/make_archive.py writes them) of the days up to `lastDay`. */
export function keysUpTo(keys: readonly string[], lastDay: string): string[] {
  return keys.filter((key) => /\/(\d{4})\/(\d{2})\/(\d{2})\//.test(key) && key.split("/").slice(1, 4).join("-") <= lastDay);
}

/** A bench archive's grid: rows x columns of a Himawari-like file, or "full" (the real product's size). */
export type BenchGrid = number[] | "full";

/** `--grid`'s value ("300x600" or "full") as a BenchGrid. */
export const parseBenchGrid = (value: string): BenchGrid => (value === "full" ? "full" : value.split("x").map(Number));

/**
 * A Himawari-like archive of `days` x `hours` files of `grid`, written once (python/make_archive.py)
 * under .work/bench/backfill/ and reused; returns its folder and keys. `grid` "full": files of the
 * real product's size (9000 x 18000, 72 MB: bench/backfill/make_full_size.py).
 */
export async function benchArchive(start: string, days: number, hours: number, grid: BenchGrid, log: (message: string) => void): Promise<{ archive: string; keys: string[] }> {
  const gridName = grid === "full" ? "full" : grid.join("x");
  const archive = join(benchDir, `archive-${start}-${days}d-${hours}h-${gridName}`);
  await mkdir(benchDir, { recursive: true });
  const keysFile = join(archive, ".keys.json");
  if (!existsSync(keysFile)) {
    log(`writing ${days} days x ${hours} files (${gridName}) under ${archive} ...`);
    const [script, ...gridArgs] = grid === "full" ? ["bench/backfill/make_full_size.py"] : ["python/make_archive.py", "--grid", String(grid[0]), String(grid[1])];
    const { stdout } = await run(
      resolve(repositoryRoot, ".venv/bin/python"),
      [resolve(repositoryRoot, script!), archive, start, String(days), "--hours", String(hours), ...gridArgs],
      { maxBuffer: 512 * 1024 * 1024 },
    );
    await writeFile(keysFile, stdout);
  }
  return { archive, keys: JSON.parse(readFileSync(keysFile, "utf8")) as string[] };
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc; `withChildren` adds its
 * children's: the live ones and those it has reaped (PostgreSQL's backends).
 */
export function cpuSeconds(pid: number | undefined, withChildren = false): number {
  if (!pid || !existsSync(`/proc/${pid}/stat`)) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  let ticks = Number(fields[11]) + Number(fields[12]);
  if (withChildren) {
    ticks += Number(fields[13]) + Number(fields[14]);
    for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ");
        if (Number(stat[1]) === pid) ticks += Number(stat[11]) + Number(stat[12]);
      } catch {
        // gone meanwhile
      }
    }
  }
  return ticks / 100;
}

/**
 * CPU seconds a process's threads have used so far, by thread name (/proc/PID/task/*): "main" is
 * the main thread, "tokio-runtime-w" Temporal's core; other threads named "node" are worker_threads
 * (Temporal's workflow threads) and V8's helpers.
 */
export function threadCpuSeconds(pid: number | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!pid || !existsSync(`/proc/${pid}/task`)) return out;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      // The main thread apart from the other threads named like it (worker_threads, V8's helpers).
      const name = tid === String(pid) ? "main" : comm;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
