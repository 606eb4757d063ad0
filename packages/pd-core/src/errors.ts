import type { PdErrorCode } from "@nokv/pd-model";

export { PD_ERROR_CODES } from "@nokv/pd-model";
export type { PdErrorCode } from "@nokv/pd-model";

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
