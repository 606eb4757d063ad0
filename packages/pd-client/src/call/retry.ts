import { invalidArgument } from "../errors.js";

/**
 * Retry policy of a client: bounded exponential backoff with jitter. The
 * call's overall deadline (`timeoutMs`) bounds the whole sequence as well.
 */
export interface RetryOptions {
  /** Attempts per call, the first included. Default 8; 1 disables retries. */
  readonly maxAttempts?: number;
  /** Backoff before the second attempt, in ms. Default 20. */
  readonly initialBackoffMs?: number;
  /** Cap of one backoff, in ms. Default 1000. */
  readonly maxBackoffMs?: number;
  /** Growth factor between backoffs. Default 2. */
  readonly multiplier?: number;
  /**
   * Jitter as a fraction in `[0, 1]`: each backoff is scaled by a uniform
   * factor in `[1 - jitter, 1 + jitter]` (then capped). Default 0.2.
   */
  readonly jitter?: number;
}

/** A {@link RetryOptions} with every field resolved. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
  readonly jitter: number;
}

/** The policy used when a client is given no `retry` option. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  initialBackoffMs: 20,
  maxBackoffMs: 1000,
  multiplier: 2,
  jitter: 0.2,
};

/** The policy of `retry: false`: one attempt. */
export const NO_RETRY_POLICY: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 };

function finiteAtLeast(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) throw invalidArgument(`retry.${name} must be a finite number >= ${min}`);
  return value;
}

/** Resolves and checks user retry options; throws `INVALID_ARGUMENT` on nonsense. */
export function resolveRetryPolicy(options: RetryOptions | false | undefined): RetryPolicy {
  if (options === false) return NO_RETRY_POLICY;
  if (options === undefined) return DEFAULT_RETRY_POLICY;
  const p = { ...DEFAULT_RETRY_POLICY, ...options };
  const maxAttempts = finiteAtLeast("maxAttempts", p.maxAttempts, 1);
  if (!Number.isInteger(maxAttempts)) throw invalidArgument("retry.maxAttempts must be an integer");
  const jitter = finiteAtLeast("jitter", p.jitter, 0);
  if (jitter > 1) throw invalidArgument("retry.jitter must be at most 1");
  return {
    maxAttempts,
    initialBackoffMs: finiteAtLeast("initialBackoffMs", p.initialBackoffMs, 0),
    maxBackoffMs: finiteAtLeast("maxBackoffMs", p.maxBackoffMs, 0),
    multiplier: finiteAtLeast("multiplier", p.multiplier, 1),
    jitter,
  };
}

/**
 * Backoff before attempt `attempt + 1`, where `attempt >= 1` is the number of
 * attempts already made: `initial * multiplier^(attempt-1)`, jittered, then
 * capped at `maxBackoffMs`. `random` returns a value in `[0, 1)`.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** (attempt - 1));
  const factor = 1 + policy.jitter * (2 * random() - 1);
  return Math.min(policy.maxBackoffMs, Math.max(0, base * factor));
}

/**
 * Resolves after `ms`, or as soon as one of `signals` aborts (then resolves
 * too: the caller re-checks the signals and raises the right error).
 */
export function sleep(ms: number, signals: readonly (AbortSignal | undefined)[]): Promise<void> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      for (const s of signals) s?.removeEventListener("abort", done);
      resolve();
    };
    for (const s of signals) {
      if (s?.aborted) {
        resolve();
        return;
      }
    }
    timer = setTimeout(done, ms);
    for (const s of signals) s?.addEventListener("abort", done, { once: true });
  });
}
