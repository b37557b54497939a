import { Hdf5FormatError } from "../errors.js";
import type { ByteSource } from "../source/byteSource.js";
import { verifyChecksum } from "./checksum.js";
import { ByteCursor } from "./cursor.js";

/** The 8-byte format signature, "\x89HDF\r\n\x1a\n" (format spec II.A "Format Signature"). */
export const HDF5_SIGNATURE = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);

/** Cached addresses from the root group's symbol table entry scratch pad (cache type 1). */
export interface RootSymbolTableCache {
  btreeAddress: number;
  heapAddress: number;
}

export interface Superblock {
  /** Superblock version 0..3. */
  version: number;
  /** Absolute file offset of the signature: 0, or the user block size. */
  signatureOffset: number;
  sizeOfOffsets: number;
  sizeOfLengths: number;
  /**
   * Absolute offset every file address is relative to. HDF5 itself uses the superblock's
   * position (H5F__super_read adjusts base_addr to super_addr), so we do too.
   */
  baseAddress: number;
  /** The base address as written in the superblock (usually equal to baseAddress). */
  storedBaseAddress: number;
  /** Address of the root group's object header. */
  rootObjectHeaderAddress: number;
  /** v0/v1 only, when the root entry caches its symbol table (scratch pad cache type 1). */
  rootSymbolTable?: RootSymbolTableCache;
  /** End-of-file address as recorded (relative), undefined if undefined. */
  endOfFileAddress: number | undefined;
  /** v2/v3: superblock extension object header address, if any. */
  extensionAddress?: number;
  /** v0/v1: "Group Leaf Node K" (symbol table nodes hold up to 2K entries). */
  groupLeafNodeK?: number;
  /** v0/v1: "Group Internal Node K". */
  groupInternalNodeK?: number;
  /** v1 only: "Indexed Storage Internal Node K"; 32 when absent. */
  indexedStorageInternalNodeK?: number;
  fileConsistencyFlags: number;
}

/** Bytes read at each candidate signature offset: every superblock version fits (v1 with 8-byte fields is 96). */
const SUPERBLOCK_READ_SIZE = 256;

function hasSignature(bytes: Uint8Array): boolean {
  if (bytes.length < HDF5_SIGNATURE.length) return false;
  for (let i = 0; i < HDF5_SIGNATURE.length; i++) if (bytes[i] !== HDF5_SIGNATURE[i]) return false;
  return true;
}

/** Other formats a user may hand us instead of HDF5, by their leading bytes. */
const OTHER_FORMATS: { magic: number[]; what: string }[] = [
  { magic: [0x43, 0x44, 0x46, 0x01], what: "a netCDF-3 classic format file (signature CDF\\x01; netCDF-3 is not HDF5)" },
  { magic: [0x43, 0x44, 0x46, 0x02], what: "a netCDF-3 64-bit offset format file (signature CDF\\x02; netCDF-3 is not HDF5)" },
  { magic: [0x43, 0x44, 0x46, 0x05], what: "a netCDF-3 CDF-5 (64-bit data) format file (signature CDF\\x05; netCDF-3 is not HDF5)" },
  { magic: [0x0e, 0x03, 0x13, 0x01], what: "an HDF4 file (HDF4 is not HDF5)" },
  { magic: [0x47, 0x52, 0x49, 0x42], what: "a GRIB file" },
  { magic: [0x1f, 0x8b], what: "a gzip-compressed file (decompress it first)" },
  { magic: [0x42, 0x5a, 0x68], what: "a bzip2-compressed file (decompress it first)" },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: "a zstd-compressed file (decompress it first)" },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: "an xz-compressed file (decompress it first)" },
  { magic: [0x50, 0x4b, 0x03, 0x04], what: "a zip archive" },
  { magic: [0x50, 0x41, 0x52, 0x31], what: "a Parquet file" },
  { magic: [0x49, 0x49, 0x2a, 0x00], what: "a TIFF file" },
  { magic: [0x4d, 0x4d, 0x00, 0x2a], what: "a TIFF file" },
  { magic: [0x53, 0x49, 0x4d, 0x50, 0x4c, 0x45, 0x20, 0x20], what: "a FITS file" },
];

/** What a file that has no HDF5 signature appears to be, from its first bytes. */
export function describeNonHdf5(head: Uint8Array): string {
  for (const { magic, what } of OTHER_FORMATS) {
    if (magic.every((b, i) => head[i] === b)) return what;
  }
  const text = new TextDecoder().decode(head.subarray(0, 64)).trimStart();
  if (text.startsWith("{") || text.startsWith("[")) return "JSON text (a reference file? pass the HDF5/netCDF-4 file it was made from)";
  if (text.startsWith("<")) return "HTML or XML text (an error page instead of the file?)";
  return "not a format we recognise";
}

/**
 * Find and parse the superblock. The signature is at offset 0 or at 512, 1024, 2048, ... (a user
 * block precedes it; format spec II.A), so we probe those offsets in order, one small read each.
 */
export async function readSuperblock(source: ByteSource, fileSize: number): Promise<Superblock> {
  const url = source.url;
  if (fileSize < HDF5_SIGNATURE.length) {
    throw new Hdf5FormatError(url, "superblock", `file is too small (${fileSize} bytes) to be HDF5`, 0);
  }
  for (let offset = 0; offset + HDF5_SIGNATURE.length <= fileSize; offset = offset === 0 ? 512 : offset * 2) {
    const bytes = await source.read(offset, Math.min(SUPERBLOCK_READ_SIZE, fileSize - offset));
    if (hasSignature(bytes)) return parseSuperblock(new ByteCursor(bytes, offset, url, "superblock"), offset, fileSize);
  }
  const head = await source.read(0, Math.min(64, fileSize));
  throw new Hdf5FormatError(url, "superblock", `not an HDF5 file: no HDF5 signature at offset 0, 512, 1024, 2048, ...; it is ${describeNonHdf5(head)}`, 0);
}

function checkWidth(c: ByteCursor, what: string, value: number): void {
  if (value !== 2 && value !== 4 && value !== 8) c.fail(`${what} is ${value}; must be 2, 4 or 8`);
}

function parseSuperblock(c: ByteCursor, signatureOffset: number, fileSize: number): Superblock {
  c.skip(HDF5_SIGNATURE.length);
  const version = c.u8();
  if (version === 0 || version === 1) return parseSuperblockV0V1(c, version, signatureOffset, fileSize);
  if (version === 2 || version === 3) return parseSuperblockV2V3(c, version, signatureOffset, fileSize);
  return c.fail(`unsupported superblock version ${version}`);
}

/** Superblock versions 0 and 1 (format spec II.A, "Superblock Version 0/1"). */
function parseSuperblockV0V1(c: ByteCursor, version: number, signatureOffset: number, fileSize: number): Superblock {
  c.u8(); // version of file free-space storage
  c.u8(); // version of root group symbol table entry
  c.u8(); // reserved
  c.u8(); // version of shared header message format
  const sizeOfOffsets = c.u8();
  const sizeOfLengths = c.u8();
  checkWidth(c, "size of offsets", sizeOfOffsets);
  checkWidth(c, "size of lengths", sizeOfLengths);
  c.u8(); // reserved
  const groupLeafNodeK = c.u16();
  const groupInternalNodeK = c.u16();
  if (groupLeafNodeK === 0 || groupInternalNodeK === 0) c.fail("group B-tree K values must be positive");
  const fileConsistencyFlags = c.u32();
  let indexedStorageInternalNodeK: number | undefined;
  if (version === 1) {
    indexedStorageInternalNodeK = c.u16();
    c.u16(); // reserved
  }
  const storedBaseAddress = c.address_(sizeOfOffsets) ?? 0;
  c.address_(sizeOfOffsets); // address of file free-space info (always undefined in practice)
  const endOfFileAddress = c.address_(sizeOfOffsets);
  c.address_(sizeOfOffsets); // driver information block address
  // Root group symbol table entry (format spec III.C "Symbol Table Entry").
  c.address_(sizeOfOffsets); // link name offset (unused for the root)
  const rootObjectHeaderAddress = c.address_(sizeOfOffsets);
  if (rootObjectHeaderAddress === undefined) c.fail("root group object header address is undefined");
  const cacheType = c.u32();
  c.u32(); // reserved
  const scratch = c.sub(16, "superblock root symbol table entry");
  let rootSymbolTable: RootSymbolTableCache | undefined;
  if (cacheType === 1) {
    const btreeAddress = scratch.address_(sizeOfOffsets);
    const heapAddress = scratch.address_(sizeOfOffsets);
    if (btreeAddress !== undefined && heapAddress !== undefined) rootSymbolTable = { btreeAddress, heapAddress };
  }
  checkRootAddress(c, rootObjectHeaderAddress, signatureOffset, fileSize);
  return {
    version,
    signatureOffset,
    sizeOfOffsets,
    sizeOfLengths,
    baseAddress: signatureOffset,
    storedBaseAddress,
    rootObjectHeaderAddress,
    rootSymbolTable,
    endOfFileAddress,
    groupLeafNodeK,
    groupInternalNodeK,
    indexedStorageInternalNodeK,
    fileConsistencyFlags,
  };
}

/** Superblock versions 2 and 3 (format spec II.A, "Superblock Version 2/3"); checksummed. */
function parseSuperblockV2V3(c: ByteCursor, version: number, signatureOffset: number, fileSize: number): Superblock {
  const sizeOfOffsets = c.u8();
  const sizeOfLengths = c.u8();
  checkWidth(c, "size of offsets", sizeOfOffsets);
  checkWidth(c, "size of lengths", sizeOfLengths);
  const fileConsistencyFlags = c.u8();
  const storedBaseAddress = c.address_(sizeOfOffsets) ?? 0;
  const extensionAddress = c.address_(sizeOfOffsets);
  const endOfFileAddress = c.address_(sizeOfOffsets);
  const rootObjectHeaderAddress = c.address_(sizeOfOffsets);
  const checksummedLength = c.pos;
  const checksum = c.u32();
  verifyChecksum(c.bytes.subarray(0, checksummedLength), checksum, c.url, "superblock", signatureOffset);
  if (rootObjectHeaderAddress === undefined) c.fail("root group object header address is undefined");
  checkRootAddress(c, rootObjectHeaderAddress, signatureOffset, fileSize);
  return {
    version,
    signatureOffset,
    sizeOfOffsets,
    sizeOfLengths,
    baseAddress: signatureOffset,
    storedBaseAddress,
    rootObjectHeaderAddress,
    endOfFileAddress,
    extensionAddress,
    fileConsistencyFlags,
  };
}

function checkRootAddress(c: ByteCursor, address: number, base: number, fileSize: number): void {
  if (base + address >= fileSize) {
    throw new Hdf5FormatError(c.url, "superblock", `root object header address ${address} is past the end of the file (${fileSize} bytes)`, base);
  }
}
