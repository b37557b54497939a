import { readFileSync } from "node:fs";

/**
 * The node flags the `temporal-kerchunk` bin runs with: those of its first line
 * (`#!/usr/bin/env -S node FLAGS`, cli/main.ts), the one place they are set. Whatever starts the
 * bin's code through `node` itself (the benchmarks' workers) gives node these.
 */
export function binNodeFlags(mainPath: string): string[] {
  const first = readFileSync(mainPath, "utf8").split("\n", 1)[0]!;
  const match = /^#!\/usr\/bin\/env -S node((?: +\S+)*) *$/.exec(first);
  if (!match) throw new Error(`${mainPath}: the first line is not "#!/usr/bin/env -S node [flags]": ${JSON.stringify(first)}`);
  return match[1]!.split(" ").filter((flag) => flag !== "");
}
