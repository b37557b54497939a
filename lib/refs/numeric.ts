/** Decode one number of `kind` from raw bytes; 64-bit integers beyond 2^53 come back as bigint. */
export function decodeNumber(
  bytes: Uint8Array,
  offset: number,
  kind: "int" | "uint" | "float" | "bool",
  size: number,
  littleEndian: boolean,
): number | bigint | boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, size);
  if (kind === "bool") return view.getUint8(0) !== 0;
  if (kind === "float") {
    if (size === 4) return view.getFloat32(0, littleEndian);
    if (size === 8) return view.getFloat64(0, littleEndian);
    if (size === 2) return float16(view.getUint16(0, littleEndian));
    throw new RangeError(`float of ${size} bytes`);
  }
  const signed = kind === "int";
  switch (size) {
    case 1:
      return signed ? view.getInt8(0) : view.getUint8(0);
    case 2:
      return signed ? view.getInt16(0, littleEndian) : view.getUint16(0, littleEndian);
    case 4:
      return signed ? view.getInt32(0, littleEndian) : view.getUint32(0, littleEndian);
    case 8: {
      const big = signed ? view.getBigInt64(0, littleEndian) : view.getBigUint64(0, littleEndian);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    default:
      throw new RangeError(`integer of ${size} bytes`);
  }
}

function float16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
