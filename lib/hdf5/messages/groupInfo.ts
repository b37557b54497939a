import type { ByteCursor } from "../cursor.js";

/** Group info message 0x000A (format spec IV.A.2.k): compact/dense thresholds of a new-style group. */
export interface GroupInfoMessage {
  maxCompactLinks?: number;
  minDenseLinks?: number;
  estimatedEntries?: number;
  estimatedNameLength?: number;
}

export function parseGroupInfo(c: ByteCursor): GroupInfoMessage {
  const version = c.u8();
  if (version !== 0) c.fail(`unsupported group info message version ${version}`);
  const flags = c.u8();
  const info: GroupInfoMessage = {};
  if (flags & 0x01) {
    info.maxCompactLinks = c.u16();
    info.minDenseLinks = c.u16();
  }
  if (flags & 0x02) {
    info.estimatedEntries = c.u16();
    info.estimatedNameLength = c.u16();
  }
  return info;
}
