import { invalidArgument } from "../errors.js";

/**
 * The largest `timeoutMs` the client accepts: 2^31 - 1 ms (about 24.8 days).
 * Node's timers hold no more — a longer `setTimeout` fires after 1 ms — and
 * grpc-js throws "Deadline is too far in the future" near 2^53, so a larger
 * value is refused with `INVALID_ARGUMENT` rather than silently shortened.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Checks a timeout in ms: a finite number in `(0, MAX_TIMEOUT_MS]`.
 *
 * @throws PdClientError `INVALID_ARGUMENT` otherwise.
 */
export function checkTimeoutMs(value: unknown, name = "timeoutMs"): number {
  if (typeof value !== "number" || !(value > 0) || !(value <= MAX_TIMEOUT_MS)) {
    throw invalidArgument(`${name} must be a number of ms in (0, ${MAX_TIMEOUT_MS}] (2^31 - 1, the most a Node timer holds), got ${String(value)}`);
  }
  return value;
}

/** The monotonic clock deadlines are kept on (ms): wall-clock steps cannot stretch or cut a call. */
export const monotonicNowMs = (): number => performance.now();

/**
 * The deadline of one call: its budget, the monotonic instant it ends, and
 * the caller's signal. Immutable; shared by every attempt of the call.
 */
export class Deadline {
  constructor(
    /** The budget it was made from, in ms (for messages). */
    readonly timeoutMs: number,
    /** When it passes, on {@link monotonicNowMs}. */
    readonly atMs: number,
    /** The caller's signal, if any. */
    readonly signal: AbortSignal | undefined,
  ) {}

  /** A deadline `timeoutMs` from now (the value must have been checked). */
  static after(timeoutMs: number, signal?: AbortSignal): Deadline {
    return new Deadline(timeoutMs, monotonicNowMs() + timeoutMs, signal);
  }

  /** Ms left, never negative. */
  remainingMs(now: number = monotonicNowMs()): number {
    return Math.max(0, this.atMs - now);
  }

  get expired(): boolean {
    return monotonicNowMs() >= this.atMs;
  }

  /**
   * The grpc-js deadline (an epoch-ms `Date`) of an attempt ending at the
   * earlier of this deadline and `now + capMs`. grpc-js wants wall-clock
   * time; the remaining budget is measured on the monotonic clock.
   */
  grpcDeadline(capMs = Infinity): Date {
    return new Date(Date.now() + Math.min(this.remainingMs(), capMs));
  }
}
