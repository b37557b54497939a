import { PyFloat, pyJson, type PyJsonValue } from "./pyJson.js";

/**
 * Parse metadata JSON the way Python reads it back, so that `pyJson` writes it out unchanged:
 * numbers written with a decimal point or exponent stay floats (`PyFloat`, so `1.0` is not turned
 * into the int `1`, which xarray would decode differently), integers beyond 2^53 stay exact
 * (bigint), and the NaN/Infinity literals zarr-python writes are accepted.
 */
export function parsePyJson(text: string): PyJsonValue {
  const parser = new PyJsonParser(text);
  const result = parser.value();
  parser.space();
  if (parser.at !== text.length) parser.fail("trailing characters");
  return result;
}

/** Longest number text read (as the regular expression it replaced saw it). */
const MAX_NUMBER_LENGTH = 400;

/**
 * The parser's state and steps, as methods rather than closures made anew for every text (the
 * combine parses every .zarray and .zattrs of every file).
 */
class PyJsonParser {
  at = 0;

  constructor(private readonly text: string) {}

  fail(what: string): never {
    const { text, at } = this;
    throw new SyntaxError(`metadata JSON: ${what} at character ${at}: ${text.slice(Math.max(0, at - 20), at + 20)}`);
  }

  space(): void {
    const text = this.text;
    let at = this.at;
    // Bounded by the length, not by charCodeAt's NaN past the end: optimized code reading past the
    // end deoptimizes.
    while (at < text.length) {
      const c = text.charCodeAt(at);
      // " ", "\t", "\n", "\r"
      if (c === 32 || c === 9 || c === 10 || c === 13) at++;
      else break;
    }
    this.at = at;
  }

  private literal(word: string, value: PyJsonValue): PyJsonValue {
    if (!this.text.startsWith(word, this.at)) this.fail(`expected ${word}`);
    this.at += word.length;
    return value;
  }

  private string(): string {
    const text = this.text;
    const start = this.at;
    const end = findStringEnd(text, start);
    if (end < 0) this.fail("unterminated string");
    // Without escapes or control characters the text between the quotes is the value; otherwise
    // JSON.parse reads it (and rejects what JSON does).
    let plain = true;
    for (let i = start + 1; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === 92 || c < 32) {
        plain = false;
        break;
      }
    }
    const value = plain ? text.slice(start + 1, end) : (JSON.parse(text.slice(start, end + 1)) as string);
    this.at = end + 1;
    return value;
  }

  /** -?\d+(\.\d+)?([eE][+-]?\d+)? at `at`, within MAX_NUMBER_LENGTH characters; its end, or -1. */
  private numberEnd(): number {
    const text = this.text;
    const limit = Math.min(text.length, this.at + MAX_NUMBER_LENGTH);
    let i = this.at;
    if (i < limit && text.charCodeAt(i) === 45) i++;
    if (!isDigitAt(text, i, limit)) return -1;
    while (isDigitAt(text, i, limit)) i++;
    if (i < limit && text.charCodeAt(i) === 46 && isDigitAt(text, i + 1, limit)) {
      i++;
      while (isDigitAt(text, i, limit)) i++;
    }
    if (i < limit && (text.charCodeAt(i) === 101 || text.charCodeAt(i) === 69)) {
      let j = i + 1;
      if (j < limit && (text.charCodeAt(j) === 43 || text.charCodeAt(j) === 45)) j++;
      if (isDigitAt(text, j, limit)) {
        while (isDigitAt(text, j, limit)) j++;
        i = j;
      }
    }
    return i;
  }

  value(): PyJsonValue {
    this.space();
    const text = this.text;
    const c = text[this.at];
    switch (c) {
      case "{": {
        this.at++;
        const out: Record<string, PyJsonValue> = {};
        this.space();
        if (text[this.at] === "}") {
          this.at++;
          return out;
        }
        for (;;) {
          this.space();
          if (text[this.at] !== '"') this.fail("expected a key");
          const key = this.string();
          this.space();
          if (text[this.at] !== ":") this.fail("expected ':'");
          this.at++;
          out[key] = this.value();
          this.space();
          if (text[this.at] === ",") {
            this.at++;
            continue;
          }
          if (text[this.at] === "}") {
            this.at++;
            return out;
          }
          this.fail("expected ',' or '}'");
        }
      }
      case "[": {
        this.at++;
        const out: PyJsonValue[] = [];
        this.space();
        if (text[this.at] === "]") {
          this.at++;
          return out;
        }
        for (;;) {
          out.push(this.value());
          this.space();
          if (text[this.at] === ",") {
            this.at++;
            continue;
          }
          if (text[this.at] === "]") {
            this.at++;
            return out;
          }
          this.fail("expected ',' or ']'");
        }
      }
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      case "N":
        return this.literal("NaN", new PyFloat(NaN));
      case "I":
        return this.literal("Infinity", new PyFloat(Infinity));
      default: {
        if (text.startsWith("-Infinity", this.at)) return this.literal("-Infinity", new PyFloat(-Infinity));
        const end = this.numberEnd();
        if (end < 0) return this.fail("unexpected character");
        const number = text.slice(this.at, end);
        this.at = end;
        const n = Number(number);
        if (number.includes(".") || number.includes("e") || number.includes("E")) return new PyFloat(n);
        return Number.isSafeInteger(n) ? n : BigInt(number);
      }
    }
  }
}

function isDigitAt(text: string, i: number, limit: number): boolean {
  if (i >= limit) return false;
  const c = text.charCodeAt(i);
  return c >= 48 && c <= 57;
}

function findStringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92) i++; // backslash: skip the escaped character
    else if (c === 34) return i;
  }
  return -1;
}

/**
 * A value's canonical text, for comparing metadata values (1 and 1.0 differ, NaN equals NaN). A
 * non-finite float and its strict spelling ("NaN", "Infinity", "-Infinity": what we write, where
 * kerchunk and older outputs of ours wrote bare literals) compare equal.
 */
export function pyJsonKey(value: PyJsonValue | undefined): string {
  if (value === undefined) return "(absent)";
  if (value instanceof PyFloat) return Number.isFinite(value.value) ? `f${value.value}` : pyJson(value);
  if (typeof value === "bigint") return value.toString();
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyJsonKey).join(",")}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}:${pyJsonKey(v)}`)
    .join(",")}}`;
}

/**
 * Metadata JSON text as we write it: strict JSON. Text with bare NaN/Infinity literals (written by
 * kerchunk's MultiZarrToZarr, zarr-python's attributes, or our own outputs before issue 9) is
 * parsed and written again with their string spellings; any other text is returned as it is.
 */
export function strictJsonText(text: string): string {
  if (!/NaN|Infinity/.test(text)) return text;
  try {
    JSON.parse(text);
    return text; // the words occur only inside strings
  } catch {
    return pyJson(parsePyJson(text));
  }
}
