/** Bits of the logical counter in a PD timestamp (`physical_ms << 18 | logical`). */
export const TSO_LOGICAL_BITS = 18n;

/**
 * Splits a PD timestamp into its physical part (Unix time in milliseconds)
 * and its logical counter: `ts = physicalMs << 18 | logical`.
 */
export function decodeTimestamp(ts: bigint): { readonly physicalMs: bigint; readonly logical: bigint } {
  return { physicalMs: ts >> TSO_LOGICAL_BITS, logical: ts & ((1n << TSO_LOGICAL_BITS) - 1n) };
}
