import type { Hdf5Context } from "../context.js";
import type { ByteCursor } from "../cursor.js";
import type { Hdf5Dataspace } from "../model.js";

/** Rank limit of HDF5 (H5S_MAX_RANK). */
export const MAX_RANK = 32;

/**
 * Dataspace message 0x0001 (format spec IV.A.2.b). Version 1: rank, flags, 5 reserved bytes, rank 0
 * means scalar. Version 2: rank, flags, type (0 scalar, 1 simple, 2 null). Both: dimension sizes,
 * then maximum sizes when flags bit 0 is set (all bits set = unlimited); v1 may also carry
 * permutation indices (flags bit 1), which we skip.
 */
export function parseDataspace(ctx: Hdf5Context, c: ByteCursor): Hdf5Dataspace {
  const version = c.u8();
  const rank = c.u8();
  const flags = c.u8();
  let type: number;
  if (version === 1) {
    c.skip(5);
    type = rank === 0 ? 0 : 1;
  } else if (version === 2) {
    type = c.u8();
  } else {
    return c.fail(`unsupported dataspace message version ${version}`);
  }
  if (rank > MAX_RANK) c.fail(`rank ${rank} exceeds ${MAX_RANK}`);
  if (type === 0) return { kind: "scalar", shape: [], maxShape: [] };
  if (type === 2) return { kind: "null", shape: [], maxShape: [] };
  if (type !== 1) c.fail(`unknown dataspace type ${type}`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(ctx.len(c));
  let maxShape: (number | null)[] = shape.slice();
  if (flags & 0x01) {
    maxShape = [];
    for (let i = 0; i < rank; i++) {
      const max = c.address_(ctx.sizeOfLengths);
      maxShape.push(max === undefined ? null : max);
    }
  }
  if (version === 1 && flags & 0x02) c.skip(rank * ctx.sizeOfLengths);
  return { kind: "simple", shape, maxShape };
}

/** Number of elements of a dataspace (1 for scalar, 0 for null). */
export function elementCount(space: Hdf5Dataspace): number {
  if (space.kind === "scalar") return 1;
  if (space.kind === "null") return 0;
  let n = 1;
  for (const d of space.shape) n *= d;
  return n;
}
