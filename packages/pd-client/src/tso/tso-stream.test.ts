/**
 * Timestamps over `TsoStream` against the fake PD (a real grpc-js server):
 * uniqueness and per-caller order under concurrency, fallback to unary `Tso`
 * against a PD without the stream, and streams broken mid-way.
 */
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { PdClient } from "../client.js";
import { waitUntil } from "@nokv/testkit";
import { useFakePds } from "../testing/fake-pd-fixture.js";
import { rejection } from "../testing/rejection.js";

const { fakePd, client, releases } = useFakePds();

/**
 * `callers` concurrent callers making `calls` sequential calls each (every
 * fourth one a run of 3); `between` runs after each call. Returns each
 * caller's values in the order received.
 */
async function hammer(c: PdClient, callers: number, calls: number, between?: () => void): Promise<bigint[][]> {
  return Promise.all(
    Array.from({ length: callers }, async () => {
      const mine: bigint[] = [];
      for (let i = 0; i < calls; i++) {
        if (i % 4 === 3) {
          const { first, count } = await c.getTimestamps(3n);
          for (let k = 0n; k < count; k++) mine.push(first + k);
        } else {
          mine.push(await c.getTimestamp());
        }
        between?.();
      }
      return mine;
    }),
  );
}

/** Every value unique across callers; each caller's values strictly increasing. */
function expectUniqueAndIncreasing(perCaller: bigint[][]): void {
  const all = new Set<bigint>();
  let total = 0;
  for (const mine of perCaller) {
    for (let i = 1; i < mine.length; i++) {
      if (!(mine[i]! > mine[i - 1]!)) throw new Error(`a caller's timestamps went from ${mine[i - 1]} to ${mine[i]}`);
    }
    for (const ts of mine) all.add(ts);
    total += mine.length;
  }
  expect(all.size).toBe(total);
}

describe("TsoStream transport", () => {
  it("sends every batch of many concurrent callers on one stream; values unique, increasing per caller", async () => {
    const pd = await fakePd();
    pd.nextTs = 2n ** 62n;
    const c = client(pd);
    const perCaller = await hammer(c, 300, 12);
    expectUniqueAndIncreasing(perCaller);
    const stats = c.stats();
    expect(stats.tsoRequests).toBe(300 * 12);
    expect(stats.tsoStreams).toBe(1);
    expect(stats.tsoUnaryRpcs).toBe(0);
    expect(stats.tsoStreamRequests).toBe(pd.tsoStreamRequests);
    expect(stats.tsoRpcs).toBe(stats.tsoStreamRequests);
    // Batched: far fewer requests than calls.
    expect(stats.tsoStreamRequests).toBeLessThan(300 * 12 / 10);
    expect(pd.tsoStreamsOpened).toBe(1);
    expect(stats.retries).toBe(0);
  });

  it("falls back to unary Tso against a PD without TsoStream and remembers it", async () => {
    const pd = await fakePd({ tsoStream: false });
    pd.nextTs = 500n;
    const c = client(pd);
    expect(await c.getTimestamp()).toBe(500n);
    expect(c.stats()).toMatchObject({ tsoStreams: 1, tsoStreamRequests: 1, tsoUnaryRpcs: 1, retries: 0 });
    const got = await Promise.all(Array.from({ length: 100 }, () => c.getTimestamp()));
    expect(new Set(got).size).toBe(100);
    // No second stream attempt: the endpoint is known to lack it.
    expect(c.stats()).toMatchObject({ tsoStreams: 1, tsoStreamRequests: 1, tsoUnaryRpcs: 2 });
    expect(pd.calls.tso).toBe(2);
    expect(pd.tsoStreamRequests).toBe(0);
  });

  it("uses unary Tso only with tsoStream: false", async () => {
    const pd = await fakePd();
    const c = client(pd, { tsoStream: false });
    await Promise.all(Array.from({ length: 10 }, () => c.getTimestamp()));
    expect(c.stats()).toMatchObject({ tsoStreams: 0, tsoStreamRequests: 0, tsoUnaryRpcs: 1, tsoRpcs: 1 });
    expect(pd.tsoStreamsOpened).toBe(0);
  });

  it("retries the callers of a stream broken mid-way on a new stream", async () => {
    const pd = await fakePd();
    const c = client(pd);
    await c.getTimestamp();
    releases.push(pd.hold("tso"));
    const inFlight = Promise.all(Array.from({ length: 50 }, () => c.getTimestamp()));
    await waitUntil("the batch to reach PD", () => pd.calls.tso === 2, 5000);
    pd.breakTsoStreams(status.UNAVAILABLE);
    releases.splice(0).forEach((r) => r());
    const got = await inFlight;
    expect(new Set(got).size).toBe(50);
    const stats = c.stats();
    expect(stats.tsoStreams).toBe(2);
    expect(stats.retries).toBe(1);
    expect(pd.tsoStreamsOpened).toBe(2);
  });

  it("keeps values unique and per-caller increasing while streams keep breaking", async () => {
    const pd = await fakePd();
    const c = client(pd, { timeoutMs: 10_000 });
    let done = 0;
    const perCaller = await hammer(c, 100, 40, () => {
      done += 1;
      if (done % 500 === 0) pd.breakTsoStreams(status.UNAVAILABLE);
    });
    expectUniqueAndIncreasing(perCaller);
    expect(c.stats().tsoStreams).toBeGreaterThan(1);
  });

  it("without retries fails the in-flight callers with a retryable error, then re-opens the stream", async () => {
    const pd = await fakePd();
    const c = client(pd, { retry: false });
    await c.getTimestamp();
    releases.push(pd.hold("tso"));
    const inFlight = Array.from({ length: 5 }, () => c.getTimestamp());
    await waitUntil("the batch to reach PD", () => pd.calls.tso === 2, 5000);
    pd.breakTsoStreams(status.UNAVAILABLE);
    for (const p of inFlight) {
      expect(await rejection(p)).toMatchObject({ code: "UNAVAILABLE", retryable: true, method: "Tso" });
    }
    releases.splice(0).forEach((r) => r());
    expect(typeof (await c.getTimestamp())).toBe("bigint");
    expect(c.stats().tsoStreams).toBe(2);
  });

  it("fails a request PD does not answer with DEADLINE_EXCEEDED, and the stream lives on", async () => {
    const pd = await fakePd();
    pd.nextTs = 100n;
    const c = client(pd, { timeoutMs: 10_000 });
    releases.push(pd.hold("tso"));
    const started = performance.now();
    const err = await rejection(c.getTimestamp({ timeoutMs: 300 }));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(err).toMatchObject({ code: "DEADLINE_EXCEEDED", retryable: true });
    releases.splice(0).forEach((r) => r());
    // The late answer (100) is consumed and dropped; the next request gets its own on the same stream.
    expect(await c.getTimestamp()).toBe(101n);
    expect(c.stats().tsoStreams).toBe(1);
  });

  it("does not mix answers of an old stream into a new one after an abort", async () => {
    const pd = await fakePd();
    pd.nextTs = 10n;
    const c = client(pd, { tsoBatching: false });
    releases.push(pd.hold("tso"));
    const ac = new AbortController();
    const aborted = c.getTimestamp({ signal: ac.signal });
    const other = c.getTimestamp();
    await waitUntil("both requests to reach PD", () => pd.calls.tso === 2, 5000);
    ac.abort();
    expect((await rejection(aborted)).code).toBe("CANCELLED");
    releases.splice(0).forEach((r) => r());
    // The aborted request's answer (10) is consumed and dropped; the other gets its own.
    expect(await other).toBe(11n);
    expect(await c.getTimestamp()).toBe(12n);
  });

  it("follows NOT_LEADER on the stream to the leader's stream", async () => {
    const pd = await fakePd();
    const leader = await fakePd();
    leader.nextTs = 7000n;
    const c = client(pd);
    pd.script("tso", { kind: "fail", status: status.UNAVAILABLE, pdCode: "NOT_LEADER", leaderAddr: leader.addr });
    expect(await c.getTimestamp()).toBe(7000n);
    expect(c.stats()).toMatchObject({ leaderRedirects: 1, tsoStreams: 2 });
    expect(leader.tsoStreamsOpened).toBe(1);
    expect(await c.getTimestamp()).toBe(7001n);
    expect(pd.calls.tso).toBe(1);
  });

  it("half-closes an idle stream", async () => {
    const pd = await fakePd();
    const c = client(pd);
    await c.getTimestamp();
    expect(pd.openTsoStreams).toBe(1);
    await waitUntil("the idle stream to end", () => pd.openTsoStreams === 0, 5000);
    await c.getTimestamp();
    expect(c.stats().tsoStreams).toBe(2);
  });

  it("rejects requests in flight on the stream with CLOSED on close()", async () => {
    const pd = await fakePd();
    const c = client(pd, { timeoutMs: 30_000 });
    releases.push(pd.hold("tso"));
    const p = c.getTimestamp();
    await waitUntil("the request to reach PD", () => pd.calls.tso === 1, 5000);
    c.close();
    expect((await rejection(p)).code).toBe("CLOSED");
  });
});
