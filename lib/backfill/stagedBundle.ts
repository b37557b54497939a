/**
 * A staged bundle: the staged JSON (lib/backfill/staged.ts) of several files of a day, in one
 * object (the keys: lib/backfill/names.ts, "Staged bundles"). A header line, then the members'
 * texts one after the other:
 *
 *   {"tkStagedBundle":1,"members":[["<name>",<UTF-8 bytes>],...]}\n<text><text>...
 *
 * Each member is the text a file's own staged object would hold, byte for byte, so a member reads
 * as a staged file does (`readStaged`), and nothing is escaped or parsed twice. A bundle cut short
 * or damaged fails with a CombineError naming it, never yields a partial member.
 */
import { CombineError } from "../errors.js";
import type { Storage } from "../storage/storage.js";
import { isStagingBundle, stagedObjectOf } from "./names.js";

const VERSION = 1;
const NEWLINE = 0x0a;

/** One file's staged JSON in a bundle, under its name there (its stagingKey's last segment). */
export interface BundleMember {
  name: string;
  text: string;
}

/** A bundle's bytes. */
export function serializeStagedBundle(members: readonly BundleMember[]): Uint8Array {
  const encoder = new TextEncoder();
  const bodies: Uint8Array[] = [];
  const index: [string, number][] = [];
  for (const member of members) {
    const body = encoder.encode(member.text);
    bodies.push(body);
    index.push([member.name, body.length]);
  }
  const header = encoder.encode(`${JSON.stringify({ tkStagedBundle: VERSION, members: index })}\n`);
  let size = header.length;
  for (const body of bodies) size += body.length;
  const bytes = new Uint8Array(size);
  bytes.set(header, 0);
  let at = header.length;
  for (const body of bodies) {
    bytes.set(body, at);
    at += body.length;
  }
  return bytes;
}

/** A bundle's members: name → staged JSON text, in the bundle's order. `label` names it in errors. */
export function parseStagedBundle(bytes: Uint8Array, label: string): Map<string, string> {
  const damaged = (why: string): CombineError => new CombineError("invalid-input", label, undefined, `damaged staged bundle: ${why}`);
  const end = bytes.indexOf(NEWLINE);
  if (end < 0) throw damaged("no header line");
  const decoder = new TextDecoder();
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(0, end)));
  } catch (error) {
    throw damaged(`header is not JSON (${(error as Error).message})`);
  }
  const { tkStagedBundle: version, members } = (header ?? {}) as { tkStagedBundle?: unknown; members?: unknown };
  if (version !== VERSION) throw damaged(`not a staged bundle of version ${VERSION}`);
  if (!Array.isArray(members)) throw damaged("no member list");
  const texts = new Map<string, string>();
  let at = end + 1;
  for (const member of members as unknown[]) {
    const [name, length] = Array.isArray(member) ? (member as unknown[]) : [];
    if (typeof name !== "string" || typeof length !== "number" || !Number.isInteger(length) || length < 0) throw damaged("a member entry is not [name, length]");
    if (at + length > bytes.length) throw damaged(`cut short in member ${name} (${bytes.length} bytes)`);
    texts.set(name, decoder.decode(bytes.subarray(at, at + length)));
    at += length;
  }
  if (at !== bytes.length) throw damaged(`${bytes.length - at} bytes after its last member`);
  return texts;
}

/**
 * Reads staged files' texts by their staged keys (a file's own object, or a member of a bundle),
 * each object once however many of its members are asked for. One per combine or commit: it keeps
 * what it read.
 */
export class StagedTexts {
  private readonly bundles = new Map<string, Promise<Map<string, string>>>();

  constructor(private readonly storage: Storage) {}

  async read(stagedKey: string): Promise<string> {
    const { object, member } = stagedObjectOf(stagedKey);
    if (member === undefined) return new TextDecoder().decode(await this.storage.read(object));
    let bundle = this.bundles.get(object);
    if (!bundle) {
      bundle = this.storage.read(object).then((bytes) => parseStagedBundle(bytes, this.storage.url(object)));
      this.bundles.set(object, bundle);
    }
    const text = (await bundle).get(member);
    if (text === undefined) throw new CombineError("invalid-input", this.storage.url(object), undefined, `staged bundle holds no ${member}`);
    return text;
  }
}

/** The objects that hold these staged keys, each once. */
function stagedObjects(stagedKeys: readonly string[]): Set<string> {
  const objects = new Set<string>();
  for (const key of stagedKeys) objects.add(stagedObjectOf(key).object);
  return objects;
}

/**
 * Remove a day's staging once its output is written (or found written): the objects its staged
 * keys name and, in each folder where they include a bundle, every other bundle there. Those are
 * left by an attempt whose keys were not used (two attempts of one step that overlapped, each
 * staging its own bundle) and by a bundle that could not be read (its files were staged again):
 * nothing reads a day's staging after its output is written, so nothing else would remove them. One
 * listing a day staged in bundles; none for files staged one by one (an attempt overwrites those).
 */
export async function removeDayStaging(storage: Storage, stagedKeys: readonly string[]): Promise<void> {
  const objects = stagedObjects(stagedKeys);
  const folders = new Set<string>();
  for (const object of objects) if (isStagingBundle(object)) folders.add(object.slice(0, object.lastIndexOf("/") + 1));
  for (const folder of folders) {
    for await (const object of storage.list(folder)) if (isStagingBundle(object.key)) objects.add(object.key);
  }
  await storage.deleteAll([...objects]);
}
