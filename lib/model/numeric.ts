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

/** Encode one number of `kind` into raw bytes at `offset` (integers must fit; the inverse of decodeNumber). */
export function encodeNumber(
  bytes: Uint8Array,
  offset: number,
  value: number | bigint | boolean,
  kind: "int" | "uint" | "float" | "bool",
  size: number,
  littleEndian: boolean,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, size);
  if (kind === "bool") return view.setUint8(0, value ? 1 : 0);
  if (kind === "float") {
    if (size === 4) return view.setFloat32(0, Number(value), littleEndian);
    if (size === 8) return view.setFloat64(0, Number(value), littleEndian);
    throw new RangeError(`float of ${size} bytes`);
  }
  const signed = kind === "int";
  switch (size) {
    case 1:
      return signed ? view.setInt8(0, Number(value)) : view.setUint8(0, Number(value));
    case 2:
      return signed ? view.setInt16(0, Number(value), littleEndian) : view.setUint16(0, Number(value), littleEndian);
    case 4:
      return signed ? view.setInt32(0, Number(value), littleEndian) : view.setUint32(0, Number(value), littleEndian);
    case 8:
      return signed ? view.setBigInt64(0, BigInt(value), littleEndian) : view.setBigUint64(0, BigInt(value), littleEndian);
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
