/**
 * The client against a real grpc-js server on 127.0.0.1:0 (the fake PD of
 * ./testing/fake-pd.ts): real sockets, real encoding, scripted failures.
 */
import { status } from "@grpc/grpc-js";
import { MAX_UINT64, SchedulerOperationType } from "@nokv/pd-proto";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPdClient, type PdClient, type PdClientOptions } from "./client.js";
import { PdClientError } from "./errors.js";
import { unusedPort, waitUntil, wireRegion, type FakePd, startFakePd } from "@nokv/testkit";
import { rejection } from "./testing/rejection.js";
import { useFakePd } from "./testing/fake-pd-fixture.js";

const k = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));

const fixture = useFakePd();
const client = (options: Partial<PdClientOptions> = {}): PdClient => fixture.client(options);
const releases = fixture.releases;
let pd: FakePd;
beforeEach(() => {
  pd = fixture.pd;
});

function hold(p: FakePd, method: Parameters<FakePd["hold"]>[0]): void {
  releases.push(p.hold(method));
}

describe("construction", () => {
  it("throws INVALID_ARGUMENT for an empty address", () => {
    for (const options of [{ addr: "" }, { addr: " , " }, { endpoints: [] }, { endpoints: [""] }, {}]) {
      let caught: unknown;
      try {
        createPdClient(options);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(options)).toBeInstanceOf(PdClientError);
      expect((caught as PdClientError).code).toBe("INVALID_ARGUMENT");
      expect((caught as PdClientError).message).toMatch(/empty PD address/);
    }
  });

  it("merges addr and endpoints without duplicates", () => {
    const c = createPdClient({ addr: "a:1, b:2", endpoints: ["b:2", "c:3"] });
    fixture.track(c);
    expect(c.endpoints).toEqual(["a:1", "b:2", "c:3"]);
  });

  it("rejects nonsense options", () => {
    expect(() => createPdClient({ addr: "a:1", timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => createPdClient({ addr: "a:1", tsoBatching: { maxBatchSize: 2 ** 18 + 1 } })).toThrow(/maxBatchSize/);
    expect(() => createPdClient({ addr: "a:1", routeCache: { ttlMs: -1 } })).toThrow(/ttlMs/);
  });
});

describe("bigint end to end", () => {
  const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

  it("round-trips ids above 2^53 exactly through AllocID", async () => {
    const c = client();
    await fc.assert(
      fc.asyncProperty(u64, u64, async (first, rawCount) => {
        const count = rawCount === 0n ? 1n : rawCount > MAX_UINT64 - first + 1n ? MAX_UINT64 - first + 1n : rawCount;
        pd.nextId = first;
        const got = await c.allocId(count);
        expect(got).toEqual({ firstId: first, count });
        expect(pd.allocCounts.at(-1)).toBe(count);
      }),
      { numRuns: 100 },
    );
  });

  it("round-trips timestamps above 2^53 exactly through Tso", async () => {
    await fc.assert(
      fc.asyncProperty(u64, fc.bigInt({ min: 1n, max: 1000n }), async (raw, count) => {
        const first = raw > MAX_UINT64 - count + 1n ? MAX_UINT64 - count + 1n : raw;
        pd.nextTs = first;
        // A fresh client each run: one client refuses timestamps that go back.
        const c = createPdClient({ addr: pd.addr });
        try {
          expect(await c.getTimestamps(count)).toEqual({ first, count });
        } finally {
          c.close();
        }
      }),
      { numRuns: 100 },
    );
    const c = client();
    for (const v of [1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, MAX_UINT64]) {
      pd.nextTs = v;
      expect(await c.getTimestamp()).toBe(v);
    }
  });
});

describe("retries", () => {
  it("retries UNAVAILABLE and then succeeds", async () => {
    const c = client();
    pd.script("tso", { kind: "fail", status: status.UNAVAILABLE, pdCode: "UNAVAILABLE" }, 3);
    pd.nextTs = 42n;
    expect(await c.getTimestamp()).toBe(42n);
    expect(pd.calls.tso).toBe(4);
    expect(c.stats().retries).toBe(3);
    expect(c.stats().tsoRpcs).toBe(4);

    pd.regions.set(1n, wireRegion(1n, "a", "z"));
    pd.script("getRegionByKey", { kind: "fail", status: status.UNAVAILABLE }, 2);
    expect((await c.getRegionByKey(k("b")))?.id).toBe(1n);
    expect(pd.calls.getRegionByKey).toBe(3);
  });

  it("never retries INVALID_ARGUMENT, FAILED_PRECONDITION or OUT_OF_RANGE", async () => {
    const c = client();
    pd.script("allocId", { kind: "fail", status: status.INVALID_ARGUMENT, pdCode: "INVALID_ARGUMENT" }, 5);
    const bad = await rejection(c.allocId(3n));
    expect(bad).toMatchObject({ code: "INVALID_ARGUMENT", status: status.INVALID_ARGUMENT, retryable: false, method: "AllocID" });
    expect(pd.calls.allocId).toBe(1);

    pd.script("regionHeartbeat", { kind: "fail", status: status.FAILED_PRECONDITION, pdCode: "RANGE_OVERLAP" }, 5);
    const region = { id: 7n, startKey: k("a"), endKey: k("b"), epoch: { version: 1n, confVersion: 1n }, peers: [] };
    const stale = await rejection(c.regionHeartbeat(region));
    expect(stale).toMatchObject({ code: "RANGE_OVERLAP", status: status.FAILED_PRECONDITION, retryable: false });
    expect(pd.calls.regionHeartbeat).toBe(1);

    pd.script("tso", { kind: "fail", status: status.OUT_OF_RANGE, pdCode: "ALLOCATOR_EXHAUSTED" }, 5);
    const exhausted = await rejection(c.getTimestamp());
    expect(exhausted).toMatchObject({ code: "ALLOCATOR_EXHAUSTED", status: status.OUT_OF_RANGE, retryable: false });
    expect(pd.calls.tso).toBe(1);
  });

  it("gives up after maxAttempts with the last error", async () => {
    const c = client({ retry: { maxAttempts: 3, initialBackoffMs: 1 } });
    pd.script("storeHeartbeat", { kind: "fail", status: status.UNAVAILABLE, pdCode: "UNAVAILABLE" }, 10);
    const err = await rejection(c.storeHeartbeat({ storeId: 1n }));
    expect(err).toMatchObject({ code: "UNAVAILABLE", status: status.UNAVAILABLE, retryable: true });
    expect(err.message).toMatch(/gave up after 3 attempts/);
    expect(pd.calls.storeHeartbeat).toBe(3);
  });

  it("with retry: false makes one attempt", async () => {
    const c = client({ retry: false });
    pd.script("tso", { kind: "fail", status: status.UNAVAILABLE }, 1);
    expect((await rejection(c.getTimestamp())).retryable).toBe(true);
    expect(pd.calls.tso).toBe(1);
  });

  it("retries RemoveRegion only on NOT_LEADER", async () => {
    const c = client();
    pd.regions.set(5n, wireRegion(5n, "a", "b"));
    pd.script("removeRegion", { kind: "fail", status: status.UNAVAILABLE, pdCode: "UNAVAILABLE" }, 1);
    expect((await rejection(c.removeRegion(5n))).code).toBe("UNAVAILABLE");
    expect(pd.calls.removeRegion).toBe(1);
    pd.script("removeRegion", { kind: "fail", status: status.UNAVAILABLE, pdCode: "NOT_LEADER" }, 1);
    expect(await c.removeRegion(5n)).toBe(true);
    expect(pd.calls.removeRegion).toBe(3);
    expect(await c.removeRegion(5n)).toBe(false);
  });

  it("follows pd-leader-addr to the leader", async () => {
    const leader = await startFakePd();
    try {
      const c = client();
      pd.script("tso", {
        kind: "fail",
        status: status.UNAVAILABLE,
        pdCode: "NOT_LEADER",
        leaderAddr: leader.addr,
      });
      leader.nextTs = 900n;
      expect(await c.getTimestamp()).toBe(900n);
      expect(pd.calls.tso).toBe(1);
      expect(leader.calls.tso).toBe(1);
      expect(c.stats().leaderRedirects).toBe(1);
      expect(c.endpoints).toEqual([pd.addr, leader.addr]);
      // Later calls go straight to the leader.
      await c.getTimestamp();
      expect(pd.calls.tso).toBe(1);
      expect(leader.calls.tso).toBe(2);
    } finally {
      fixture.closeClients();
      await leader.close();
    }
  });
});

describe("deadlines, cancellation and reachability", () => {
  it("fails with a retryable DEADLINE_EXCEEDED naming the endpoint when PD does not answer", async () => {
    const c = client({ timeoutMs: 10_000 });
    hold(pd, "getRegionByKey");
    const started = performance.now();
    const err = await rejection(c.getRegionByKey(k("a"), { timeoutMs: 200 }));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(err).toMatchObject({ code: "DEADLINE_EXCEEDED", status: status.DEADLINE_EXCEEDED, retryable: true });
    expect(err.message).toContain("deadline of 200ms exceeded");
    expect(err.message).toContain(`no answer from ${pd.addr}`);
    expect(pd.calls.getRegionByKey).toBe(1);
  });

  it("aborts a call in flight on its AbortSignal", async () => {
    const c = client({ timeoutMs: 30_000 });
    hold(pd, "getRegionByKey");
    const ac = new AbortController();
    const p = c.getRegionByKey(k("a"), { signal: ac.signal });
    await waitUntil("the call to reach PD", () => pd.calls.getRegionByKey === 1, 5000);
    const reason = new Error("request cancelled by user");
    ac.abort(reason);
    const err = await rejection(p);
    expect(err).toMatchObject({ code: "CANCELLED", status: status.CANCELLED, retryable: false });
    expect(err.cause).toBe(reason);
  });

  it("aborts a batched getTimestamp without disturbing the others", async () => {
    const c = client({ timeoutMs: 30_000 });
    hold(pd, "tso");
    const ac = new AbortController();
    const mine = c.getTimestamp({ signal: ac.signal });
    const other = c.getTimestamp();
    await waitUntil("the batch to reach PD", () => pd.calls.tso === 1, 5000);
    ac.abort();
    expect((await rejection(mine)).code).toBe("CANCELLED");
    releases.splice(0).forEach((r) => r());
    expect(typeof (await other)).toBe("bigint");
  });

  it("does not send a call whose signal is already aborted", async () => {
    const c = client();
    const err = await rejection(c.allocId(1n, { signal: AbortSignal.abort() }));
    expect(err.code).toBe("CANCELLED");
    expect(pd.calls.allocId).toBe(0);
  });

  it("names the unreachable endpoints after the deadline", async () => {
    const dead = `127.0.0.1:${await unusedPort()}`;
    const c = createPdClient({ addr: dead, timeoutMs: 300 });
    fixture.track(c);
    const err = await rejection(c.getTimestamp());
    expect(err).toMatchObject({ code: "DEADLINE_EXCEEDED", retryable: true });
    expect(err.message).toContain("could not connect to PD");
    expect(err.message).toContain(dead);

    const connectErr = await rejection(c.connect({ timeoutMs: 200 }));
    expect(connectErr.code).toBe("DEADLINE_EXCEEDED");
    expect(connectErr.message).toContain(dead);
  });

  it("moves on to the next endpoint when one is unreachable", async () => {
    const dead = `127.0.0.1:${await unusedPort()}`;
    const c = client({ endpoints: [dead, pd.addr], addr: undefined, timeoutMs: 1000 });
    pd.nextTs = 77n;
    expect(await c.getTimestamp()).toBe(77n);
    await c.connect();
  });

  it("rejects calls in flight and later calls with CLOSED after close()", async () => {
    const c = client({ timeoutMs: 30_000 });
    hold(pd, "allocId");
    const p = c.allocId();
    await waitUntil("the call to reach PD", () => pd.calls.allocId === 1, 5000);
    c.close();
    expect((await rejection(p)).code).toBe("CLOSED");
    expect((await rejection(c.getTimestamp())).code).toBe("CLOSED");
    c.close();
  });
});

describe("route cache", () => {
  beforeEach(() => {
    pd.regions.set(1n, wireRegion(1n, "a", "m"));
    pd.regions.set(2n, wireRegion(2n, "m", ""));
  });

  it("serves repeated lookups from the cache", async () => {
    const c = client();
    const first = await c.getRegionByKey(k("b"));
    expect(first).toEqual({
      id: 1n,
      startKey: k("a"),
      endKey: k("m"),
      epoch: { version: 1n, confVersion: 1n },
      peers: [{ storeId: 1n, peerId: 10n }],
    });
    expect(await c.getRegionByKey(k("b"))).toBe(first);
    expect(await c.getRegionByKey(k("c"))).toBe(first);
    expect(pd.calls.getRegionByKey).toBe(1);
    expect(c.stats()).toMatchObject({ routeCacheHits: 2, routeCacheMisses: 1, regionRpcs: 1, routeCacheSize: 1 });
  });

  it("expires entries a TTL after their last read, on the injected clock", async () => {
    let now = 5_000;
    const c = client({ routeCache: { ttlMs: 1000, ttlJitterMs: 0 }, nowMs: () => now });
    await c.getRegionByKey(k("b"));
    now += 999;
    await c.getRegionByKey(k("b"));
    expect(pd.calls.getRegionByKey).toBe(1);
    now += 999; // 1998 ms after it was fetched, 999 after it was last read
    await c.getRegionByKey(k("b"));
    expect(pd.calls.getRegionByKey).toBe(1);
    now += 1000;
    await c.getRegionByKey(k("b"));
    expect(pd.calls.getRegionByKey).toBe(2);
  });

  it("drops entries on invalidateRegion / invalidateKey", async () => {
    const c = client();
    await c.getRegionByKey(k("b"));
    await c.getRegionByKey(k("x"));
    expect(c.invalidateRegion(1n)).toBe(true);
    expect(c.invalidateRegion(1n)).toBe(false);
    await c.getRegionByKey(k("b"));
    expect(pd.calls.getRegionByKey).toBe(3);
    expect(c.invalidateKey(k("y"))).toBe(true);
    await c.getRegionByKey(k("x"));
    expect(pd.calls.getRegionByKey).toBe(4);
    await c.getRegionByKey(k("x"));
    expect(pd.calls.getRegionByKey).toBe(4);
  });

  it("evicts the parent when a split child is fetched, so one key never has two regions", async () => {
    pd.regions.clear();
    pd.regions.set(1n, wireRegion(1n, "a", "z", [1n, 1n]));
    const c = client();
    expect((await c.getRegionByKey(k("n")))?.id).toBe(1n);
    // PD learns of the split: 1 -> [a, m) and 3 -> [m, z), both at version 2.
    pd.regions.set(1n, wireRegion(1n, "a", "m", [2n, 1n]));
    pd.regions.set(3n, wireRegion(3n, "m", "z", [2n, 1n]));
    // The store said "stale epoch" for key n: refresh it past the cache.
    expect((await c.getRegionByKey(k("n"), { bypassCache: true }))?.id).toBe(3n);
    expect(c.stats().routeCacheEvictions).toBe(1);
    expect((await c.getRegionByKey(k("b")))?.epoch.version).toBe(2n);
    expect(pd.calls.getRegionByKey).toBe(3);
    expect((await c.getRegionByKey(k("c")))?.id).toBe(1n);
    expect((await c.getRegionByKey(k("p")))?.id).toBe(3n);
    expect(pd.calls.getRegionByKey).toBe(3);
    expect(c.stats().routeCacheSize).toBe(2);
  });

  it("bypasses the cache on request", async () => {
    const c = client();
    await c.getRegionByKey(k("b"));
    await c.getRegionByKey(k("b"), { bypassCache: true });
    expect(pd.calls.getRegionByKey).toBe(2);
    expect(c.stats().routeCacheHits).toBe(0);
  });

  it("returns undefined for not_found, does not cache it, and drops a cached region PD no longer has", async () => {
    pd.regions.delete(2n);
    const c = client();
    expect(await c.getRegionByKey(k("x"))).toBeUndefined();
    expect(await c.getRegionByKey(k("x"))).toBeUndefined();
    expect(pd.calls.getRegionByKey).toBe(2);
    await c.getRegionByKey(k("b"));
    pd.regions.clear();
    expect(await c.getRegionByKey(k("b"), { bypassCache: true })).toBeUndefined();
    expect(await c.getRegionByKey(k("b"))).toBeUndefined();
    expect(pd.calls.getRegionByKey).toBe(5);
  });

  it("can be turned off", async () => {
    const c = client({ routeCache: false });
    await c.getRegionByKey(k("b"));
    await c.getRegionByKey(k("b"));
    expect(pd.calls.getRegionByKey).toBe(2);
  });

  it("drops a removed region from the cache", async () => {
    const c = client();
    await c.getRegionByKey(k("b"));
    expect(await c.removeRegion(1n)).toBe(true);
    expect(await c.getRegionByKey(k("b"))).toBeUndefined();
    expect(pd.calls.getRegionByKey).toBe(2);
  });
});

describe("timestamp batching", () => {
  it("coalesces 2000 concurrent getTimestamp() calls into one Tso RPC with unique, increasing values", async () => {
    const c = client();
    pd.nextTs = 2n ** 60n;
    const got = await Promise.all(Array.from({ length: 2000 }, () => c.getTimestamp()));
    expect(new Set(got).size).toBe(2000);
    for (let i = 1; i < got.length; i++) expect(got[i]! > got[i - 1]!).toBe(true);
    expect(c.stats()).toMatchObject({ tsoRequests: 2000, tsoRpcs: 1 });
    expect(pd.calls.tso).toBe(1);
    expect(pd.tsoCounts).toEqual([2000n]);
  });

  it("splits demand above maxBatchSize into several RPCs", async () => {
    const c = client({ tsoBatching: { maxBatchSize: 100 } });
    const got = await Promise.all(Array.from({ length: 1000 }, () => c.getTimestamp()));
    expect(new Set(got).size).toBe(1000);
    expect(pd.calls.tso).toBe(10);
    expect(pd.tsoCounts.every((n) => n === 100n)).toBe(true);
  });

  it("hands each getTimestamps caller its own run, disjoint from the others", async () => {
    const c = client();
    const [a, b, one] = await Promise.all([c.getTimestamps(5n), c.getTimestamps(3n), c.getTimestamp()]);
    const all = [a, b].flatMap((r) => Array.from({ length: Number(r.count) }, (_, i) => r.first + BigInt(i)));
    all.push(one);
    expect(new Set(all).size).toBe(9);
    expect(pd.calls.tso).toBe(1);
  });

  it("caps one call at 2^18 timestamps and sends larger total demand as several RPCs", async () => {
    const c = client();
    expect((await rejection(c.getTimestamps(2n ** 18n + 1n))).code).toBe("INVALID_ARGUMENT");
    expect(pd.calls.tso).toBe(0);
    const [x, y] = await Promise.all([c.getTimestamps(200_000n), c.getTimestamps(200_000n)]);
    expect(pd.tsoCounts).toEqual([200_000n, 200_000n]);
    expect(x.first === y.first).toBe(false);
  });

  it("with batching off sends one RPC per call", async () => {
    const c = client({ tsoBatching: false });
    const got = await Promise.all(Array.from({ length: 50 }, () => c.getTimestamp()));
    expect(new Set(got).size).toBe(50);
    expect(pd.calls.tso).toBe(50);
    expect(c.stats()).toMatchObject({ tsoRequests: 50, tsoRpcs: 50 });
  });

  it("rejects every waiter of a batch that fails for good", async () => {
    const c = client();
    pd.script("tso", { kind: "fail", status: status.INTERNAL, pdCode: "STORAGE" }, 1);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => c.getTimestamp()));
    expect(results.every((r) => r.status === "rejected" && (r.reason as PdClientError).code === "STORAGE")).toBe(true);
    expect(pd.calls.tso).toBe(1);
  });
});

describe("heartbeats", () => {
  it("sends store stats and returns PD's operations as domain objects", async () => {
    const c = client();
    pd.operations = [
      { type: SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER, regionId: 2n ** 60n, sourcePeerId: 2n, targetPeerId: 3n },
      { type: 9 as SchedulerOperationType, regionId: 1n, sourcePeerId: 1n, targetPeerId: 1n },
    ];
    const stats = { storeId: 2n ** 63n, regionNum: 4n, leaderNum: 2n, capacity: 2n ** 40n, available: 2n ** 39n };
    const res = await c.storeHeartbeat(stats);
    expect(pd.storeHeartbeats).toEqual([stats]);
    expect(res).toEqual({
      accepted: true,
      operations: [
        { kind: "leader-transfer", regionId: 2n ** 60n, sourcePeerId: 2n, targetPeerId: 3n },
        { kind: "unknown", regionId: 1n, sourcePeerId: 1n, targetPeerId: 1n },
      ],
    });
  });

  it("sends region heartbeats with keys, epoch and peers intact", async () => {
    const c = client();
    const region = {
      id: 9n,
      startKey: Uint8Array.of(0, 255),
      endKey: new Uint8Array(0),
      epoch: { version: 2n ** 53n + 1n, confVersion: 3n },
      peers: [{ storeId: 1n, peerId: 91n }, { storeId: 2n, peerId: 92n }],
    };
    expect(await c.regionHeartbeat(region)).toBe(true);
    const got = pd.regionHeartbeats[0]!;
    expect(Buffer.from(got.startKey)).toEqual(Buffer.of(0, 255));
    expect(got.endKey.length).toBe(0);
    expect([got.epochVersion, got.epochConfVersion]).toEqual([2n ** 53n + 1n, 3n]);
    expect(got.peers).toEqual(region.peers);
  });

  it("rejects a bad argument before any RPC", async () => {
    const c = client();
    expect((await rejection(c.storeHeartbeat({ storeId: -1n }))).code).toBe("INVALID_ARGUMENT");
    expect((await rejection(c.allocId(2n ** 64n))).code).toBe("INVALID_ARGUMENT");
    expect(pd.calls.storeHeartbeat + pd.calls.allocId).toBe(0);
  });
});
