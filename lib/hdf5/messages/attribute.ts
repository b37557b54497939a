import { UnsupportedFeatureError } from "../../errors.js";
import type { Hdf5Context } from "../context.js";
import type { ByteCursor } from "../cursor.js";
import type { CharacterSet, Hdf5Dataspace, Hdf5Datatype } from "../model.js";
import { parseDatatype } from "./datatype.js";
import { parseDataspace } from "./dataspace.js";
import { parseSharedMessage, type SharedMessageLocation } from "./shared.js";

/** One decoder for the module (a new one per call allocates more than the text). */
const utf8 = new TextDecoder();

/** An attribute message before shared parts are resolved and values decoded. */
export interface RawAttribute {
  name: string;
  charset: CharacterSet;
  /** `unsupported`: a datatype we do not decode (the attribute is left out, the name is kept). */
  datatype: Hdf5Datatype | { shared: SharedMessageLocation } | { unsupported: string };
  dataspace: Hdf5Dataspace | { shared: SharedMessageLocation };
  /** The raw value bytes (all elements, in file order): everything after the dataspace. */
  data: Uint8Array;
  /** File address of `data`, for error messages. */
  dataAddress: number;
}

/**
 * Attribute message 0x000C (format spec IV.A.2.m). Version 1 pads the name, datatype and dataspace
 * to multiples of 8 bytes; versions 2 and 3 do not, and their flags say whether the datatype
 * (bit 0) or dataspace (bit 1) is a shared message encoding. Version 3 adds the name's charset.
 */
export function parseAttributeMessage(ctx: Hdf5Context, c: ByteCursor): RawAttribute {
  const version = c.u8();
  if (version < 1 || version > 3) c.fail(`unsupported attribute message version ${version}`);
  const flags = c.u8(); // reserved in version 1
  const nameSize = c.u16();
  const datatypeSize = c.u16();
  const dataspaceSize = c.u16();
  const charsetCode = version === 3 ? c.u8() : 0;
  const pad = (n: number): number => (version === 1 ? Math.ceil(n / 8) * 8 : n);
  const nameBytes = c.take(pad(nameSize)).subarray(0, nameSize);
  const end = nameBytes.indexOf(0);
  const name = utf8.decode(end < 0 ? nameBytes : nameBytes.subarray(0, end));
  const datatypeCursor = c.sub(pad(datatypeSize), "attribute datatype");
  const dataspaceCursor = c.sub(pad(dataspaceSize), "attribute dataspace");
  const shared = version >= 2 ? flags : 0;
  let datatype: RawAttribute["datatype"];
  try {
    datatype = shared & 0x01 ? { shared: parseSharedMessage(ctx, datatypeCursor) } : parseDatatype(datatypeCursor);
  } catch (error) {
    if (!(error instanceof UnsupportedFeatureError)) throw error;
    datatype = { unsupported: error.feature };
  }
  const dataspace = shared & 0x02 ? { shared: parseSharedMessage(ctx, dataspaceCursor) } : parseDataspace(ctx, dataspaceCursor);
  const dataAddress = c.fileAddress;
  const data = c.take(c.remaining);
  return { name, charset: charsetCode === 1 ? "utf8" : "ascii", datatype, dataspace, data, dataAddress };
}
