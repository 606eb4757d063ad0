import { performance } from "node:perf_hooks";

/** What {@link waitUntil} returns: the condition's value once it is not "not yet". */
export type Ready<T> = Exclude<T, undefined | null | false>;

/**
 * Polls `condition` every `intervalMs` (default 5) until it returns a value
 * other than `undefined`, `null` or `false` ("not yet"), and returns that
 * value (so `0` and `""` are answers, and `true` is the usual one). `options`
 * may be the deadline in ms alone (default 10 000), measured on the
 * monotonic clock. Tests wait for a condition with this, never for a fixed
 * time.
 *
 * @throws Error naming `what` when the deadline passes first.
 */
export async function waitUntil<T>(
  what: string,
  condition: () => T | Promise<T>,
  options: number | { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Ready<T>> {
  const { timeoutMs = 10_000, intervalMs = 5 } = typeof options === "number" ? { timeoutMs: options } : options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== null && value !== false) return value as Ready<T>;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs));
  }
}
