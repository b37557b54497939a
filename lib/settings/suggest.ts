/**
 * "Did you mean ...?" for a mistyped name (a config key, a command-line flag, a command): the
 * known name nearest to what was typed, if one is near enough to be the likely intent.
 */

/** Compared without case, '-' and '_': `concat_dims`, `concat-dims` and `concatDims` are one name. */
const normalize = (name: string): string => name.toLowerCase().replace(/[-_]/g, "");

/** Edit distance counting an insertion, deletion, substitution or swap of neighbours as one edit. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j]!;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The known name nearest to `typed`, or undefined when none is plausibly meant: at most one edit
 * for short names, two from 6 characters, three from 12, and never more than a third of the name.
 * Ties go to the name listed first.
 */
export function nearestName(typed: string, known: Iterable<string>): string | undefined {
  const wanted = normalize(typed);
  const limit = Math.min(wanted.length < 6 ? 1 : wanted.length < 12 ? 2 : 3, Math.max(1, Math.floor(wanted.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const distance = editDistance(wanted, normalize(name));
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** `"; did you mean aggregation?"`, or `""` when nothing known is near. */
export function didYouMean(typed: string, known: Iterable<string>, show: (name: string) => string = (name) => name): string {
  const nearest = nearestName(typed, known);
  return nearest === undefined ? "" : `; did you mean ${show(nearest)}?`;
}
