import { all, type Parse } from "../parse.js";
import { ByteCursor } from "../cursor.js";
import type { Hdf5Context } from "../context.js";
import type { ChunkRef } from "../model.js";
import { verifyChecksum } from "../checksum.js";
import { isPowerOfTwo, readU32 } from "../bytes.js";
import {
  bitIsSet,
  checkChunkInFile,
  chunkElementDecoder,
  formatError,
  structureName,
  type ChunkIndexInput,
} from "./common.js";

const HEADER = "extensible array header";
const INDEX_BLOCK = "extensible array index block";
const SUPER_BLOCK = "extensible array super block";
const DATA_BLOCK = "extensible array data block";

/** Signature + version + client id + checksum (H5EA_METADATA_PREFIX_SIZE). */
const METADATA_PREFIX = 4 + 1 + 1 + 4;

interface ArrayHeader {
  address: number;
  clientId: number;
  elementSize: number;
  maxIndexBits: number;
  indexBlockElements: number;
  dataBlockMinElements: number;
  superBlockMinDataPointers: number;
  pageBits: number;
  /** One past the highest element index ever set ("max index set"). */
  maxIndexSet: number;
  indexBlockAddress: number | undefined;
}

/** Geometry of super block u (H5EA__hdr_init): its data blocks, their size, and where it starts. */
interface SuperBlockInfo {
  dataBlocks: number;
  dataBlockElements: number;
  /** First element index covered, not counting the index block's own elements. */
  startIndex: number;
  /** Index of its first data block among all data blocks. */
  startDataBlock: number;
}

/** A data block to read: where, how many elements, the array index of its first element, its pages. */
interface DataBlockRead {
  address: number;
  elements: number;
  firstIndex: number;
  /** The "block offset" field libhdf5 stores in the block (checked as a pointer sanity check). */
  blockOffset: number;
  /** For paged blocks: the page-init bits (from the super block) of this block's pages. */
  pageInit: boolean[] | undefined;
}

/**
 * Layout v4 index type 4 (VII.C, "Extensible Array"): for datasets with exactly one unlimited
 * dimension. Element i is the chunk whose coordinates, with the unlimited dimension moved first
 * ("swizzled") and the other dimensions in order, linearise to i over the maximum chunk grid
 * (H5D__earray_idx_get_addr; the unlimited dimension's extent never enters the product).
 *
 * The array: a header ("EAHD"), an index block ("EAIB") holding the first few elements, the
 * addresses of the first data blocks and of super blocks ("EASB"), which hold data block
 * addresses; data blocks ("EADB") hold elements, in pages (with init bits in the super block)
 * when larger than 2^pageBits elements. Super block u has 2^floor(u/2) data blocks of
 * 2^ceil(u/2) x (data block min elements) elements.
 *
 * Reads per level, concurrently: header; index block; its data blocks and super blocks; the super
 * blocks' data blocks (each read once in full up to its last initialised page).
 */
export function* extensibleArrayChunkIndex(ctx: Hdf5Context, input: ChunkIndexInput, address: number | undefined): Parse<ChunkRef[]> {
  if (address === undefined) return [];
  const header = yield* readHeader(ctx, input, address);
  const o = ctx.sizeOfOffsets;
  const decoder = chunkElementDecoder(ctx, input, HEADER, header.clientId === 1, header.elementSize, address);
  const toCoords = swizzledCoordinates(ctx, input);
  if (header.indexBlockAddress === undefined || header.maxIndexSet === 0) return [];

  // Geometry (H5EA__hdr_init, H5EA__iblock_alloc).
  const minElementsLog2 = Math.log2(header.dataBlockMinElements);
  const superBlockCount = 1 + header.maxIndexBits - minElementsLog2;
  const infos: SuperBlockInfo[] = [];
  let startIndex = 0;
  let startDataBlock = 0;
  for (let u = 0; u < superBlockCount; u++) {
    const dataBlocks = 2 ** Math.floor(u / 2);
    const dataBlockElements = 2 ** Math.floor((u + 1) / 2) * header.dataBlockMinElements;
    infos.push({ dataBlocks, dataBlockElements, startIndex, startDataBlock });
    startIndex += dataBlocks * dataBlockElements;
    startDataBlock += dataBlocks;
  }
  const indexBlockSuperBlocks = 2 * Math.log2(header.superBlockMinDataPointers);
  const indexBlockDataBlocks = 2 * (header.superBlockMinDataPointers - 1);
  const indexBlockSuperBlockAddresses = Math.max(0, superBlockCount - indexBlockSuperBlocks);
  const offsetSize = Math.ceil(header.maxIndexBits / 8);
  const pageElements = 2 ** header.pageBits;

  const refs: ChunkRef[] = [];
  const emit = (bytes: Uint8Array, offset: number, firstIndex: number, count: number, structure: string): void => {
    const end = Math.min(count, header.maxIndexSet - firstIndex);
    for (let i = 0; i < end; i++) {
      const ref = decoder.decode(bytes, offset + i * header.elementSize, toCoords(firstIndex + i));
      if (ref) {
        checkChunkInFile(ctx, input, structure, ref);
        refs.push(ref);
      }
    }
  };

  // Index block.
  const ibName = structureName(input, INDEX_BLOCK);
  const ibSize =
    METADATA_PREFIX + o + header.indexBlockElements * header.elementSize + (indexBlockDataBlocks + indexBlockSuperBlockAddresses) * o;
  const ib: ByteCursor = yield* ctx.cursorParse(header.indexBlockAddress, ibSize, ibName);
  checkPrefix(ctx, ib, "EAIB", header);
  verifyChecksum(ib.bytes.subarray(0, ibSize - 4), readU32(ib.bytes, ibSize - 4), ctx.url, ibName, header.indexBlockAddress);
  emit(ib.bytes, ib.pos, 0, header.indexBlockElements, INDEX_BLOCK);
  ib.skip(header.indexBlockElements * header.elementSize);

  const dataBlocks: DataBlockRead[] = [];
  const relevant = (info: SuperBlockInfo): boolean => header.indexBlockElements + info.startIndex < header.maxIndexSet;
  // Data blocks whose addresses the index block holds: those of the first super blocks.
  for (let u = 0; u < Math.min(indexBlockSuperBlocks, superBlockCount); u++) {
    const info = infos[u]!;
    for (let j = 0; j < info.dataBlocks; j++) {
      const dbAddress = ctx.addr(ib);
      if (dbAddress === undefined || !relevant(info)) continue;
      if (info.dataBlockElements > pageElements) {
        // HDF5 never pages these (H5EA__lookup_elmt reads them as plain blocks).
        ib.fail(`data block of ${info.dataBlockElements} elements in the index block would be paged`);
      }
      const blockStart = info.startIndex + j * info.dataBlockElements;
      // libhdf5 stores these blocks' offset computed with the data block's index among *all*
      // index-block data blocks rather than within its super block (H5EA__lookup_elmt passes
      // start_dblk + j to H5EA__dblock_create), so that is the value to expect on disk.
      const blockOffset = info.startIndex + (info.startDataBlock + j) * info.dataBlockElements;
      dataBlocks.push({ address: dbAddress, elements: info.dataBlockElements, firstIndex: header.indexBlockElements + blockStart, blockOffset, pageInit: undefined });
    }
  }
  ib.pos = METADATA_PREFIX - 4 + o + header.indexBlockElements * header.elementSize + indexBlockDataBlocks * o;
  const superBlocks: { address: number; u: number }[] = [];
  for (let s = 0; s < indexBlockSuperBlockAddresses; s++) {
    const sbAddress = ctx.addr(ib);
    const u = indexBlockSuperBlocks + s;
    if (sbAddress !== undefined && relevant(infos[u]!)) superBlocks.push({ address: sbAddress, u });
  }

  // Super blocks, concurrently (their data blocks are read in the next round with the others).
  const sbName = structureName(input, SUPER_BLOCK);
  const superBlockContents = yield* all(
    superBlocks.map(function* ({ address: sbAddress, u }): Parse<DataBlockRead[]> {
      const info = infos[u]!;
      const paged = info.dataBlockElements > pageElements;
      const pagesPerBlock = paged ? info.dataBlockElements / pageElements : 0;
      const initBytesPerBlock = paged ? Math.ceil(pagesPerBlock / 8) : 0;
      const size = METADATA_PREFIX + o + offsetSize + info.dataBlocks * initBytesPerBlock + info.dataBlocks * o;
      if (size > ctx.fileSize) throw formatError(ctx, input, SUPER_BLOCK, `super block ${u} of ${size} bytes cannot fit in the file`, sbAddress);
      const c: ByteCursor = yield* ctx.cursorParse(sbAddress, size, sbName);
      checkPrefix(ctx, c, "EASB", header);
      const offset = c.uint(offsetSize);
      if (offset !== info.startIndex) c.fail(`block offset ${offset}, expected ${info.startIndex} for super block ${u}`);
      const init = c.take(info.dataBlocks * initBytesPerBlock);
      const reads: DataBlockRead[] = [];
      for (let j = 0; j < info.dataBlocks; j++) {
        const dbAddress = ctx.addr(c);
        const blockOffset = info.startIndex + j * info.dataBlockElements;
        if (dbAddress === undefined || header.indexBlockElements + blockOffset >= header.maxIndexSet) continue;
        let pageInit: boolean[] | undefined;
        if (paged) {
          // Bits of block j start at bit j x pages (H5EA__lookup_elmt: page_init_idx).
          pageInit = [];
          for (let p = 0; p < pagesPerBlock; p++) pageInit.push(bitIsSet(init, j * pagesPerBlock + p));
        }
        reads.push({ address: dbAddress, elements: info.dataBlockElements, firstIndex: header.indexBlockElements + blockOffset, blockOffset, pageInit });
      }
      verifyChecksum(c.bytes.subarray(0, size - 4), c.u32(), ctx.url, sbName, sbAddress);
      return reads;
    }),
  );
  for (const reads of superBlockContents) dataBlocks.push(...reads);

  // All data blocks, concurrently.
  const dbName = structureName(input, DATA_BLOCK);
  const prefixSize = METADATA_PREFIX + o + offsetSize;
  const pageSize = pageElements * header.elementSize + 4;
  const blockBytes = yield* all(
    dataBlocks.map(function* (db): Parse<Uint8Array> {
      let size: number;
      if (db.pageInit === undefined) {
        size = prefixSize + db.elements * header.elementSize;
      } else {
        const lastInit = db.pageInit.lastIndexOf(true);
        size = prefixSize + (lastInit + 1) * pageSize;
      }
      if (size > ctx.fileSize) throw formatError(ctx, input, DATA_BLOCK, `data block of ${size} bytes cannot fit in the file`, db.address);
      return yield* ctx.readParse(db.address, size, dbName);
    }),
  );
  for (const [k, db] of dataBlocks.entries()) {
    const bytes = blockBytes[k]!;
    const c = new ByteCursor(bytes, db.address, ctx.url, dbName);
    checkPrefix(ctx, c, "EADB", header);
    const offset = c.uint(offsetSize);
    if (offset !== db.blockOffset) c.fail(`block offset ${offset}, expected ${db.blockOffset}`);
    if (db.pageInit === undefined) {
      const checksumAt = prefixSize - 4 + db.elements * header.elementSize;
      verifyChecksum(bytes.subarray(0, checksumAt), readU32(bytes, checksumAt), ctx.url, dbName, db.address);
      emit(bytes, c.pos, db.firstIndex, db.elements, DATA_BLOCK);
      continue;
    }
    verifyChecksum(bytes.subarray(0, prefixSize - 4), readU32(bytes, prefixSize - 4), ctx.url, dbName, db.address);
    for (const [p, initialised] of db.pageInit.entries()) {
      if (!initialised) continue;
      const pageStart = prefixSize + p * pageSize;
      const checksumAt = pageStart + pageElements * header.elementSize;
      verifyChecksum(bytes.subarray(pageStart, checksumAt), readU32(bytes, checksumAt), ctx.url, `${dbName} page`, db.address + pageStart);
      emit(bytes, pageStart, db.firstIndex + p * pageElements, pageElements, DATA_BLOCK);
    }
  }
  return refs;
}

function* readHeader(ctx: Hdf5Context, input: ChunkIndexInput, address: number): Parse<ArrayHeader> {
  const name = structureName(input, HEADER);
  const l = ctx.sizeOfLengths;
  const size = 4 + 1 + 1 + 6 + 6 * l + ctx.sizeOfOffsets + 4;
  const c: ByteCursor = yield* ctx.cursorParse(address, size, name);
  if (c.ascii(4) !== "EAHD") c.fail('bad signature, expected "EAHD"');
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported version ${version}`);
  const clientId = c.u8();
  if (clientId !== 0 && clientId !== 1) c.fail(`client id ${clientId} is not a chunk index (0 or 1)`);
  const elementSize = c.u8();
  const maxIndexBits = c.u8();
  const indexBlockElements = c.u8();
  const dataBlockMinElements = c.u8();
  const superBlockMinDataPointers = c.u8();
  const pageBits = c.u8();
  c.skip(4 * l); // super block count/size, data block count/size: statistics only
  const maxIndexSet = ctx.len(c);
  c.skip(l); // number of elements realised
  const indexBlockAddress = ctx.addr(c);
  const checksumAt = c.pos;
  verifyChecksum(c.bytes.subarray(0, checksumAt), c.u32(), ctx.url, name, address);

  if (elementSize === 0) c.fail("element size 0");
  if (maxIndexBits === 0 || maxIndexBits > 64) c.fail(`max index bits ${maxIndexBits}`);
  if (!isPowerOfTwo(dataBlockMinElements) || Math.log2(dataBlockMinElements) > maxIndexBits) c.fail(`data block min elements ${dataBlockMinElements}`);
  if (!isPowerOfTwo(superBlockMinDataPointers) || superBlockMinDataPointers < 2) c.fail(`super block min data pointers ${superBlockMinDataPointers}`);
  if (pageBits === 0 || pageBits > 32) c.fail(`page bits ${pageBits}`);
  if (indexBlockElements === 0) c.fail("index block elements 0");
  // Only allocated blocks are read (each checked against the file size), so a sparse array may
  // legitimately have a large max index; it only has to be addressable.
  if (maxIndexSet > 2 ** Math.min(maxIndexBits, 53)) {
    c.fail(`max index set ${maxIndexSet} is impossible for this file`);
  }
  return {
    address,
    clientId,
    elementSize,
    maxIndexBits,
    indexBlockElements,
    dataBlockMinElements,
    superBlockMinDataPointers,
    pageBits,
    maxIndexSet,
    indexBlockAddress,
  };
}

function checkPrefix(ctx: Hdf5Context, c: ByteCursor, signature: string, header: ArrayHeader): void {
  if (c.ascii(4) !== signature) c.fail(`bad signature, expected "${signature}"`);
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported version ${version}`);
  if (c.u8() !== header.clientId) c.fail("client id differs from the header's");
  if (ctx.addr(c) !== header.address) c.fail("header address does not point back to the array header");
}

/**
 * Array index -> chunk coordinates: the inverse of H5D__earray_idx_get_addr's linearisation with
 * the unlimited dimension first and the other dimensions' maximum chunk counts as the radices.
 */
function swizzledCoordinates(ctx: Hdf5Context, input: ChunkIndexInput): (index: number) => number[] {
  const unlimited = input.maxShape.flatMap((m, i) => (m === null ? [i] : []));
  if (unlimited.length !== 1) {
    throw formatError(ctx, input, HEADER, `an extensible array index needs exactly one unlimited dimension, found ${unlimited.length}`);
  }
  const u = unlimited[0]!;
  const rank = input.shape.length;
  const others: number[] = [];
  const radices: number[] = [];
  for (let d = 0; d < rank; d++) {
    if (d === u) continue;
    others.push(d);
    radices.push(Math.ceil(input.maxShape[d]! / input.chunkShape[d]!));
  }
  return (index: number): number[] => {
    const coords = new Array<number>(rank);
    let rest = index;
    for (let k = others.length - 1; k >= 0; k--) {
      const r = radices[k]!;
      const c = rest % r;
      coords[others[k]!] = c;
      rest = (rest - c) / r;
    }
    coords[u] = rest;
    return coords;
  };
}
