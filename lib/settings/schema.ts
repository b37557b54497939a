/**
 * Settings described once: what keys exist at every level, what each value must look like and
 * its default. The dataset specs (lib/datasets/spec.ts) and the command-line flags (cli/args.ts)
 * are both declared with these rules, so a key or flag nobody declared is rejected at once, with
 * its path and the nearest known name, and the TypeScript types follow from the declaration:
 * adding a setting is one line.
 */
import { ConfigError } from "../errors.js";
import { didYouMean } from "./suggest.js";

/** `a.b` for a key under `a`; a key alone at the top. */
export const settingPath = (parent: string, key: string): string => (parent ? `${parent}.${key}` : key);

/** A value as a message may quote it (short; never an object's contents). */
function shown(value: unknown): string {
  if (typeof value === "string") return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value);
}

/** "a, b or c" */
const alternatives = (names: readonly string[]): string =>
  names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;

/** `<path>: unknown setting; did you mean <nearest>?`, or the known names when none is near. */
export function unknownSetting(path: string, key: string, known: readonly string[]): ConfigError {
  const suggestion = didYouMean(key, known);
  return new ConfigError(settingPath(path, key), `unknown setting${suggestion || ` (known here: ${known.join(", ")})`}`);
}

/**
 * One setting's rule. `In` is what a user may write, `Out` what the code receives (defaults
 * filled in). `check` takes a JSON value (config file, plugin options); `fromText` a command-line
 * value, which is always text.
 */
export abstract class Setting<In, Out = In> {
  declare readonly inputType: In;
  declare readonly outputType: Out;
  /** What a valid value looks like ("a whole number >= 1"), for messages. */
  abstract readonly expected: string;
  /** False for on/off flags, which take no value on the command line. */
  readonly takesValue: boolean = true;
  /** True when a command-line flag may be given several times (each occurrence one item). */
  readonly repeatable: boolean = false;

  constructor(private readonly missingMessage: string = "missing") {}

  /** A present value (not undefined) to the typed value; throws a ConfigError naming `path`. */
  protected abstract checkPresent(value: unknown, path: string): Out;

  check(value: unknown, path: string): Out {
    if (value === undefined) throw new ConfigError(path, this.missingMessage);
    return this.checkPresent(value, path);
  }

  fromText(text: string, path: string): Out {
    return this.check(text, path);
  }

  protected wrong(value: unknown, path: string): ConfigError {
    return new ConfigError(path, `expected ${this.expected}, got ${shown(value)}`);
  }
}

/** A setting that may be left out: `undefined` then, or its default (checked like a given value). */
export class Optional<In, Out> {
  declare readonly inputType: In | undefined;
  declare readonly outputType: Out;
  constructor(
    readonly setting: Setting<In, unknown>,
    readonly fallback: In | undefined,
  ) {}

  check(value: unknown, path: string): Out {
    const given = value === undefined ? this.fallback : value;
    return (given === undefined ? undefined : this.setting.check(given, path)) as Out;
  }

  fromText(text: string | undefined, path: string): Out {
    return (text === undefined ? this.check(undefined, path) : this.setting.fromText(text, path)) as Out;
  }
}

export function optional<In, Out>(setting: Setting<In, Out>): Optional<In, Out | undefined>;
export function optional<In, Out>(setting: Setting<In, Out>, fallback: In): Optional<In, Out>;
export function optional<In, Out>(setting: Setting<In, Out>, fallback?: In): Optional<In, Out | undefined> {
  return new Optional(setting, fallback);
}

// ---- values ----

class Rule<T> extends Setting<T> {
  constructor(
    readonly expected: string,
    private readonly accept: (value: unknown, path: string) => T,
    missing?: string,
    private readonly parse?: (text: string, path: string) => T,
    override readonly takesValue: boolean = true,
  ) {
    super(missing);
  }
  protected checkPresent(value: unknown, path: string): T {
    return this.accept(value, path);
  }
  override fromText(text: string, path: string): T {
    return this.parse ? this.parse(text, path) : this.check(text, path);
  }
}

/** Text; `pattern` (with `expected` saying it in words) restricts it. */
export function text(options: { pattern?: RegExp; expected?: string; nonEmpty?: boolean; missing?: string } = {}): Setting<string> {
  const expected = options.expected ?? (options.nonEmpty ? "non-empty text" : "text");
  const rule: Rule<string> = new Rule(
    expected,
    (value, path) => {
      if (typeof value !== "string" || (options.nonEmpty && value === "") || (options.pattern && !options.pattern.test(value))) {
        throw new ConfigError(path, `expected ${expected}, got ${shown(value)}`);
      }
      return value;
    },
    options.missing,
  );
  return rule;
}

/**
 * A path inside a storage (a key prefix, the archive's root, a path template): '/'-separated, no
 * segment '.' or '..', so every key made from it stays under the storage's root and names the same
 * object in a local folder as in a bucket. "" is the root.
 */
export function relativePath(options: { nonEmpty?: boolean; missing?: string } = {}): Setting<string> {
  return text({
    ...options,
    pattern: /^(?!(.*\/)?\.{1,2}(\/.*)?$)/s,
    expected: `a path inside the storage ('/' between folders, no '.' or '..' folder${options.nonEmpty ? ", not empty" : ""})`,
  });
}

/** Text that becomes part of a file name (a suffix, an extension): no '/'. */
export function fileNamePart(options: { missing?: string } = {}): Setting<string> {
  return text({ ...options, pattern: /^[^/]*$/, expected: "part of a file name (no '/')" });
}

/**
 * An http:// or https:// URL (an S3-compatible endpoint). No user or password in it: credentials
 * stay in the environment, and the message does not repeat them.
 */
export function url(): Setting<string> {
  const expected = "an http:// or https:// URL, e.g. http://127.0.0.1:9000";
  return new Rule(expected, (value, path) => {
    const parsed = typeof value === "string" && URL.canParse(value) ? new URL(value) : undefined;
    if (parsed && (parsed.username || parsed.password)) {
      throw new ConfigError(path, "credentials do not belong in a URL setting: use the worker's AWS environment or profile");
    }
    if (!parsed || !["http:", "https:"].includes(parsed.protocol) || !parsed.hostname) {
      throw new ConfigError(path, `expected ${expected}, got ${shown(value)}`);
    }
    return value as string;
  });
}

/** A whole number within [min, max]; on the command line, digits only. */
export function whole(options: { min?: number; max?: number; missing?: string } = {}): Setting<number> {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = options;
  const expected = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
  const accept = (value: unknown, path: string): number => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(path, `expected ${expected}, got ${shown(value)}`);
    }
    return value;
  };
  return new Rule(expected, accept, options.missing, (text, path) =>
    /^\d{1,15}$/.test(text.trim()) ? accept(Number(text.trim()), path) : accept(text, path),
  );
}

/** true or false; on the command line a flag that takes no value. */
export function flag(): Setting<boolean> {
  return new Rule(
    "true or false",
    (value, path) => {
      if (typeof value !== "boolean") throw new ConfigError(path, `expected true or false, got ${shown(value)}`);
      return value;
    },
    undefined,
    undefined,
    false,
  );
}

/** One of a few fixed words. */
export function oneOf<const T extends string>(values: readonly T[]): Setting<T> {
  const expected = alternatives(values);
  return new Rule(expected, (value, path) => {
    if (typeof value !== "string" || !(values as readonly string[]).includes(value)) {
      throw new ConfigError(path, `expected ${expected}, got ${shown(value)}`);
    }
    return value as T;
  });
}

class ListSetting<In, Out> extends Setting<In[], Out[]> {
  readonly expected: string;
  constructor(
    private readonly item: Setting<In, Out>,
    private readonly minItems: number,
  ) {
    super();
    this.expected = `a list of ${item.expected}${minItems > 0 ? ` (at least ${minItems})` : ""}`;
  }
  protected checkPresent(value: unknown, path: string): Out[] {
    if (!Array.isArray(value)) throw this.wrong(value, path);
    if (value.length < this.minItems) throw new ConfigError(path, `needs at least ${this.minItems} item${this.minItems === 1 ? "" : "s"}`);
    return value.map((item, index) => this.item.check(item, `${path}[${index}]`));
  }
  /** `a,b,c` on the command line. */
  override fromText(text: string, path: string): Out[] {
    const items = text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    if (items.length < this.minItems) throw new ConfigError(path, `needs at least ${this.minItems} item${this.minItems === 1 ? "" : "s"}`);
    return items.map((item, index) => this.item.fromText(item, `${path}[${index}]`));
  }
}

/** A list; comma-separated on the command line. */
export function list<In, Out>(item: Setting<In, Out>, options: { minItems?: number } = {}): Setting<In[], Out[]> {
  return new ListSetting(item, options.minItems ?? 0);
}

class RepeatedSetting<In, Out> extends Setting<In[], Out[]> {
  override readonly repeatable = true;
  readonly expected: string;
  constructor(private readonly item: Setting<In, Out>) {
    super();
    this.expected = item.expected;
  }
  protected checkPresent(value: unknown, path: string): Out[] {
    if (!Array.isArray(value)) throw this.wrong(value, path);
    return value.map((item) => this.item.fromText(String(item), path));
  }
}

/** A command-line flag given once per item (`--coo-map a=b --coo-map c=d`). */
export function repeated<In, Out>(item: Setting<In, Out>): Setting<In[], Out[]> {
  return new RepeatedSetting(item);
}

class MapSetting<In, Out> extends Setting<Record<string, In>, Record<string, Out>> {
  readonly expected: string;
  constructor(private readonly value: Setting<In, Out>) {
    super();
    this.expected = `an object of ${value.expected}`;
  }
  protected checkPresent(value: unknown, path: string): Record<string, Out> {
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw this.wrong(value, path);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.value.check(item, settingPath(path, key))]));
  }
}

/** An object whose keys are free (names chosen by the user), each value checked by `value`. */
export function mapOf<In, Out>(value: Setting<In, Out>): Setting<Record<string, In>, Record<string, Out>> {
  return new MapSetting(value);
}

// ---- objects ----

export type Entry = Setting<unknown, unknown> | Optional<unknown, unknown>;
export type Shape = Record<string, Entry>;

type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends Optional<unknown, unknown> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
type Flat<T> = { [K in keyof T]: T[K] } & {};

/** What a user may write for an object of this shape: optional settings may be left out. */
export type InputOf<S extends Shape> = Flat<
  { [K in RequiredKeys<S>]: S[K]["inputType"] } & { [K in OptionalKeys<S>]?: S[K]["inputType"] }
>;
/** What the code receives: settings with a default are always there. */
export type OutputOf<S extends Shape> = Flat<
  { [K in keyof S as undefined extends S[K]["outputType"] ? never : K]: S[K]["outputType"] } & {
    [K in keyof S as undefined extends S[K]["outputType"] ? K : never]?: S[K]["outputType"];
  }
>;

/** Keys that must never appear, with the reason (e.g. credentials in a dataset spec). */
export interface Forbidden {
  keys: readonly string[];
  message: string;
}

function checkEntries<S extends Shape>(shape: S, value: Record<string, unknown>, path: string, forbidden?: Forbidden, extraKnown: readonly string[] = []): OutputOf<S> {
  for (const key of forbidden?.keys ?? []) {
    if (key in value) throw new ConfigError(settingPath(path, key), forbidden!.message);
  }
  const known = [...extraKnown, ...Object.keys(shape)];
  for (const key of Object.keys(value)) {
    if (!(key in shape) && !extraKnown.includes(key)) throw unknownSetting(path, key, known);
  }
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(shape)) {
    const checked = entry.check(value[key], settingPath(path, key));
    if (checked !== undefined) out[key] = checked;
  }
  return out as OutputOf<S>;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

export class ObjectSetting<S extends Shape> extends Setting<InputOf<S>, OutputOf<S>> {
  readonly expected: string;
  constructor(
    readonly shape: S,
    private readonly options: { missing?: string; forbidden?: Forbidden } = {},
  ) {
    super(options.missing);
    this.expected = `an object with ${alternatives(Object.keys(shape)).replace(/ or /, " and ")}`;
  }
  protected checkPresent(value: unknown, path: string): OutputOf<S> {
    if (!isPlainObject(value)) throw this.wrong(value, path);
    return checkEntries(this.shape, value, path, this.options.forbidden);
  }
}

/** An object with exactly these settings: any other key is rejected, with the nearest known name. */
export function object<S extends Shape>(shape: S, options: { missing?: string; forbidden?: Forbidden } = {}): ObjectSetting<S> {
  return new ObjectSetting(shape, options);
}

type Variants = Record<string, ObjectSetting<Shape>>;
type TaggedIn<Tag extends string, V extends Variants> = { [K in keyof V & string]: Flat<{ [P in Tag]: K } & V[K]["inputType"]> }[keyof V & string];
type TaggedOut<Tag extends string, V extends Variants> = { [K in keyof V & string]: Flat<{ [P in Tag]: K } & V[K]["outputType"]> }[keyof V & string];

class TaggedSetting<Tag extends string, V extends Variants> extends Setting<TaggedIn<Tag, V>, TaggedOut<Tag, V>> {
  readonly expected: string;
  constructor(
    private readonly tag: Tag,
    private readonly variants: V,
    private readonly options: { missing?: string; forbidden?: Forbidden },
  ) {
    super(options.missing);
    this.expected = `an object with ${tag} ${alternatives(Object.keys(variants).map((k) => `'${k}'`))}`;
  }
  protected checkPresent(value: unknown, path: string): TaggedOut<Tag, V> {
    if (!isPlainObject(value)) throw this.wrong(value, path);
    const kind = value[this.tag];
    const variant = typeof kind === "string" && Object.hasOwn(this.variants, kind) ? this.variants[kind] : undefined;
    if (!variant) {
      throw new ConfigError(settingPath(path, this.tag), `expected ${alternatives(Object.keys(this.variants).map((k) => `'${k}'`))}, got ${shown(kind)}`);
    }
    return { [this.tag]: kind, ...checkEntries(variant.shape, value, path, this.options.forbidden, [this.tag]) } as TaggedOut<Tag, V>;
  }
}

/** One of several object shapes, chosen by the value of `tag` (`{kind: "s3", ...}` or `{kind: "local", ...}`). */
export function tagged<Tag extends string, V extends Variants>(
  tag: Tag,
  variants: V,
  options: { missing?: string; forbidden?: Forbidden } = {},
): Setting<TaggedIn<Tag, V>, TaggedOut<Tag, V>> {
  return new TaggedSetting(tag, variants, options);
}

/** Any object, checked later by its own rules (e.g. each dataset in a config file, named by its name). */
export function plainObject(): Setting<Record<string, unknown>> {
  return new Rule("an object", (value, path) => {
    if (!isPlainObject(value)) throw new ConfigError(path, `expected an object, got ${shown(value)}`);
    return value;
  });
}
