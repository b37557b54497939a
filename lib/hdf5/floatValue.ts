import type { FloatLayout } from "./model.js";

/** x * 2^n without overflowing or flushing to zero in the intermediate steps. */
function scaleByPowerOfTwo(x: number, n: number): number {
  let value = x;
  let rest = n;
  while (rest > 1000) {
    value *= 2 ** 1000;
    rest -= 1000;
    if (!Number.isFinite(value)) return value;
  }
  while (rest < -1000) {
    value *= 2 ** -1000;
    rest += 1000;
    if (value === 0) return value;
  }
  return value * 2 ** rest;
}

function bitField(bits: bigint, at: number, width: number): bigint {
  return (bits >> BigInt(at)) & ((1n << BigInt(width)) - 1n);
}

/**
 * The value of one floating-point element of any HDF5 layout (IEEE, bfloat16, x87 extended
 * precision, custom), as the nearest JavaScript number: what h5py's conversion to a native float
 * and JSON can hold. Field positions are bit numbers within the element (least significant bit 0)
 * once its bytes are read in `littleEndian` order. An all-ones exponent is infinity or NaN, as in
 * IEEE 754 and HDF5's own float conversions.
 */
export function decodeFloatValue(bytes: Uint8Array, littleEndian: boolean, layout: FloatLayout): number {
  let bits = 0n;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[littleEndian ? bytes.length - 1 - i : i]!;
    bits = (bits << 8n) | BigInt(b);
  }
  const negative = bitField(bits, layout.signLocation, 1) === 1n;
  const exponent = Number(bitField(bits, layout.exponentLocation, layout.exponentSize));
  const mantissa = bitField(bits, layout.mantissaLocation, layout.mantissaSize);
  const maxExponent = 2 ** layout.exponentSize - 1;
  const sign = negative ? -1 : 1;
  // Implied (2): a hidden leading 1 above the mantissa. Otherwise (0 "none", 1 "most significant
  // bit set", as x87 extended precision is described) the leading bit is stored: the binary point
  // follows the mantissa's top bit, as HDF5's own conversion (H5T__conv_f_f) reads it.
  const implied = layout.normalization === 2;
  const fractionBits = implied ? layout.mantissaSize : layout.mantissaSize - 1;
  const fraction = implied ? mantissa : bitField(mantissa, 0, Math.max(fractionBits, 0));
  if (exponent === maxExponent) return fraction === 0n ? sign * Infinity : NaN;
  const significand = (implied && exponent !== 0 ? 1 : 0) + Number(mantissa) / 2 ** fractionBits;
  // Exponent 0 is the subnormal range: the smallest exponent, without the hidden 1.
  const power = (exponent === 0 ? 1 : exponent) - layout.exponentBias;
  return sign * scaleByPowerOfTwo(significand, power);
}
