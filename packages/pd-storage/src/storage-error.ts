import { PdError } from "@nokv/pd-core";

/**
 * The error every backend reports for a failed read or write: a PdError
 * passes through with its code (`NOT_LEADER` must stay a redirect); anything
 * else becomes `STORAGE` naming what failed, with the cause attached.
 */
export function storageError(what: string, cause: unknown): PdError {
  if (cause instanceof PdError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new PdError("STORAGE", `${what}: ${detail}`, { cause });
}
