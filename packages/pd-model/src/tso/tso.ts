/**
 * Bits of the logical counter in a PD timestamp. A timestamp is
 * `physical_ms << 18 | logical`: Unix milliseconds above, a counter below,
 * so one millisecond holds 2^18 timestamps.
 */
export const TSO_LOGICAL_BITS = 18n;

const LOGICAL_MASK = (1n << TSO_LOGICAL_BITS) - 1n;

/** Composes a timestamp from its physical milliseconds and its logical counter. */
export function composeTimestamp(physicalMs: bigint, logical: bigint): bigint {
  return (physicalMs << TSO_LOGICAL_BITS) | (logical & LOGICAL_MASK);
}

/** Splits a timestamp into its physical part (Unix time in ms) and its logical counter. */
export function decodeTimestamp(ts: bigint): { readonly physicalMs: bigint; readonly logical: bigint } {
  return { physicalMs: ts >> TSO_LOGICAL_BITS, logical: ts & LOGICAL_MASK };
}

/**
 * Most ids one `AllocID` call may take (2^20): larger counts are
 * `INVALID_ARGUMENT`, so one caller cannot drain the space by accident.
 */
export const MAX_ID_COUNT = 1n << 20n;

/**
 * Most timestamps one `Tso` call (or one batch of a client) may take: one
 * millisecond's worth (2^18), so a run never needs more than one
 * millisecond of physical time ahead of the clock.
 */
export const MAX_TSO_COUNT = 1n << TSO_LOGICAL_BITS;
