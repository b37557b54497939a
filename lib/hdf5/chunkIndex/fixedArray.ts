import type { ByteCursor } from "../cursor.js";
import type { Hdf5Context } from "../context.js";
import type { ChunkRef } from "../model.js";
import { verifyChecksum } from "../checksum.js";
import { readU32 } from "../bytes.js";
import {
  bitIsSet,
  checkChunkInFile,
  chunkElementDecoder,
  maxChunkGrid,
  structureName,
  unlinearise,
  type ChunkIndexInput,
} from "./common.js";
import { product, rowMajorStrides } from "../../shape.js";
import { all, type Parse } from "../parse.js";

const HEADER = "fixed array header";
const DATA_BLOCK = "fixed array data block";
const PAGE = "fixed array data block page";

/** Signature + version + client id + checksum (H5FA_METADATA_PREFIX_SIZE). */
const METADATA_PREFIX = 4 + 1 + 1 + 4;

/**
 * Layout v4 index type 3 (VII.B, "Fixed Array"): for datasets with fixed maximum dimensions.
 * One element per chunk of the grid over the maximum dimensions, in row-major order.
 *
 *  - Header "FAHD": version, client id (0 unfiltered chunks, 1 filtered), element size, page bits,
 *    number of elements (a length), data block address, checksum.
 *  - Data block "FADB": version, client id, header address; then, when the element count exceeds
 *    2^pageBits, a page-init bitmap (1 bit per page, MSB first) and the checksum, with the pages
 *    following the block (each: its elements then a checksum; the last page may be short);
 *    otherwise all elements then the checksum.
 *
 * Reads: the header, the data block prefix (or the whole unpaged block), then every run of
 * consecutive initialised pages concurrently. Pages never initialised hold no chunks.
 */
export function* fixedArrayChunkIndex(ctx: Hdf5Context, input: ChunkIndexInput, address: number | undefined): Parse<ChunkRef[]> {
  if (address === undefined) return [];
  const o = ctx.sizeOfOffsets;
  const headerName = structureName(input, HEADER);
  const headerSize = 4 + 1 + 1 + 1 + 1 + ctx.sizeOfLengths + o + 4;
  const h: ByteCursor = yield* ctx.cursorParse(address, headerSize, headerName);
  if (h.ascii(4) !== "FAHD") h.fail('bad signature, expected "FAHD"');
  const version = h.u8();
  if (version !== 0) h.fail(`unsupported version ${version}`);
  const clientId = h.u8();
  if (clientId !== 0 && clientId !== 1) h.fail(`client id ${clientId} is not a chunk index (0 or 1)`);
  const elementSize = h.u8();
  const pageBits = h.u8();
  const elementCount = ctx.len(h);
  const dataBlockAddress = ctx.addr(h);
  const checksumAt = h.pos;
  verifyChecksum(h.bytes.subarray(0, checksumAt), h.u32(), ctx.url, headerName, address);

  const decoder = chunkElementDecoder(ctx, input, HEADER, clientId === 1, elementSize, address);
  const maxGrid = maxChunkGrid(ctx, input, HEADER);
  if (elementCount !== product(maxGrid)) {
    h.fail(`${elementCount} elements, but the maximum chunk grid ${maxGrid.join("x")} has ${product(maxGrid)}`);
  }
  if (elementCount * elementSize > ctx.fileSize) h.fail(`${elementCount} elements of ${elementSize} bytes cannot fit in the file`);
  if (pageBits === 0 || pageBits > 32) h.fail(`page bits ${pageBits}`);
  if (dataBlockAddress === undefined) return [];

  const down = rowMajorStrides(maxGrid);
  const refs: ChunkRef[] = [];
  const decodeRange = (bytes: Uint8Array, offset: number, firstIndex: number, count: number): void => {
    for (let i = 0; i < count; i++) {
      const index = firstIndex + i;
      const ref = decoder.decode(bytes, offset + i * elementSize, unlinearise(index, down));
      if (ref) {
        checkChunkInFile(ctx, input, DATA_BLOCK, ref);
        refs.push(ref);
      }
    }
  };

  const blockName = structureName(input, DATA_BLOCK);
  const checkBlockPrefix = (c: ByteCursor): void => {
    if (c.ascii(4) !== "FADB") c.fail('bad signature, expected "FADB"');
    const blockVersion = c.u8();
    if (blockVersion !== 0) c.fail(`unsupported version ${blockVersion}`);
    if (c.u8() !== clientId) c.fail("client id differs from the header's");
    if (ctx.addr(c) !== address) c.fail("header address does not point back to the header");
  };

  const pageElements = 2 ** pageBits;
  if (elementCount <= pageElements) {
    const size = METADATA_PREFIX + o + elementCount * elementSize;
    const c: ByteCursor = yield* ctx.cursorParse(dataBlockAddress, size, blockName);
    checkBlockPrefix(c);
    verifyChecksum(c.bytes.subarray(0, size - 4), readU32(c.bytes, size - 4), ctx.url, blockName, dataBlockAddress);
    decodeRange(c.bytes, c.pos, 0, elementCount);
    return refs;
  }

  const pageCount = Math.ceil(elementCount / pageElements);
  const bitmapSize = Math.ceil(pageCount / 8);
  const prefixSize = METADATA_PREFIX + o + bitmapSize;
  const c: ByteCursor = yield* ctx.cursorParse(dataBlockAddress, prefixSize, blockName);
  checkBlockPrefix(c);
  const bitmap = c.take(bitmapSize);
  verifyChecksum(c.bytes.subarray(0, prefixSize - 4), c.u32(), ctx.url, blockName, dataBlockAddress);

  const fullPageSize = pageElements * elementSize + 4;
  const pagesStart = dataBlockAddress + prefixSize;
  const pageElementCount = (page: number): number => Math.min(pageElements, elementCount - page * pageElements);
  const runs = initialisedRuns(bitmap, pageCount);
  const pageName = structureName(input, PAGE);
  const runBytes = yield* all(
    runs.map(([first, last]) => {
      const start = pagesStart + first * fullPageSize;
      const end = pagesStart + last * fullPageSize + pageElementCount(last) * elementSize + 4;
      return ctx.readParse(start, end - start, pageName);
    }),
  );
  for (const [r, [first, last]] of runs.entries()) {
    const bytes = runBytes[r]!;
    for (let page = first; page <= last; page++) {
      const offset = (page - first) * fullPageSize;
      const count = pageElementCount(page);
      const checksumAt = offset + count * elementSize;
      verifyChecksum(bytes.subarray(offset, checksumAt), readU32(bytes, checksumAt), ctx.url, pageName, pagesStart + page * fullPageSize);
      decodeRange(bytes, offset, page * pageElements, count);
    }
  }
  return refs;
}

/** [first, last] page runs whose init bit is set, so each run is one read. */
export function initialisedRuns(bitmap: Uint8Array, pageCount: number): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let page = 0; page <= pageCount; page++) {
    const set = page < pageCount && bitIsSet(bitmap, page);
    if (set && start < 0) start = page;
    if (!set && start >= 0) {
      runs.push([start, page - 1]);
      start = -1;
    }
  }
  return runs;
}

