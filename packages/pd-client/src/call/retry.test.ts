import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PdClientError } from "../errors.js";
import { DEFAULT_RETRY_POLICY, backoffMs, resolveRetryPolicy, sleep } from "./retry.js";

describe("backoff", () => {
  it("grows exponentially and stays within jitter bounds and the cap", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const p = DEFAULT_RETRY_POLICY;
        const base = Math.min(p.maxBackoffMs, p.initialBackoffMs * p.multiplier ** (attempt - 1));
        const got = backoffMs(p, attempt, () => r);
        expect(got).toBeGreaterThanOrEqual(base * (1 - p.jitter) - 1e-9);
        expect(got).toBeLessThanOrEqual(Math.min(p.maxBackoffMs, base * (1 + p.jitter)) + 1e-9);
      }),
    );
    expect(backoffMs(DEFAULT_RETRY_POLICY, 1, () => 0.5)).toBe(20);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 2, () => 0.5)).toBe(40);
    expect(backoffMs(DEFAULT_RETRY_POLICY, 30, () => 0.999)).toBe(1000);
  });

  it("resolves options and rejects nonsense", () => {
    expect(resolveRetryPolicy(false).maxAttempts).toBe(1);
    expect(resolveRetryPolicy({ maxAttempts: 3 })).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 3 });
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(PdClientError);
    expect(() => resolveRetryPolicy({ jitter: 2 })).toThrow(/jitter/);
    expect(() => resolveRetryPolicy({ initialBackoffMs: Number.NaN })).toThrow(/initialBackoffMs/);
  });

  it("sleep ends early when a signal aborts", async () => {
    const ac = new AbortController();
    const started = performance.now();
    const p = sleep(60_000, [undefined, ac.signal]);
    ac.abort();
    await p;
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
