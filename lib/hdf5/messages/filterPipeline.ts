import type { ByteCursor } from "../cursor.js";
import type { Hdf5Filter } from "../model.js";

/** One decoder for the module (a new one per call allocates more than the text). */
const utf8 = new TextDecoder();

/** More filters than this in one pipeline is a damaged message (H5Z_MAX_NFILTERS is 32). */
const MAX_FILTERS = 32;

/**
 * Filter pipeline message 0x000B (format spec IV.A.2.l). Version 1: 6 reserved bytes after the
 * count, every filter carries a name padded to 8 bytes and client data padded to an even count.
 * Version 2: no reserved bytes, no padding, and the name length and name are omitted for the
 * library's own filters (ids below 256).
 */
export function parseFilterPipeline(c: ByteCursor): Hdf5Filter[] {
  const version = c.u8();
  if (version !== 1 && version !== 2) c.fail(`unsupported filter pipeline message version ${version}`);
  const count = c.u8();
  if (count > MAX_FILTERS) c.fail(`${count} filters exceed the limit of ${MAX_FILTERS}`);
  if (version === 1) c.skip(6);
  const filters: Hdf5Filter[] = [];
  for (let i = 0; i < count; i++) {
    const id = c.u16();
    const nameLength = version === 1 || id >= 256 ? c.u16() : 0;
    const flags = c.u16();
    const valueCount = c.u16();
    let name: string | undefined;
    if (nameLength > 0) {
      const bytes = c.take(nameLength);
      const end = bytes.indexOf(0);
      name = utf8.decode(end < 0 ? bytes : bytes.subarray(0, end));
      if (version === 1 && nameLength % 8 !== 0) c.skip(8 - (nameLength % 8));
    }
    c.need(valueCount * 4);
    const clientData: number[] = [];
    for (let v = 0; v < valueCount; v++) clientData.push(c.u32());
    if (version === 1 && valueCount % 2 === 1) c.skip(4);
    const filter: Hdf5Filter = { id, optional: (flags & 0x01) !== 0, clientData };
    if (name !== undefined) filter.name = name;
    filters.push(filter);
  }
  return filters;
}
