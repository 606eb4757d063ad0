/**
 * What the TSO transport promises beyond moving bytes: a caller's deadline
 * stops only that caller, pending callers are bounded, and a timestamp at or
 * below one already handed out is refused.
 */
import { describe, expect, it } from "vitest";
import { createPdClient } from "../client.js";
import { waitUntil } from "@nokv/testkit";
import { useFakePds } from "../testing/fake-pd-fixture.js";
import { rejection } from "../testing/rejection.js";

const { fakePd, client, releases } = useFakePds();

describe("a caller's deadline", () => {
  for (const tsoStream of [true, false]) {
    it(`stops only that caller, not the others on the ${tsoStream ? "stream" : "unary transport"}`, async () => {
      const pd = await fakePd();
      const c = client(pd, { tsoStream, timeoutMs: 30_000 });
      await c.getTimestamp(); // the stream is open
      const release = pd.hold("tso");
      releases.push(release);
      const short = c.getTimestamp({ timeoutMs: 100 });
      const long = c.getTimestamp({ timeoutMs: 20_000 });
      expect((await rejection(short)).code).toBe("DEADLINE_EXCEEDED");
      release();
      expect(typeof (await long)).toBe("bigint");
      // One stream throughout: the short deadline did not reset it.
      if (tsoStream) expect(c.stats().tsoStreams).toBe(1);
    });
  }
});

describe("pending callers", () => {
  it("are bounded: beyond maxPendingRequests a call fails at once with RESOURCE_EXHAUSTED", async () => {
    const pd = await fakePd();
    const c = client(pd, { timeoutMs: 30_000, tsoBatching: { maxPendingRequests: 100 } });
    const release = pd.hold("tso");
    releases.push(release);
    const accepted = Array.from({ length: 100 }, () => c.getTimestamp());
    const refused = await rejection(c.getTimestamp());
    expect(refused).toMatchObject({ code: "RESOURCE_EXHAUSTED", retryable: true, method: "Tso" });
    expect(refused.message).toMatch(/100 timestamp requests are pending/);
    release();
    expect(new Set(await Promise.all(accepted)).size).toBe(100);
    // Room again once they are answered.
    expect(typeof (await c.getTimestamp())).toBe("bigint");
  });

  it("reject a non-integer or non-positive bound at construction", () => {
    for (const maxPendingRequests of [0, -1, 1.5, Number.NaN]) {
      expect(() => createPdClient({ addr: "a:1", tsoBatching: { maxPendingRequests } })).toThrow(/maxPendingRequests/);
    }
  });
});

describe("timestamps never go back", () => {
  for (const tsoStream of [true, false]) {
    it(`refuses a run at or below what was handed out, with TIMESTAMP_FALLBACK and a metric (${tsoStream ? "stream" : "unary"})`, async () => {
      const pd = await fakePd();
      pd.nextTs = 1000n;
      const c = client(pd, { tsoStream });
      expect(await c.getTimestamps(10n)).toEqual({ first: 1000n, count: 10n });
      // PD restarted from an older state.
      pd.nextTs = 1005n;
      const err = await rejection(c.getTimestamp());
      expect(err).toMatchObject({ code: "TIMESTAMP_FALLBACK", retryable: false, method: "Tso" });
      expect(err.message).toMatch(/1005.*1009/);
      expect(c.stats().tsoFallbacks).toBe(1);
      pd.nextTs = 1010n;
      expect(await c.getTimestamp()).toBe(1010n);
    });
  }
});
