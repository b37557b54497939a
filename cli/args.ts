/**
 * Command-line flags, declared with the same setting rules as the dataset specs
 * (lib/settings/schema.ts): every command states its flags once, gets typed values back (numbers
 * checked, defaults filled), and a flag it does not know is an error naming the nearest one
 * (`--max-dayz: unknown flag; did you mean --max-days?`).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError } from "../lib/errors.js";
import { Optional, flag, optional, type Entry, type OutputOf, type Setting, type Shape } from "../lib/settings/schema.js";
import { didYouMean } from "../lib/settings/suggest.js";

const settingOf = (entry: Entry): Setting<unknown, unknown> => (entry instanceof Optional ? entry.setting : entry);

/** An on/off flag, off unless given. */
export const onOff = (): Optional<boolean, boolean> => optional(flag(), false);

export interface CommandLineOptions<S extends Shape> {
  /** One-letter aliases: `{ o: "output" }` makes `-o` mean `--output`. `-h` is always `--help`. */
  short?: Partial<Record<string, keyof S & string>>;
  /** Whether the command takes positional arguments (file names); otherwise one is an error. */
  positionals?: boolean;
}

export type CommandLine<S extends Shape> =
  | { help: true }
  | { help: false; values: OutputOf<S>; positionals: string[] };

/**
 * Parse `args` for `command` (named in messages). With `--help`/`-h` nothing else is checked, so
 * the caller can print its help even when required flags are missing.
 */
export function parseCommandLine<S extends Shape>(command: string, args: string[], flags: S, options: CommandLineOptions<S> = {}): CommandLine<S> {
  const shorts = new Map<string, string>(Object.entries({ ...options.short, h: "help" }).filter((e): e is [string, string] => e[1] !== undefined));
  const nodeOptions: NonNullable<ParseArgsConfig["options"]> = { help: { type: "boolean" } };
  for (const [name, entry] of Object.entries(flags)) {
    const setting = settingOf(entry);
    nodeOptions[name] = { type: setting.takesValue ? "string" : "boolean", ...(setting.repeatable ? { multiple: true } : {}) };
  }
  for (const [letter, name] of shorts) nodeOptions[name]!.short = letter;

  // First pass, lenient: find flags nobody declared, to name the nearest known one.
  const known = Object.keys(nodeOptions);
  const { tokens } = parseArgs({ args, options: nodeOptions, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === "option" && !(token.name in nodeOptions)) {
      const typed = token.rawName;
      const suggestion = typed.startsWith("--") ? didYouMean(token.name, known, (name) => `--${name}`) : "";
      throw new ConfigError(typed, `unknown flag${suggestion || ` (see 'temporal-kerchunk ${command} --help')`}`);
    }
  }
  if (tokens.some((t) => t.kind === "option" && t.name === "help")) return { help: true };

  // Second pass, strict: a missing value, a value given to an on/off flag, a stray positional.
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: nodeOptions, strict: true, allowPositionals: options.positionals ?? false });
  } catch (error) {
    throw new ConfigError(`temporal-kerchunk ${command}`, `${(error as Error).message.split(". ")[0]} (see 'temporal-kerchunk ${command} --help')`);
  }

  const values: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(flags)) {
    const raw = parsed.values[name];
    const path = `--${name}`;
    // Text goes through fromText (numbers parse, lists split); on/off and repeated values are already typed.
    const value = typeof raw === "string" ? entry.fromText(raw, path) : entry.check(raw, path);
    if (value !== undefined) values[name] = value;
  }
  return { help: false, values: values as OutputOf<S>, positionals: parsed.positionals };
}
