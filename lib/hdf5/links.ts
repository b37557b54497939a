import { Hdf5FormatError } from "../errors.js";
import type { Hdf5Context } from "./context.js";
import { ByteCursor } from "./cursor.js";
import { denseStorage } from "./denseStorage.js";
import { all, done, later, type Parse } from "./parse.js";
import { FractalHeap } from "./fractalHeap.js";
import { parseLinkInfo } from "./messages/linkInfo.js";
import { parseLinkMessage } from "./messages/link.js";
import { parseSymbolTableMessage } from "./messages/symbolTable.js";
import type { Hdf5Link } from "./model.js";
import { bodyCursor, findMessage, MessageType, type ObjectHeader } from "./objectHeader.js";
import { symbolTableLinks } from "./symbolTable.js";

/** Default "Group Leaf Node K" (symbol table nodes hold up to 2K entries) when no superblock says. */
const DEFAULT_GROUP_LEAF_NODE_K = 4;

/** True when the header describes a group: old style (symbol table) or new style (link info/messages). */
export function isGroupHeader(header: ObjectHeader): boolean {
  return header.messages.some(
    (m) =>
      m.type === MessageType.SYMBOL_TABLE ||
      m.type === MessageType.LINK_INFO ||
      m.type === MessageType.LINK ||
      m.type === MessageType.GROUP_INFO,
  );
}

/**
 * HDF5 orders names with strcmp: byte order of their UTF-8 encodings, which is code point order.
 * Compared in UTF-16 units without encoding (a sort compares each name many times): units order
 * code points too, except that a surrogate (half of a code point above U+FFFF) is below the units
 * U+E000..U+FFFF, so where both units are from U+D800 up they are moved into code point order.
 * (Names are decoded from UTF-8, so they hold no lone surrogates.)
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    return x >= 0xd800 && y >= 0xd800 ? inCodePointOrder(x) - inCodePointOrder(y) : x - y;
  }
  return a.length - b.length;
}

/** U+E000..U+FFFF below the surrogates, which come after them. */
const inCodePointOrder = (unit: number): number => (unit >= 0xe000 ? unit - 0x800 : unit + 0x2000);

/**
 * All links of a group, in name order (as h5py iterates them). Old-style groups (symbol table
 * message, format spec IV.A.2.r) read their B-tree and local heap; new-style groups combine
 * compact link messages (IV.A.2.g) with dense links stored in a fractal heap and indexed by the
 * name v2 B-tree (record type 5: name hash, 7-byte heap id), per the link info message (IV.A.2.c).
 * A parse (`parse.ts`): at once for compact links, and for dense ones and symbol tables when held.
 */
export function* groupLinks(ctx: Hdf5Context, header: ObjectHeader, groupLeafNodeK?: number): Parse<Hdf5Link[]> {
  const symbolTable = findMessage(header, MessageType.SYMBOL_TABLE);
  let links: Hdf5Link[] = [];
  if (symbolTable) {
    const { btreeAddress, localHeapAddress } = parseSymbolTableMessage(ctx, bodyCursor(symbolTable));
    links = yield* symbolTableLinks(ctx, btreeAddress, localHeapAddress, groupLeafNodeK ?? DEFAULT_GROUP_LEAF_NODE_K);
  } else {
    for (const m of header.messages) {
      if (m.type === MessageType.LINK) links.push(parseLinkMessage(ctx, bodyCursor(m)).link);
    }
    const linkInfo = findMessage(header, MessageType.LINK_INFO);
    if (linkInfo) {
      const info = parseLinkInfo(ctx, bodyCursor(linkInfo));
      if (info.fractalHeapAddress !== undefined) {
        if (info.nameIndexAddress === undefined) {
          throw new Hdf5FormatError(ctx.url, "link info message", "dense links without a name index", header.address);
        }
        links.push(...(yield* denseLinks(ctx, info.fractalHeapAddress, info.nameIndexAddress)));
      }
    }
  }
  links.sort((a, b) => compareNames(a.name, b.name));
  for (let i = 1; i < links.length; i++) {
    if (links[i]!.name === links[i - 1]!.name) {
      throw new Hdf5FormatError(ctx.url, "group", `duplicate link name ${JSON.stringify(links[i]!.name)}`, header.address);
    }
  }
  return links;
}

/**
 * True when the group's links can likely be read from bytes the source holds already: compact
 * link messages; a symbol table whose B-tree and local heap were fetched; dense links whose heap
 * header, heap root block and name index header were. (Deeper nodes are not looked at: this only
 * tells whether the walk's next step will wait for a read.) A damaged header counts as held: the
 * walk reports it.
 */
export function linksHeld(ctx: Hdf5Context, header: ObjectHeader): boolean {
  try {
    const held = (address: number | undefined): boolean => address === undefined || ctx.peek(address, 1) !== undefined;
    const symbolTable = findMessage(header, MessageType.SYMBOL_TABLE);
    if (symbolTable) {
      const { btreeAddress, localHeapAddress } = parseSymbolTableMessage(ctx, bodyCursor(symbolTable));
      return held(btreeAddress) && held(localHeapAddress);
    }
    const linkInfo = findMessage(header, MessageType.LINK_INFO);
    if (!linkInfo) return true;
    const { fractalHeapAddress, nameIndexAddress } = parseLinkInfo(ctx, bodyCursor(linkInfo));
    if (fractalHeapAddress === undefined) return true;
    const heap = FractalHeap.openNow(ctx, fractalHeapAddress);
    return heap !== undefined && heap.rootHeld() && held(nameIndexAddress);
  } catch {
    return true;
  }
}

function* denseLinks(ctx: Hdf5Context, heapAddress: number, nameIndexAddress: number): Parse<Hdf5Link[]> {
  const { heap, records } = yield* denseStorage(ctx, heapAddress, nameIndexAddress, { btreeType: 5, name: "dense link name index" });
  const linkOf = (object: Uint8Array): Hdf5Link => parseLinkMessage(ctx, new ByteCursor(object, heapAddress, ctx.url, "dense link message")).link;
  // Each link at once when its heap block is held; the others wait, side by side.
  const found: Parse<Hdf5Link>[] = [];
  for (const record of records) {
    if (record.length < 5) throw new Hdf5FormatError(ctx.url, "dense link name index", "record too short", nameIndexAddress);
    const id = record.subarray(4); // skip the 4-byte name hash
    const now = heap.objectNow(id);
    found.push(now !== undefined ? done(linkOf(now)) : later(() => heap.object(id).then(linkOf)));
  }
  return yield* all(found);
}
