import { InvalidArgumentError } from "commander";
import { parseUint64 as uint64 } from "@nokv/pd-model";

/**
 * Parses a uint64 flag value digit for digit (never through a JS number).
 *
 * @throws InvalidArgumentError naming the accepted form.
 */
export function parseUint64(value: string): bigint {
  const v = value.trim();
  if (!/^(0|[1-9][0-9]*)$/.test(v)) throw new InvalidArgumentError("expected a non-negative integer");
  const n = uint64(v);
  if (n === undefined) throw new InvalidArgumentError("exceeds 2^64-1");
  return n;
}

/** Parses a positive integer flag (a duration or size, not an id). */
export function parsePositiveInt(value: string): number {
  const v = value.trim();
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new InvalidArgumentError("expected a positive integer");
  return Number(v);
}
