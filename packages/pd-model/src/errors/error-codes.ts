/**
 * The stable error codes of PD's wire contract. The server sends the code of
 * every failed call in the `pd-error-code` trailer (and the status below);
 * clients match on it, never on message text. One list, read by the server's
 * encoder and the client's decoder alike: a code added here is known to both.
 *
 * - `INVALID_ARGUMENT`: the request is malformed; nothing changed.
 * - `STALE_EPOCH`: a region heartbeat's epoch went backwards; nothing changed.
 * - `RANGE_OVERLAP`: a region heartbeat overlaps a region that is not older; nothing changed.
 * - `ALLOCATOR_EXHAUSTED`: an id or timestamp run would pass 2^64 - 1.
 * - `STORAGE`: a durable write or read failed; nothing was applied.
 * - `NOT_LEADER`: this PD is not the leader (the leader's address rides in `pd-leader-addr`).
 * - `UNAVAILABLE`: this PD is stopping or not ready.
 * - `PERMISSION_DENIED`: the client certificate's CN is not allowed (`--cert-allowed-cn`).
 * - `INTERNAL`: a PD bug; the message is generic, the cause is in PD's log.
 */
export const PD_ERROR_CODES = [
  "INVALID_ARGUMENT",
  "STALE_EPOCH",
  "RANGE_OVERLAP",
  "ALLOCATOR_EXHAUSTED",
  "STORAGE",
  "NOT_LEADER",
  "UNAVAILABLE",
  "PERMISSION_DENIED",
  "INTERNAL",
] as const;

/** One of {@link PD_ERROR_CODES}. */
export type PdErrorCode = (typeof PD_ERROR_CODES)[number];

const KNOWN: ReadonlySet<string> = new Set(PD_ERROR_CODES);

/** True when `value` is one of {@link PD_ERROR_CODES}. */
export function isPdErrorCode(value: unknown): value is PdErrorCode {
  return typeof value === "string" && KNOWN.has(value);
}

/** Trailing-metadata key that carries the {@link PdErrorCode} of a failed call. */
export const PD_ERROR_CODE_TRAILER = "pd-error-code";

/** Trailing-metadata key that names the leader (`host:port`) on a `NOT_LEADER` failure. */
export const PD_LEADER_ADDR_TRAILER = "pd-leader-addr";

/**
 * The gRPC status names (as in the gRPC spec and grpc-js's `status` enum)
 * that PD's codes travel with.
 */
export type GrpcStatusName =
  | "OK"
  | "CANCELLED"
  | "UNKNOWN"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "OUT_OF_RANGE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DATA_LOSS"
  | "UNAUTHENTICATED";

/** The gRPC status each PD code is sent with. Exhaustive: a new code fails to compile until mapped. */
export function grpcStatusNameOf(code: PdErrorCode): GrpcStatusName {
  switch (code) {
    case "INVALID_ARGUMENT":
      return "INVALID_ARGUMENT";
    case "STALE_EPOCH":
    case "RANGE_OVERLAP":
      return "FAILED_PRECONDITION";
    case "ALLOCATOR_EXHAUSTED":
      return "OUT_OF_RANGE";
    case "STORAGE":
    case "INTERNAL":
      return "INTERNAL";
    case "NOT_LEADER":
    case "UNAVAILABLE":
      return "UNAVAILABLE";
    case "PERMISSION_DENIED":
      return "PERMISSION_DENIED";
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}
