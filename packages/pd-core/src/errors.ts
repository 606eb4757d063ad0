/**
 * Stable error codes of the PD domain. pd-server maps each to a gRPC status
 * and sends the code itself in trailing metadata, so clients never match on
 * message text.
 *
 * - `INVALID_ARGUMENT`: the request is malformed; nothing changed.
 * - `STALE_EPOCH`: a region heartbeat's epoch went backwards against the
 *   stored region with the same id; nothing changed.
 * - `RANGE_OVERLAP`: a region heartbeat overlaps a region whose version is
 *   greater than or equal to its own; nothing changed.
 * - `ALLOCATOR_EXHAUSTED`: an id or timestamp run would pass 2^64 - 1.
 * - `STORAGE`: a durable write or read failed; nothing was applied.
 * - `NOT_LEADER`: this PD is not the leader and cannot serve the request.
 * - `UNAVAILABLE`: this PD is stopping or not ready.
 */
export type PdErrorCode =
  | "INVALID_ARGUMENT"
  | "STALE_EPOCH"
  | "RANGE_OVERLAP"
  | "ALLOCATOR_EXHAUSTED"
  | "STORAGE"
  | "NOT_LEADER"
  | "UNAVAILABLE";

/** Every code, for exhaustive tests and metadata validation. */
export const PD_ERROR_CODES: readonly PdErrorCode[] = [
  "INVALID_ARGUMENT",
  "STALE_EPOCH",
  "RANGE_OVERLAP",
  "ALLOCATOR_EXHAUSTED",
  "STORAGE",
  "NOT_LEADER",
  "UNAVAILABLE",
];

/**
 * The one error class of the PD domain. `message` is lowercase and names the
 * entity (`region 7: stale epoch {v:1 c:2} < {v:2 c:2}`); `cause` carries the
 * underlying error where there is one.
 */
export class PdError extends Error {
  override readonly name = "PdError";
  readonly code: PdErrorCode;
  /** With `NOT_LEADER`: the address of the current leader, when one is known. */
  readonly leaderAddr: string | undefined;

  constructor(code: PdErrorCode, message: string, options?: { cause?: unknown; leaderAddr?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.leaderAddr = options?.leaderAddr;
  }
}

/** True when `err` is a {@link PdError}, optionally with the given code. */
export function isPdError(err: unknown, code?: PdErrorCode): err is PdError {
  return err instanceof PdError && (code === undefined || err.code === code);
}
