/**
 * What went wrong, as a stable string that callers can switch on instead of
 * matching message text.
 *
 * - `READ_FAILED`: the config file could not be read (missing, unreadable).
 * - `MALFORMED_JSON`: the file is not valid JSON.
 * - `SCHEMA`: a field has the wrong JSON type, or an id is not an unsigned
 *   64-bit integer.
 * - `INVALID_CONFIG`: the file parses but breaks a rule NoKV's Go
 *   `nokv-config` enforces (a zero or duplicate store id, a zero region or
 *   peer id, a peer or leader on an unknown store, a template without
 *   `{id}`), or a warning of a section the caller reads strictly.
 * - `INVALID_ARGUMENT`: a caller passed a bad argument (unknown scope, CLI
 *   flag value).
 * - `NOT_FOUND`: the requested entity or value is not in the config (unknown
 *   store id, missing `pd` block, no address for a scope).
 */
export type ConfigErrorCode =
  | "READ_FAILED"
  | "MALFORMED_JSON"
  | "SCHEMA"
  | "INVALID_CONFIG"
  | "INVALID_ARGUMENT"
  | "NOT_FOUND";

/**
 * The one error class thrown by this package.
 *
 * `message` is a single lowercase line naming the entity, prefixed `config:`
 * for problems with the file, e.g. `config: region 2: peer 5 references
 * unknown store 9`. `cause` carries the underlying error (I/O, JSON syntax)
 * when there is one.
 */
export class ConfigError extends Error {
  /** Stable machine-readable reason; see {@link ConfigErrorCode}. */
  readonly code: ConfigErrorCode;

  /**
   * @param code - the stable reason.
   * @param message - one line naming the entity at fault.
   * @param options - optional `cause`.
   */
  constructor(code: ConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConfigError";
    this.code = code;
  }
}
