import { Hdf5FormatError, UnsupportedFeatureError } from "../errors.js";
import type { ByteSource } from "../source/byteSource.js";
import { attributes, readAttributes, type AttributeServices, type ObjectAttributes } from "./attributes.js";
import { parseCacheImageMessage, readCacheImage } from "./cacheImage.js";
import { MetadataOverlay } from "./metadataOverlay.js";
import { chunkIndex, chunkIndexInput } from "./chunkIndex/index.js";
import { Hdf5Context } from "./context.js";
import { ByteCursor } from "./cursor.js";
import { GlobalHeapCache } from "./globalHeap.js";
import { heldObjectHeaders, referencedByDimensionScale } from "./headerScan.js";
import { groupLinks, isGroupHeader, linksHeld } from "./links.js";
import { localHeap } from "./localHeap.js";
import { parseDataLayout } from "./messages/dataLayout.js";
import { elementCount, parseDataspace } from "./messages/dataspace.js";
import { parseDatatype } from "./messages/datatype.js";
import { parseExternalFiles } from "./messages/externalFiles.js";
import { parseFillValue, parseOldFillValue } from "./messages/fillValue.js";
import { parseFilterPipeline } from "./messages/filterPipeline.js";
import { parseSharedMessage, type SharedMessageLocation } from "./messages/shared.js";
import type {
  ChunkRef,
  ExternalFileSlot,
  Hdf5Dataset,
  Hdf5Datatype,
  Hdf5FillValue,
  Hdf5Filter,
  Hdf5Group,
  Hdf5Layout,
  Hdf5NamedDatatype,
  Hdf5Object,
  Hdf5UnsupportedObject,
} from "./model.js";
import { bodyCursor, MessageFlag, MessageType, objectHeader, readObjectHeader, type HeaderMessage, type ObjectHeader } from "./objectHeader.js";
import { andThen, both, done, later, map, parseNow, runParse, type Parse } from "./parse.js";
import { parseSharedMessageTableMessage, SharedMessageTable } from "./sharedMessageTable.js";
import { readSuperblock, type Superblock } from "./superblock.js";
import { chunkGrid, product, rowMajorStrides } from "../shape.js";

/** Object headers cached per file before we stop prefetching subtrees during a walk. */
const PREFETCH_LIMIT = 100_000;
/** Deeper group nesting than this is treated as damage (HDF5 paths this deep do not occur). */
const MAX_WALK_DEPTH = 1024;

/**
 * An HDF5 file read through a ByteSource, metadata only. Every structure is read on demand with
 * as few round trips as possible: object headers are cached by address, sibling objects are read
 * concurrently, and global heap collections are read once.
 */
export interface Hdf5OpenOptions {
  /**
   * Read each chunked dataset's chunk index as soon as its layout message is parsed, alongside its
   * attributes, instead of when `chunks()` is first called. For translation, which needs every
   * index: it removes the round trips of attribute storage from the critical path.
   */
  prefetchChunkIndexes?: boolean;
}

export class Hdf5File {
  readonly globalHeap: GlobalHeapCache;
  private readonly headers = new Map<number, Promise<ObjectHeader>>();
  /**
   * Objects parsed ahead of `objects()`, by header address: each header is parsed once, under the
   * first path that reached it, however many links (or link cycles) lead to it.
   */
  private readonly objectsByAddress = new Map<number, Promise<Hdf5Object>>();
  private readonly chunkLists = new Map<number, Promise<ChunkRef[]>>();
  /** `readAheadOfLinks`, once started. */
  private readAhead: Promise<void> | undefined;
  /** What the read-ahead decoded ahead of the walk, by header address: each used once, by the walk. */
  private readonly readAheadAttributes = new Map<number, Promise<ObjectAttributes>>();
  private readonly readAheadChunkLists = new Set<number>();
  private readonly services: AttributeServices;
  /** Objects the last walk parsed without waiting (`objectsNow`), when it did. */
  private objectsWalkedNow = 0;
  /** How the last `objects()` went: without waiting (every structure held), or with reads. */
  lastWalk: "held" | "read" | undefined;

  private constructor(
    readonly context: Hdf5Context,
    readonly superblock: Superblock,
    private readonly options: Hdf5OpenOptions = {},
    /** The file's shared object header message table, when its superblock extension has one. */
    readonly sharedMessages?: SharedMessageTable,
  ) {
    this.globalHeap = new GlobalHeapCache(context);
    this.services = {
      context,
      globalHeap: this.globalHeap,
      sharedBody: (location, type, where) => this.sharedBody(location, type, where),
    };
  }

  /**
   * Read the file size, the superblock and, for version 2/3 superblocks, the superblock extension
   * (format spec II.C): its shared message table message (SOHM, 0x000F) and its metadata cache
   * image message (0x0018), whose entries then take the place of the file's bytes at their addresses.
   * Other extension messages (B-tree K values, driver info, file space info) do not matter to a reader.
   */
  static async open(source: ByteSource, options: Hdf5OpenOptions = {}): Promise<Hdf5File> {
    const size = await source.size();
    const superblock = await readSuperblock(source, size);
    let context = new Hdf5Context(source, size, superblock.sizeOfOffsets, superblock.sizeOfLengths, superblock.baseAddress);
    let sharedMessages: SharedMessageTable | undefined;
    if (superblock.extensionAddress !== undefined) {
      const extension = await readObjectHeader(context, superblock.extensionAddress);
      const image = extension.messages.find((m) => m.type === MessageType.METADATA_CACHE_IMAGE);
      if (image) {
        const { address, length } = parseCacheImageMessage(context, bodyCursor(image));
        context = context.withOverlay(new MetadataOverlay(await readCacheImage(context, address, length)));
      }
      const table = extension.messages.find((m) => m.type === MessageType.SHARED_MESSAGE_TABLE);
      if (table) {
        const { address, indexCount } = parseSharedMessageTableMessage(context, bodyCursor(table));
        sharedMessages = await SharedMessageTable.read(context, address, indexCount);
      }
    }
    return new Hdf5File(context, superblock, options, sharedMessages);
  }

  get url(): string {
    return this.context.url;
  }

  /** Object headers parsed into objects so far (each header once, however many links reach it). */
  get objectsParsed(): number {
    return this.objectsByAddress.size + this.objectsWalkedNow;
  }

  /** The object header at `address`, parsed once per file. */
  header(address: number): Promise<ObjectHeader> {
    let p = this.headers.get(address);
    if (!p) {
      p = readObjectHeader(this.context, address);
      this.headers.set(address, p);
      // Mark as handled: a prefetched header that fails surfaces when (if) it is awaited.
      p.catch(() => undefined);
    }
    return p;
  }

  async root(): Promise<Hdf5Group> {
    const root = await this.object(this.superblock.rootObjectHeaderAddress, "/");
    if (root.kind !== "group") {
      throw new Hdf5FormatError(this.url, "root group", `root object is a ${root.kind}, not a group`, root.address);
    }
    return root;
  }

  /**
   * Parse the object header at `address` into a group, dataset or named datatype. A dataset or
   * named datatype that uses a feature we do not read (UnsupportedFeatureError: a VAX float, ...)
   * becomes an "unsupported" object carrying the reason, so it costs that object only; attributes
   * we cannot decode are left out one by one (`skippedAttributes`).
   */
  async object(address: number, path: string): Promise<Hdf5Object> {
    return runParse(this.objectParse(await this.header(address), path, true));
  }

  /**
   * `object` as a parse (`parse.ts`). `ahead`: start reading what the walk will want next (a
   * group's children, a dataset's chunk index) as soon as it is known; a walk without waiting
   * (`objectsNow`) has it all already.
   */
  private *objectParse(header: ObjectHeader, path: string, ahead: boolean): Parse<Hdf5Object> {
    const address = header.address;
    const attributesParse = this.attributesOf(header);
    const has = (type: number): boolean => header.messages.some((m) => m.type === type);
    const common = ({ attributes, skipped }: ObjectAttributes): { address: number; path: string } & Pick<Hdf5Group, "attributes" | "skippedAttributes"> => ({
      address,
      path,
      attributes,
      skippedAttributes: skipped,
    });
    const prefetchChunks = (dataset: Omit<Hdf5Dataset, "attributes" | "skippedAttributes">): void => {
      if (ahead && this.options.prefetchChunkIndexes) this.prefetchChunks({ ...dataset, attributes: [], skippedAttributes: [] });
    };
    if (isGroupHeader(header) && !has(MessageType.DATA_LAYOUT)) {
      if (ahead) this.startReadAhead(header);
      // Children start loading as soon as the links are known, not after this group's attributes.
      const linksParse = andThen(groupLinks(this.context, header, this.superblock.groupLeafNodeK), (links) => {
        if (ahead) this.prefetchChildren(path, links);
      });
      const [links, attributes] = yield* both(linksParse, attributesParse);
      const group: Hdf5Group = { kind: "group", ...common(attributes), links };
      return group;
    }
    try {
      if (has(MessageType.DATA_LAYOUT)) {
        // The chunk index starts as soon as the layout is known: at once when no message waits.
        const [dataset, attributes] = yield* both(andThen(this.dataset(header, path), prefetchChunks), attributesParse);
        return { ...dataset, ...common(attributes) };
      }
      if (has(MessageType.DATATYPE)) {
        const [datatype, attributes] = yield* both(this.datatypeOf(header, path), attributesParse);
        const named: Hdf5NamedDatatype = { kind: "datatype", ...common(attributes), datatype };
        return named;
      }
    } catch (error) {
      if (!(error instanceof UnsupportedFeatureError)) throw error;
      // Its attributes when they decode (read again: the parse that failed may have held them).
      let attributes: ObjectAttributes = { attributes: [], skipped: [] };
      try {
        attributes = yield* this.attributesOf(header);
      } catch {
        // none, then
      }
      const unsupported: Hdf5UnsupportedObject = { kind: "unsupported", ...common(attributes), reason: error.feature };
      return unsupported;
    }
    yield* attributesParse;
    throw new Hdf5FormatError(this.url, "object header", `object ${path} is neither a group, a dataset nor a datatype`, address);
  }

  /**
   * The attributes of the object at `header`: those the read-ahead decoded, when it did (read
   * again if that failed, so that a failure is the walk's own), else decoded now.
   */
  private attributesOf(header: ObjectHeader): Parse<ObjectAttributes> {
    const ahead = this.readAheadAttributes.get(header.address);
    if (ahead === undefined) return attributes(this.services, header);
    this.readAheadAttributes.delete(header.address);
    return later(() => ahead.catch(() => readAttributes(this.services, header)));
  }

  /**
   * Every object, root first, then depth-first in link-name order. Each object header is visited
   * once (a hard link to an address already seen is skipped, which also makes cycles impossible);
   * soft and external links are not followed. When a group is parsed, all its hard-linked children
   * start loading at once, and those that are groups start their children in turn, so a whole
   * tree costs about one round trip per level rather than one per object. All of them at once (not
   * an async generator, whose every step is a few promises: about a hundred a file).
   */
  async objects(): Promise<Hdf5Object[]> {
    const now = this.objectsNow();
    this.lastWalk = now === undefined ? "read" : "held";
    if (now !== undefined) return now;
    const seen = new Set<number>();
    const rootAddress = this.superblock.rootObjectHeaderAddress;
    const rootPromise = this.prefetchObject(rootAddress, "/");
    seen.add(rootAddress);
    const objects: Hdf5Object[] = [];
    await runParse(
      this.collect(await rootPromise, seen, 0, objects, {
        start: (address, path) => void this.startObject(address, path),
        open: (address, path) => later(() => this.prefetchObject(address, path)),
      }),
    );
    // Awaited (it never rejects) so that no read of this file is still on its way when it is done.
    if (this.readAhead !== undefined) await this.readAhead;
    return objects;
  }

  /**
   * `objects()` without a promise, when every structure of the walk is held (the usual case once
   * a file's first round fetched its metadata, as the layout hints do); undefined as soon as one
   * is not, or on any error: the walk with reads (`objects`) then reads what is missing, and
   * reports errors as it always has.
   */
  private objectsNow(): Hdf5Object[] | undefined {
    try {
      const rootAddress = this.superblock.rootObjectHeaderAddress;
      const root = this.objectNow(rootAddress, "/");
      const objects: Hdf5Object[] = [];
      const open = (address: number, path: string): Parse<Hdf5Object | undefined> => done(this.objectNow(address, path));
      if (root === undefined || parseNow(this.collect(root, new Set([rootAddress]), 0, objects, { open })) !== true) return undefined;
      this.objectsWalkedNow = objects.length;
      return objects;
    } catch {
      return undefined;
    }
  }

  /** The object at `address` when its header and everything it needs are held, else undefined. */
  private objectNow(address: number, path: string): Hdf5Object | undefined {
    const header = parseNow(objectHeader(this.context, address));
    return header === undefined ? undefined : parseNow(this.objectParse(header, path, false));
  }

  /** Start `readAheadOfLinks` for translation at the first group whose links are not at hand (once a file). */
  private startReadAhead(group: ObjectHeader): void {
    if (!this.options.prefetchChunkIndexes || this.readAhead !== undefined || linksHeld(this.context, group)) return;
    this.readAhead = this.readAheadOfLinks().catch(() => undefined);
  }

  /**
   * With a group's links not in the bytes read so far, start reading the datasets the
   * dimension scales in those bytes name (`headerScan.ts`): their headers and chunk indexes come
   * in beside the links' own structures instead of after them (a Himawari-sized granule written
   * one variable after the other: 4 round trips instead of 6). The walk still decides every
   * object: what the read-ahead decoded from a header (its attributes, its chunk list) is what the
   * walk would decode from the same bytes, and is used only if the walk reaches that header, and
   * read again if it failed, so errors name the walk's paths. A wrong guess costs reads, never a
   * result.
   */
  private async readAheadOfLinks(): Promise<void> {
    const started = new Set<number>();
    // Decoded for the walk to take over, unless it got to the header first.
    const attributesAhead = (header: ObjectHeader): Promise<ObjectAttributes> => {
      const attributes = readAttributes(this.services, header);
      attributes.catch(() => undefined);
      if (!this.objectsByAddress.has(header.address)) this.readAheadAttributes.set(header.address, attributes);
      return attributes;
    };
    // A dataset's attribute storage and its chunk index, side by side, as the walk will read them.
    const warmDataset = async (address: number): Promise<void> => {
      const header = await this.header(address);
      if (this.objectsByAddress.has(address)) return; // the walk got there first
      const attributes = attributesAhead(header);
      const dataset = parseNow(this.dataset(header, `(object at ${address})`));
      if (dataset?.layout.kind === "chunked" && !this.chunkLists.has(address)) {
        const list = this.readChunks({ ...dataset, attributes: [], skippedAttributes: [] });
        list.catch(() => undefined);
        this.chunkLists.set(address, list);
        this.readAheadChunkLists.add(address);
        await list;
      }
      await attributes;
    };
    // Each scale's datasets as soon as its own attributes are decoded (the scales found also
    // include datasets whose attributes lie among the data: not to be waited for).
    const fromScale = async (address: number): Promise<void> => {
      const header = await this.header(address);
      if (!header.messages.some((m) => m.type === MessageType.DATA_LAYOUT)) return;
      const named = referencedByDimensionScale((await attributesAhead(header)).attributes);
      const fresh = named.filter((target) => !started.has(target) && target < this.context.fileSize);
      for (const target of fresh) started.add(target);
      await Promise.all(fresh.map((target) => warmDataset(target).catch(() => undefined)));
    };
    const scales = heldObjectHeaders(this.context);
    await Promise.all(scales.map((address) => fromScale(address).catch(() => undefined)));
  }

  /**
   * The object at `address`, parsed once (under the first path that reached it) and started early
   * by prefetching; `path` renames it for the link the walk follows.
   */
  private prefetchObject(address: number, path: string): Promise<Hdf5Object> {
    const p = this.startObject(address, path).then((object) => (object.path === path ? object : { ...object, path }));
    // Mark as handled: a prefetched object that fails surfaces when (if) the walk awaits it.
    p.catch(() => undefined);
    return p;
  }

  private startObject(address: number, path: string): Promise<Hdf5Object> {
    let p = this.objectsByAddress.get(address);
    if (!p) {
      p = this.object(address, path);
      this.objectsByAddress.set(address, p);
      p.catch(() => undefined);
    }
    return p;
  }

  /** Start reading a group's children; an address already started (a cycle, a second link) is not read again. */
  private prefetchChildren(path: string, links: Hdf5Group["links"]): void {
    if (this.objectsByAddress.size >= PREFETCH_LIMIT) return;
    const base = path === "/" ? "" : path;
    for (const link of links) if (link.kind === "hard") void this.startObject(link.address, `${base}/${link.name}`);
  }

  private prefetchChunks(dataset: Hdf5Dataset): void {
    if (dataset.layout.kind !== "chunked" || this.chunkLists.has(dataset.address) || this.chunkLists.size >= PREFETCH_LIMIT) return;
    const p = this.readChunks(dataset);
    p.catch(() => undefined);
    this.chunkLists.set(dataset.address, p);
  }

  /**
   * The objects under `obj`, depth-first in link-name order, each header once (`seen`): `start`,
   * when given, starts every child not yet seen before the first is waited for (whether it is
   * listed is decided in depth-first order); `open` gives a child, or undefined when it is not held
   * (then the walk stops: false).
   */
  private *collect(
    obj: Hdf5Object,
    seen: Set<number>,
    depth: number,
    into: Hdf5Object[],
    children: { start?: (address: number, path: string) => void; open: (address: number, path: string) => Parse<Hdf5Object | undefined> },
  ): Parse<boolean> {
    if (depth > MAX_WALK_DEPTH) {
      throw new Hdf5FormatError(this.url, "group hierarchy", `deeper than ${MAX_WALK_DEPTH} levels`, obj.address);
    }
    into.push(obj);
    if (obj.kind !== "group") return true;
    const base = obj.path === "/" ? "" : obj.path;
    // (Loops rather than array builtins here: docs/benchmarks.md, "Deoptimizations".)
    const links: Extract<Hdf5Group["links"][number], { kind: "hard" }>[] = [];
    for (const link of obj.links) if (link.kind === "hard") links.push(link);
    if (children.start) for (const link of links) if (!seen.has(link.address)) children.start(link.address, `${base}/${link.name}`);
    for (const link of links) {
      if (seen.has(link.address)) continue;
      seen.add(link.address);
      const child = yield* children.open(link.address, `${base}/${link.name}`);
      if (child === undefined) return false;
      // A dataset or datatype ends its branch: listed here, without another call.
      if (child.kind !== "group" && depth < MAX_WALK_DEPTH) into.push(child);
      else if (!(yield* this.collect(child, seen, depth + 1, into, children))) return false;
    }
    return true;
  }

  /** The body of a message, following it to another object header when it is shared. */
  private *messageBody(message: HeaderMessage, where: string): Parse<ByteCursor> {
    if (!(message.flags & MessageFlag.SHARED)) return bodyCursor(message);
    const location = parseSharedMessage(this.context, bodyCursor(message));
    return yield* this.sharedBody(location, message.type, where);
  }

  /** A shared message's body: in another object header (read once per file), or in the SOHM heap. */
  private *sharedBody(location: SharedMessageLocation, type: number, where: string): Parse<ByteCursor> {
    if (location.kind === "sohm") {
      const table = this.sharedMessages;
      if (!table) {
        throw new Hdf5FormatError(this.url, "shared message", `${where} is shared in the SOHM heap, but the file has no shared message table`);
      }
      return yield* later(() => table.messageBody(type, location.heapId, where));
    }
    const target = yield* this.headerParse(location.address);
    const message = target.messages.find((m) => m.type === type);
    if (!message) {
      throw new Hdf5FormatError(this.url, "shared message", `object header has no message of type ${type} for ${where}`, location.address);
    }
    if (message.flags & MessageFlag.SHARED) {
      throw new Hdf5FormatError(this.url, "shared message", `shared message for ${where} points to another shared message`, location.address);
    }
    return bodyCursor(message);
  }

  /** `header` as a parse: the header read (or being read) once per file, else parsed when held. */
  private *headerParse(address: number): Parse<ObjectHeader> {
    const started = this.headers.get(address);
    if (started === undefined) {
      const now = parseNow(objectHeader(this.context, address));
      if (now !== undefined) return now;
    }
    return yield* later(() => this.header(address));
  }

  private required(header: ObjectHeader, type: number, what: string, path: string): HeaderMessage {
    const message = header.messages.find((m) => m.type === type);
    if (!message) throw new Hdf5FormatError(this.url, "object header", `${path} has no ${what} message`, header.address);
    return message;
  }

  private *datatypeOf(header: ObjectHeader, path: string): Parse<Hdf5Datatype> {
    const message = this.required(header, MessageType.DATATYPE, "datatype", path);
    return parseDatatype(yield* this.messageBody(message, path));
  }

  private *dataset(header: ObjectHeader, path: string): Parse<Omit<Hdf5Dataset, "attributes" | "skippedAttributes">> {
    const ctx = this.context;
    const dataspaceMessage = this.required(header, MessageType.DATASPACE, "dataspace", path);
    const [datatype, dataspace] = yield* both(this.datatypeOf(header, path), map(this.messageBody(dataspaceMessage, path), (c) => parseDataspace(ctx, c)));
    let filters: Hdf5Filter[] = [];
    const pipeline = header.messages.find((m) => m.type === MessageType.FILTER_PIPELINE);
    if (pipeline) filters = parseFilterPipeline(yield* this.messageBody(pipeline, path));
    const layoutMessage = this.required(header, MessageType.DATA_LAYOUT, "data layout", path);
    const layout = parseDataLayout(ctx, bodyCursor(layoutMessage), {
      contiguousSize: elementCount(dataspace) * datatype.size,
    });
    const [fillValue, external] = yield* both(this.fillValue(header, layout, path), this.externalFiles(header, path));
    return { kind: "dataset", address: header.address, path, datatype, dataspace, fillValue, filters, layout, external };
  }

  /** The external data files message (0x0007) with every slot's name looked up in its local heap. */
  private *externalFiles(header: ObjectHeader, path: string): Parse<ExternalFileSlot[]> {
    const message = header.messages.find((m) => m.type === MessageType.EXTERNAL_FILES);
    if (!message) return [];
    const { heapAddress, slots } = parseExternalFiles(this.context, yield* this.messageBody(message, path));
    if (slots.length === 0) return [];
    const heap = yield* localHeap(this.context, heapAddress);
    return slots.map((slot) => ({ name: heap.stringAt(slot.nameOffset), offset: slot.offset, size: slot.size }));
  }

  /**
   * The new fill value message (0x0005) when present; else the old one (0x0004) gives a user value;
   * else the library defaults (H5D_ALLOC_TIME_DEFAULT: early for compact, late for contiguous,
   * incremental for chunked; fill written at allocation only if set).
   */
  private *fillValue(header: ObjectHeader, layout: Hdf5Layout, path: string): Parse<Hdf5FillValue> {
    // The new message when present, else the old one: the only body fillValueOf asks for.
    const used = header.messages.find((m) => m.type === MessageType.FILL_VALUE) ?? header.messages.find((m) => m.type === MessageType.FILL_VALUE_OLD);
    const body = used === undefined ? undefined : yield* this.messageBody(used, path);
    return this.fillValueOf(header, layout, () => body!);
  }

  /** The fill value, from the bodies of its messages (`body`: at hand, or read before). */
  private fillValueOf(header: ObjectHeader, layout: Hdf5Layout, body: (message: HeaderMessage) => ByteCursor): Hdf5FillValue {
    const fresh = header.messages.find((m) => m.type === MessageType.FILL_VALUE);
    if (fresh) return parseFillValue(body(fresh));
    const allocationTime = layout.kind === "compact" ? "early" : layout.kind === "contiguous" ? "late" : "incremental";
    const old = header.messages.find((m) => m.type === MessageType.FILL_VALUE_OLD);
    if (old) {
      const value = parseOldFillValue(body(old));
      if (value.length > 0) return { state: "user", value, allocationTime, writeTime: "if-set" };
    }
    return { state: "default", allocationTime, writeTime: "if-set" };
  }

  /**
   * Where a dataset's stored bytes are: compact data lives in the header (no chunks); contiguous
   * data is one chunk at grid position 0 (if allocated); chunked data comes from its chunk index.
   * Addresses are absolute file offsets (relative address + base address).
   */
  chunks(dataset: Hdf5Dataset): Promise<ChunkRef[]> {
    return runParse(this.chunksParse(dataset));
  }

  /** `chunks` as a parse (`parse.ts`): at once when the chunk index is held. */
  *chunksParse(dataset: Hdf5Dataset): Parse<ChunkRef[]> {
    const layout = dataset.layout;
    // External data are not in this file (see `external`); virtual datasets have no storage of their own.
    if (layout.kind === "compact" || layout.kind === "virtual" || dataset.external.length > 0) return [];
    if (layout.kind === "contiguous") {
      if (layout.address === undefined || layout.size === 0) return [];
      const rank = dataset.dataspace.shape.length;
      const end = this.context.baseAddress + layout.address + layout.size;
      if (end > this.context.fileSize) {
        throw new Hdf5FormatError(this.url, "data layout", `contiguous data of ${dataset.path} runs past the end of the file`, layout.address);
      }
      return [{ coords: new Array<number>(Math.max(rank, 1)).fill(0), address: this.context.baseAddress + layout.address, size: layout.size, filterMask: 0 }];
    }
    // A prefetched index (prefetchChunkIndexes) is used once: later calls read it again. One the
    // read-ahead made is read again if it failed, so that the error names this dataset.
    const prefetched = this.chunkLists.get(dataset.address);
    this.chunkLists.delete(dataset.address);
    if (prefetched !== undefined && this.readAheadChunkLists.delete(dataset.address)) return yield* later(() => prefetched.catch(() => this.readChunks(dataset)));
    return prefetched !== undefined ? yield* later(() => prefetched) : yield* this.chunkList(dataset);
  }

  /**
   * The first `length` stored bytes of a chunk (`chunks()` gives its absolute address and size;
   * a reader leaves out a trailing checksum it has no codec for).
   */
  readChunk(chunk: ChunkRef, length: number = chunk.size): Promise<Uint8Array> {
    return this.context.source.read(chunk.address, length);
  }

  /** `readChunk` as a parse (`parse.ts`): at once when the source holds the bytes. */
  *readChunkParse(chunk: ChunkRef, length: number = chunk.size): Parse<Uint8Array> {
    return this.context.source.readNow?.(chunk.address, length) ?? (yield* later(() => this.readChunk(chunk, length)));
  }

  private readChunks(dataset: Hdf5Dataset): Promise<ChunkRef[]> {
    return runParse(this.chunkList(dataset));
  }

  /** A chunked dataset's chunks inside its current extent, from its chunk index. */
  private *chunkList(dataset: Hdf5Dataset): Parse<ChunkRef[]> {
    const layout = dataset.layout;
    if (layout.kind !== "chunked") return [];
    if (dataset.dataspace.kind !== "simple") {
      throw new Hdf5FormatError(this.url, "data layout", `chunked dataset ${dataset.path} has a ${dataset.dataspace.kind} dataspace`, dataset.address);
    }
    const all = yield* chunkIndex(this.context, chunkIndexInput(dataset, layout));
    // Chunks beyond the current extent (left by a writer that shrank the dataset without pruning
    // its index) hold no values: HDF5 does not list or read them either. (Loops rather than array
    // builtins here: docs/benchmarks.md, "Deoptimizations".)
    const grid = chunkGrid(dataset.dataspace.shape, layout.chunkShape);
    // Chunk indexes store addresses relative to the base address (the superblock's position).
    const base = this.context.baseAddress;
    const refs: ChunkRef[] = [];
    for (const ref of all) {
      let inside = true;
      for (let i = 0; i < grid.length && inside; i++) inside = ref.coords[i]! < grid[i]!;
      if (inside) refs.push(base === 0 ? ref : { ...ref, address: ref.address + base });
    }
    return refs;
  }

  /**
   * The values of a variable-length string dataset, in row-major order. Elements are (length,
   * global heap collection, index) triples (format spec IV.A.2.d); the data holding them is
   * compact, contiguous, or chunked; filtered chunks need `unfilter`, which undoes the pipeline
   * for one stored chunk (the HDF5 reader does not run codecs itself). Unwritten elements read as "".
   */
  async readVlenStrings(dataset: Hdf5Dataset, unfilter?: (stored: Uint8Array, chunk: ChunkRef) => Uint8Array): Promise<string[]> {
    const ctx = this.context;
    const type = dataset.datatype;
    if (type.class !== "vlen-string") {
      throw new UnsupportedFeatureError(this.url, dataset.path, `reading ${type.class} data as variable-length strings`);
    }
    const count = elementCount(dataset.dataspace);
    const elementSize = type.size;
    if (elementSize < 4 + ctx.sizeOfOffsets + 4) {
      throw new Hdf5FormatError(this.url, "datatype", `variable-length element size ${elementSize} is too small`, dataset.address);
    }
    const total = count * elementSize;
    if (!Number.isSafeInteger(total) || total > ctx.fileSize * 64) {
      throw new Hdf5FormatError(this.url, "dataspace", `${count} elements are implausible for this file`, dataset.address);
    }
    const layout = dataset.layout;
    if (layout.kind === "virtual" || dataset.external.length > 0) {
      throw new UnsupportedFeatureError(this.url, dataset.path, "variable-length strings in a virtual dataset or external files");
    }
    let data: Uint8Array;
    if (layout.kind === "compact") {
      data = layout.data;
    } else if (layout.kind === "contiguous") {
      data = layout.address === undefined ? new Uint8Array(total) : await ctx.read(layout.address, Math.min(total, layout.size), "vlen string data");
    } else {
      if (dataset.filters.length > 0 && !unfilter) {
        throw new UnsupportedFeatureError(this.url, dataset.path, "reading variable-length strings from filtered chunks");
      }
      data = await this.assembleChunks(dataset, layout.chunkShape, elementSize, total, dataset.filters.length > 0 ? unfilter : undefined);
    }
    if (data.length < total) {
      throw new Hdf5FormatError(this.url, "vlen string data", `${count} elements need ${total} bytes, the data has ${data.length}`, dataset.address);
    }
    // Read every collection the strings live in concurrently, once each.
    const pointers: { length: number; collection: number | undefined; index: number }[] = [];
    for (let i = 0; i < count; i++) {
      const c = new ByteCursor(data.subarray(i * elementSize, (i + 1) * elementSize), dataset.address, this.url, "vlen string element");
      const length = c.u32();
      const collection = ctx.addr(c);
      const index = c.u32();
      pointers.push({ length, collection, index });
    }
    const collections = new Set(pointers.filter((p) => p.length > 0 && p.collection).map((p) => p.collection!));
    await Promise.all([...collections].map((address) => this.globalHeap.collection(address)));
    const decoder = new TextDecoder();
    return Promise.all(
      pointers.map(async (p) => {
        if (p.length === 0 || !p.collection) return "";
        const object = await this.globalHeap.object(p.collection, p.index);
        if (p.length > object.length) {
          throw new Hdf5FormatError(this.url, "global heap object", `string of ${p.length} bytes in an object of ${object.length}`, p.collection);
        }
        const bytes = object.subarray(0, p.length);
        const nul = bytes.indexOf(0);
        return decoder.decode(nul >= 0 ? bytes.subarray(0, nul) : bytes);
      }),
    );
  }

  /** Copy every stored (unfiltered) chunk into a row-major buffer of the whole dataset. */
  private async assembleChunks(
    dataset: Hdf5Dataset,
    chunkShape: number[],
    elementSize: number,
    total: number,
    unfilter?: (stored: Uint8Array, chunk: ChunkRef) => Uint8Array,
  ): Promise<Uint8Array> {
    const shape = dataset.dataspace.shape;
    const rank = shape.length;
    const out = new Uint8Array(total);
    const chunks = await this.chunks(dataset);
    const chunkElements = product(chunkShape);
    const bodies = await Promise.all(
      chunks.map(async (chunk) =>
        unfilter
          ? unfilter(await this.readChunk(chunk), chunk)
          : this.readChunk(chunk, Math.min(chunk.size, chunkElements * elementSize)),
      ),
    );
    const strides = rowMajorStrides(shape);
    chunks.forEach((chunk, k) => {
      const body = bodies[k]!;
      const position = new Array<number>(rank).fill(0);
      for (let e = 0; e < chunkElements; e++) {
        // position = multi-index of element e inside the chunk (row-major)
        let rest = e;
        let inside = true;
        let target = 0;
        for (let d = rank - 1; d >= 0; d--) {
          position[d] = rest % chunkShape[d]!;
          rest = Math.floor(rest / chunkShape[d]!);
        }
        for (let d = 0; d < rank; d++) {
          const global = chunk.coords[d]! * chunkShape[d]! + position[d]!;
          if (global >= shape[d]!) {
            inside = false;
            break;
          }
          target += global * strides[d]!;
        }
        if (!inside || (e + 1) * elementSize > body.length) continue;
        out.set(body.subarray(e * elementSize, (e + 1) * elementSize), target * elementSize);
      }
    });
    return out;
  }
}
