import { DateTime } from "luxon";
import { ConfigError } from "../errors.js";

/** Tokens a path template may use; each expands to digits of the period's date (UTC). */
const tokenFormats: Record<string, string> = {
  year: "yyyy",
  month: "MM",
  day: "dd",
  hour: "HH",
  doy: "ooo",
};

const TOKEN = /\{([^{}]*)\}/g;

/** Reject unknown tokens and unbalanced braces, naming the setting. */
export function validateTemplate(template: string, setting: string): void {
  for (const match of template.matchAll(TOKEN)) {
    const name = match[1]!;
    if (!(name in tokenFormats)) {
      throw new ConfigError(setting, `unknown token {${name}} in '${template}' (known: ${Object.keys(tokenFormats).map((t) => `{${t}}`).join(", ")})`);
    }
  }
  const stripped = template.replace(TOKEN, "");
  if (/[{}]/.test(stripped)) throw new ConfigError(setting, `unbalanced { } in '${template}'`);
}

/**
 * Expand the date tokens of `template` for one day. `{hour}` is left as a two-digit wildcard:
 * a day's files span all hours.
 */
export function expandForDay(template: string, day: DateTime): string {
  return template.replace(TOKEN, (_, name: string) => (name === "hour" ? "[0-2][0-9]" : day.toFormat(tokenFormats[name]!)));
}

/**
 * A glob (`*`, `?`, `[...]` within one path segment; no `**`) as a literal listing prefix plus a
 * regular expression for whole keys. Listing by the prefix and filtering by the expression is how
 * a day's files are found in an S3 bucket or a folder.
 */
export function compileGlob(glob: string): { prefix: string; pattern: RegExp } {
  const firstWild = glob.search(/[*?[]/);
  const prefix = firstWild < 0 ? glob : glob.slice(0, firstWild);
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "[") {
      const close = glob.indexOf("]", i);
      if (close < 0) throw new ConfigError("template", `unclosed [ in '${glob}'`);
      source += `[${glob.slice(i + 1, close).replace(/\\/g, "\\\\")}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return { prefix, pattern: new RegExp(`^${source}$`) };
}
