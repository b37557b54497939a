/**
 * Commit messages that name the dataset, the day and the files. The JS bindings (2.2.2) commit a
 * message only (`Session.commit(message)`; Python's `commit(message, metadata=...)` has no JS
 * counterpart), so the facts a program needs travel in the message: a human line, then one line
 * `temporal-kerchunk-day <JSON>` that `parseCommitMessage` reads back (history, retries, tags).
 */
export interface DayCommitFacts {
  dataset: string;
  /** "2022-01-13". */
  day: string;
  /** The concat dimension and the day's values along it (store units). */
  dim: string;
  steps: number;
  first: number;
  last: number;
  /** Common URL prefix of the files ("s3://noaa-himawari8/AHI-L2-FLDK-SST/2022/01/13/"). */
  source: string;
  /** The files, relative to `source`, in time order. */
  files: string[];
  /**
   * Where the day went when not all into the root group (issue 17's eras; absent otherwise, so a
   * store without drift keeps the messages it always had): each run's group, steps and first and
   * last value (in that group's units).
   */
  eras?: EraPart[];
}

export interface EraPart {
  /** "" (the root group, the first era), "era002", ... */
  group: string;
  steps: number;
  first: number;
  last: number;
}

const MARKER = "temporal-kerchunk-day ";

function commonFolder(urls: readonly string[]): string {
  if (urls.length === 0) return "";
  let prefix = urls[0]!;
  for (const url of urls) while (!url.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix.slice(0, prefix.lastIndexOf("/") + 1);
}

export function dayCommitFacts(base: Omit<DayCommitFacts, "source" | "files" | "eras">, fileUrls: readonly string[], parts: readonly EraPart[] = []): DayCommitFacts {
  const source = commonFolder(fileUrls);
  const eras = parts.length > 1 || parts.some((p) => p.group !== "") ? { eras: [...parts] } : {};
  return { ...base, source, files: fileUrls.map((url) => url.slice(source.length)), ...eras };
}

export function commitMessage(facts: DayCommitFacts): string {
  return `${facts.dataset} ${facts.day}: ${facts.steps} ${facts.dim} steps from ${facts.files.length} files\n${MARKER}${JSON.stringify(facts)}`;
}

/** The facts of a commit this library wrote, or undefined for any other commit. */
export function parseCommitMessage(message: string): DayCommitFacts | undefined {
  const line = message.split("\n").find((l) => l.startsWith(MARKER));
  if (!line) return undefined;
  try {
    const facts = JSON.parse(line.slice(MARKER.length)) as DayCommitFacts;
    return typeof facts.dataset === "string" && typeof facts.day === "string" ? facts : undefined;
  } catch {
    return undefined;
  }
}
