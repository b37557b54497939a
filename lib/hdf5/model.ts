/**
 * The HDF5 reader's public data model: what the refs translator (and the tests) see of a file.
 * Everything here is plain data; parsing lives in one module per HDF5 structure.
 */

export type ByteOrder = "<" | ">";

export type StringPadding = "nullterm" | "nullpad" | "spacepad";
export type CharacterSet = "ascii" | "utf8";

/**
 * Where a floating-point number's fields are (format spec IV.A.2.d, floating-point properties):
 * bit positions counted from the least significant bit of the element, in the element's byte order.
 */
export interface FloatLayout {
  bitOffset: number;
  precision: number;
  signLocation: number;
  exponentLocation: number;
  exponentSize: number;
  mantissaLocation: number;
  mantissaSize: number;
  exponentBias: number;
  /** 0: no normalization; 1: the mantissa's most significant bit is always set; 2: it is implied. */
  normalization: 0 | 1 | 2;
}

/** Datatype message (0x0003), one variant per HDF5 datatype class. `size` is the element size in bytes. */
export type Hdf5Datatype =
  /** `precision` bits at `bitOffset` hold the value; the other bits are padding. */
  | { class: "fixed"; size: number; order: ByteOrder; signed: boolean; bitOffset: number; precision: number }
  | { class: "float"; size: number; order: ByteOrder; layout: FloatLayout }
  | { class: "time"; size: number; order: ByteOrder }
  | { class: "string"; size: number; padding: StringPadding; charset: CharacterSet }
  | { class: "bitfield"; size: number; order: ByteOrder }
  | { class: "opaque"; size: number; tag: string }
  | { class: "compound"; size: number; members: { name: string; offset: number; type: Hdf5Datatype }[] }
  /** kind "object": an object reference (an object header address); "region" and newer kinds are opaque to us. */
  | { class: "reference"; size: number; kind: "object" | "region" | "other" }
  | { class: "enum"; size: number; base: Hdf5Datatype; members: { name: string; value: number | bigint }[] }
  /** Variable-length string: each element is (length, global heap id) in the file. */
  | { class: "vlen-string"; size: number; padding: StringPadding; charset: CharacterSet }
  /** Variable-length sequence of `base` (e.g. DIMENSION_LIST is a sequence of object references). */
  | { class: "vlen-sequence"; size: number; base: Hdf5Datatype }
  | { class: "array"; size: number; dims: number[]; base: Hdf5Datatype }
  /** HDF5 2.0 complex numbers: a real and an imaginary part, each of the floating-point `base`. */
  | { class: "complex"; size: number; base: Hdf5Datatype };

/** Dataspace message (0x0001). `maxShape` entries are null for unlimited dimensions. */
export type Hdf5Dataspace =
  | { kind: "scalar"; shape: []; maxShape: [] }
  | { kind: "simple"; shape: number[]; maxShape: (number | null)[] }
  | { kind: "null"; shape: []; maxShape: [] };

/**
 * Fill value (messages 0x0005 new, 0x0004 old). `state`:
 *  - "undefined": the fill value was explicitly set undefined (no value; readers use zeros),
 *  - "default": no user value was set; the library default (all zero bytes) applies,
 *  - "user": `value` holds the raw bytes in the dataset's byte order.
 */
export interface Hdf5FillValue {
  state: "undefined" | "default" | "user";
  value?: Uint8Array;
  allocationTime: "early" | "late" | "incremental";
  writeTime: "on-alloc" | "never" | "if-set";
}

/** One entry of a filter pipeline message (0x000B). */
export interface Hdf5Filter {
  /** 1 deflate, 2 shuffle, 3 fletcher32, 4 szip, 5 nbit, 6 scaleoffset, >=256 third party. */
  id: number;
  name?: string;
  optional: boolean;
  clientData: number[];
}

/** How a chunked dataset indexes its chunks (data layout message v3/v4). */
export type ChunkIndexDescriptor =
  /** Layout v1-v3 (and v4 never uses it): a version 1 B-tree of type 1 (raw data chunks). */
  | { type: "btree-v1"; address: number | undefined }
  /** v4 index type 1. When `filtered`, `filteredSize` and `filterMask` come from the layout message. */
  | { type: "single"; address: number | undefined; filtered: boolean; filteredSize?: number; filterMask?: number }
  /** v4 index type 2: chunks stored contiguously in grid order, no filters, no per-chunk metadata. */
  | { type: "implicit"; address: number | undefined }
  /** v4 index type 3. */
  | { type: "fixed-array"; address: number | undefined; pageBits: number }
  /** v4 index type 4. */
  | {
      type: "extensible-array";
      address: number | undefined;
      maxBits: number;
      indexElements: number;
      minPointers: number;
      minElements: number;
      pageBits: number;
    }
  /** v4 index type 5. */
  | { type: "btree-v2"; address: number | undefined; nodeSize: number; splitPercent: number; mergePercent: number };

/** Data layout message (0x0008). */
export type Hdf5Layout =
  | { kind: "compact"; data: Uint8Array }
  /** A virtual dataset: its values are mapped from other datasets (we do not translate these). */
  | { kind: "virtual" }
  /** `address` undefined: storage never allocated (the whole dataset reads as fill). */
  | { kind: "contiguous"; address: number | undefined; size: number }
  | {
      kind: "chunked";
      /** Layout message version (1..5; HDF5 2.0 writes 5, encoded like 4). */
      version: number;
      /** Chunk shape per dataset dimension (the trailing element-size dimension of the message removed). */
      chunkShape: number[];
      /** v4 flags bit 0: partial edge chunks are stored unfiltered. */
      dontFilterPartialBoundChunks: boolean;
      index: ChunkIndexDescriptor;
    };

/** One stored chunk: its position in the chunk grid and where its (filtered) bytes are. */
export interface ChunkRef {
  /** Chunk grid coordinates (chunk offset divided by chunk shape), one per dimension; [0] for scalars. */
  coords: number[];
  address: number;
  size: number;
  /** Bit i set: filter i of the pipeline was NOT applied to this chunk. */
  filterMask: number;
}

/** An object reference value: the address of the referenced object's header. */
export interface ObjectReference {
  objectAddress: number;
}

/** A decoded attribute element. Integers beyond 2^53 are bigint; compound elements are records. */
export type AttributeElement =
  | number
  | bigint
  | string
  | Uint8Array
  | ObjectReference
  | null
  | AttributeElement[]
  | { [field: string]: AttributeElement };

export interface Hdf5Attribute {
  name: string;
  datatype: Hdf5Datatype;
  dataspace: Hdf5Dataspace;
  /** Elements in row-major order; empty for a null dataspace. */
  values: AttributeElement[];
}

export type Hdf5Link =
  | { name: string; kind: "hard"; address: number }
  | { name: string; kind: "soft"; target: string }
  | { name: string; kind: "external"; file: string; path: string }
  /** A user-defined link (types 65-255) or a type reserved for future HDF5 versions: never followed. */
  | { name: string; kind: "user-defined"; linkType: number };

/**
 * External data files (message 0x0007, H5Pset_external): the dataset's bytes are the
 * concatenation of the slots, each `size` bytes at `offset` in the file `name` (a name relative to
 * the HDF5 file, or absolute). `size` undefined: the slot extends to the end of its file.
 */
export interface ExternalFileSlot {
  name: string;
  offset: number;
  size: number | undefined;
}

/** Something in a header we could not use, kept so the translator can say what was left out. */
export interface SkippedPart {
  /** An attribute's name, when the problem was one attribute. */
  attribute?: string;
  reason: string;
}

interface Hdf5ObjectBase {
  /** Object header address: the object's identity (what object references point to). */
  address: number;
  /** Absolute path, "/" for the root group. */
  path: string;
  attributes: Hdf5Attribute[];
  /** Attributes left out because they use something we do not read (an HDF5 2.0 complex value, ...). */
  skippedAttributes: SkippedPart[];
}

export interface Hdf5Group extends Hdf5ObjectBase {
  kind: "group";
  /** Links in name order (as h5py iterates them). */
  links: Hdf5Link[];
}

export interface Hdf5Dataset extends Hdf5ObjectBase {
  kind: "dataset";
  datatype: Hdf5Datatype;
  dataspace: Hdf5Dataspace;
  fillValue: Hdf5FillValue;
  filters: Hdf5Filter[];
  layout: Hdf5Layout;
  /** External data files holding the (contiguous) data instead of this file; empty when none. */
  external: ExternalFileSlot[];
}

/** A committed (named) datatype; netCDF-4 writes these for user-defined types. */
export interface Hdf5NamedDatatype extends Hdf5ObjectBase {
  kind: "datatype";
  datatype: Hdf5Datatype;
}

/**
 * An object whose header uses a feature we do not read (for example a VAX-order datatype): it costs
 * this object only, and `reason` says why.
 */
export interface Hdf5UnsupportedObject extends Hdf5ObjectBase {
  kind: "unsupported";
  reason: string;
}

export type Hdf5Object = Hdf5Group | Hdf5Dataset | Hdf5NamedDatatype | Hdf5UnsupportedObject;
