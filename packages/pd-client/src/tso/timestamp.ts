/**
 * The TSO bit layout (`physical_ms << 18 | logical`), from `@nokv/pd-model`:
 * re-exported so that gateways need only `@nokv/pd-client`.
 */
export { TSO_LOGICAL_BITS, decodeTimestamp } from "@nokv/pd-model";
