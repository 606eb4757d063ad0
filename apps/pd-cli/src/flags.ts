import { InvalidArgumentError } from "commander";

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * Parses a uint64 flag value digit for digit (never through a JS number).
 *
 * @throws InvalidArgumentError naming the accepted form.
 */
export function parseUint64(value: string): bigint {
  const v = value.trim();
  if (!/^(0|[1-9][0-9]*)$/.test(v)) throw new InvalidArgumentError("expected a non-negative integer");
  const n = BigInt(v);
  if (n > MAX_UINT64) throw new InvalidArgumentError("exceeds 2^64-1");
  return n;
}

/** Parses a positive integer flag (a duration or size, not an id). */
export function parsePositiveInt(value: string): number {
  const v = value.trim();
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new InvalidArgumentError("expected a positive integer");
  return Number(v);
}
