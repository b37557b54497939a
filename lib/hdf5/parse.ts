/**
 * Parsers that wait only when they must. A parse is a generator: it takes the bytes the source
 * holds at once (`Hdf5Context.cursorNow`) and yields a `Later`, a function that starts the read
 * (or other step) it waits for, only when they are not held; it is resumed with that step's
 * result. `parseNow` runs a parse without waiting (undefined when it would wait), `runParse` runs
 * it to the end with its reads. One parser serves both ways: a file whose metadata the first round
 * fetched is walked without a promise (inside an activity's AsyncLocalStorage node runs hooks on
 * every promise, and an async function makes several), any other with the same reads and round
 * trips as before.
 */

/** A step a parse waits for, not started until the parse is run with `runParse`. */
export type Later = () => Promise<unknown>;

/** A parse producing T: yields what it waits for, returns T. */
export type Parse<T> = Generator<Later, T, unknown>;

/** Wait for `start`'s promise. (With `both`, the only place a resumed value is given its type.) */
export function* later<T>(start: () => Promise<T>): Parse<T> {
  return (yield start) as T;
}

/** A parse that has its value already. */
export function* done<T>(value: T): Parse<T> {
  return value;
}

/** `parse`'s result if it waits for nothing, else undefined (the parse is dropped). */
export function parseNow<T>(parse: Parse<T>): T | undefined {
  const step = parse.next();
  return step.done ? step.value : undefined;
}

/**
 * Run `parse` to the end, waiting for each step it yields; a failed step is thrown into it. (A
 * parse that throws before its first step rejects, as an async function does.)
 */
export function runParse<T>(parse: Parse<T>): Promise<T> {
  return finish(parse);
}

/** `runParse` from `step` (the parse's first step when not given). */
async function finish<T>(parse: Parse<T>, first?: IteratorResult<Later, T>): Promise<T> {
  let step = first ?? parse.next();
  while (!step.done) {
    let value: unknown;
    try {
      value = await step.value();
    } catch (error) {
      step = parse.throw(error);
      continue;
    }
    step = parse.next(value);
  }
  return step.value;
}

/**
 * Every parse side by side, their results in order: at once when none waits; else those that wait
 * go on together (their reads in one round trip, as `Promise.all` of async parsers did).
 */
export function* all<T>(parses: readonly Parse<T>[]): Parse<T[]> {
  const results = new Array<T>(parses.length);
  let waiting: { index: number; parse: Parse<T>; step: IteratorResult<Later, T> }[] | undefined;
  for (let index = 0; index < parses.length; index++) {
    const parse = parses[index]!;
    const step = parse.next();
    if (step.done) results[index] = step.value;
    else (waiting ??= []).push({ index, parse, step });
  }
  if (waiting !== undefined) {
    const rest = waiting;
    yield* later(() => Promise.all(rest.map(async ({ index, parse, step }) => void (results[index] = await finish(parse, step)))));
  }
  return results;
}

/** Two parses of different types side by side (`all`). */
export function* both<A, B>(a: Parse<A>, b: Parse<B>): Parse<[A, B]> {
  const [x, y] = yield* all<A | B>([a, b]);
  return [x as A, y as B];
}

/** `parse`, then `effect` on its result as soon as it is there (before the parses beside it end). */
export function* andThen<T>(parse: Parse<T>, effect: (value: T) => void): Parse<T> {
  const value = yield* parse;
  effect(value);
  return value;
}

/** `parse`'s result passed through `f`. */
export function* map<T, U>(parse: Parse<T>, f: (value: T) => U): Parse<U> {
  return f(yield* parse);
}
