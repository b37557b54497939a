import { PyFloat, pyJson, type PyJsonValue } from "./pyJson.js";

/**
 * Parse metadata JSON the way Python reads it back, so that `pyJson` writes it out unchanged:
 * numbers written with a decimal point or exponent stay floats (`PyFloat`, so `1.0` is not turned
 * into the int `1`, which xarray would decode differently), integers beyond 2^53 stay exact
 * (bigint), and the NaN/Infinity literals zarr-python writes are accepted.
 */
export function parsePyJson(text: string): PyJsonValue {
  let at = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`metadata JSON: ${what} at character ${at}: ${text.slice(Math.max(0, at - 20), at + 20)}`);
  };
  const space = (): void => {
    while (at < text.length && " \t\n\r".includes(text[at]!)) at++;
  };
  const literal = (word: string, value: PyJsonValue): PyJsonValue => {
    if (!text.startsWith(word, at)) fail(`expected ${word}`);
    at += word.length;
    return value;
  };
  const string = (): string => {
    const end = findStringEnd(text, at);
    if (end < 0) fail("unterminated string");
    const value = JSON.parse(text.slice(at, end + 1)) as string;
    at = end + 1;
    return value;
  };
  const value = (): PyJsonValue => {
    space();
    const c = text[at];
    switch (c) {
      case "{": {
        at++;
        const out: Record<string, PyJsonValue> = {};
        space();
        if (text[at] === "}") {
          at++;
          return out;
        }
        for (;;) {
          space();
          if (text[at] !== '"') fail("expected a key");
          const key = string();
          space();
          if (text[at] !== ":") fail("expected ':'");
          at++;
          out[key] = value();
          space();
          if (text[at] === ",") {
            at++;
            continue;
          }
          if (text[at] === "}") {
            at++;
            return out;
          }
          fail("expected ',' or '}'");
        }
      }
      case "[": {
        at++;
        const out: PyJsonValue[] = [];
        space();
        if (text[at] === "]") {
          at++;
          return out;
        }
        for (;;) {
          out.push(value());
          space();
          if (text[at] === ",") {
            at++;
            continue;
          }
          if (text[at] === "]") {
            at++;
            return out;
          }
          fail("expected ',' or ']'");
        }
      }
      case '"':
        return string();
      case "t":
        return literal("true", true);
      case "f":
        return literal("false", false);
      case "n":
        return literal("null", null);
      case "N":
        return literal("NaN", new PyFloat(NaN));
      case "I":
        return literal("Infinity", new PyFloat(Infinity));
      default: {
        if (text.startsWith("-Infinity", at)) return literal("-Infinity", new PyFloat(-Infinity));
        const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at, at + 400));
        if (!match) return fail("unexpected character");
        at += match[0].length;
        if (match[1] !== undefined || match[2] !== undefined) return new PyFloat(Number(match[0]));
        const n = Number(match[0]);
        return Number.isSafeInteger(n) ? n : BigInt(match[0]);
      }
    }
  };
  const result = value();
  space();
  if (at !== text.length) fail("trailing characters");
  return result;
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
