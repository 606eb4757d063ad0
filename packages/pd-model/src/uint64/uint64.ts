/** Largest value a protobuf `uint64` (every id, epoch, count and timestamp of PD) can hold: 2^64 - 1. */
export const MAX_UINT64 = (1n << 64n) - 1n;

/** True when `value` is a bigint in `[0, 2^64)`. */
export function isUint64(value: unknown): value is bigint {
  return typeof value === "bigint" && value >= 0n && value <= MAX_UINT64;
}

/**
 * Parses a uint64 written as plain decimal digits (a flag, a JSON number's
 * digits, a URL segment), digit for digit: never through a JS `number`.
 * Returns undefined for anything else (signs, spaces, leading zeros,
 * exponents, values above 2^64 - 1).
 */
export function parseUint64(text: string): bigint | undefined {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text)) return undefined;
  const n = BigInt(text);
  return n <= MAX_UINT64 ? n : undefined;
}
