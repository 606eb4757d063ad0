/**
 * The route cache as a gateway meets it, against the fake PD: one RPC for
 * many concurrent lookups of a key, invalidations that touch only their own
 * range, a sliding TTL, feedback from stores, and the cached range helpers.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPdClient, type PdClient, type PdClientOptions } from "../client.js";
import type { Region } from "../types.js";
import { waitUntil, wireRegion, type FakePd } from "@nokv/testkit";
import { useFakePd } from "../testing/fake-pd-fixture.js";

const k = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));
const text = (b: Uint8Array): string => Buffer.from(b).toString("latin1");

const fixture = useFakePd((pd) => {
  pd.regions.set(1n, wireRegion(1n, "", "g"));
  pd.regions.set(2n, wireRegion(2n, "g", "m", [1n, 1n], [[1n, 20n], [2n, 21n], [3n, 22n]]));
  pd.regions.set(3n, wireRegion(3n, "m", "t"));
  pd.regions.set(4n, wireRegion(4n, "t", ""));
});
const client = (options: Partial<PdClientOptions> = {}): PdClient => fixture.client(options);
const releases = fixture.releases;
let pd: FakePd;
beforeEach(() => {
  pd = fixture.pd;
});

function region(id: bigint, start: string, end: string, version = 1n, peers: Region["peers"] = [{ storeId: 1n, peerId: id * 10n }]): Region {
  return { id, startKey: k(start), endKey: k(end), epoch: { version, confVersion: 1n }, peers };
}

describe("single-flight lookups", () => {
  it("sends one RPC for 1000 concurrent cold lookups of one key", async () => {
    const c = client();
    const got = await Promise.all(Array.from({ length: 1000 }, () => c.getRegionByKey(k("h"))));
    expect(got.every((r) => r?.id === 2n)).toBe(true);
    console.log(`1000 concurrent cold lookups of one key: ${pd.calls.getRegionByKey} GetRegionByKey RPC(s)`);
    expect(pd.calls.getRegionByKey).toBe(1);
  });

  it("sends one RPC for 1000 concurrent lookups after the entry expired", async () => {
    let now = 0;
    const c = client({ routeCache: { ttlMs: 1000, ttlJitterMs: 0 }, nowMs: () => now });
    await c.getRegionByKey(k("h"));
    now += 10_000;
    await Promise.all(Array.from({ length: 1000 }, () => c.getRegionByKey(k("h"))));
    expect(pd.calls.getRegionByKey).toBe(2);
  });

  it("lets one waiter's deadline or abort end only that waiter", async () => {
    const c = client({ timeoutMs: 30_000 });
    const release = pd.hold("getRegionByKey");
    releases.push(release);
    const ac = new AbortController();
    const aborted = c.getRegionByKey(k("h"), { signal: ac.signal });
    const short = c.getRegionByKey(k("h"), { timeoutMs: 50 });
    const patient = c.getRegionByKey(k("h"));
    await waitUntil("the lookup to reach PD", () => pd.calls.getRegionByKey === 1, 5000);
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: "CANCELLED" });
    await expect(short).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    release();
    expect((await patient)?.id).toBe(2n);
    expect(pd.calls.getRegionByKey).toBe(1);
  });
});

describe("scoped invalidation", () => {
  it("keeps an unrelated lookup in flight when another region or key is invalidated", async () => {
    const c = client();
    const release = pd.hold("getRegionByKey");
    releases.push(release);
    const inFlight = c.getRegionByKey(k("h"));
    await waitUntil("the lookup to reach PD", () => pd.calls.getRegionByKey === 1, 5000);
    expect(c.invalidateRegion(999n)).toBe(false);
    c.invalidateKey(k("z"));
    release();
    expect((await inFlight)?.id).toBe(2n);
    // It was cached: the next lookup costs no RPC.
    await c.getRegionByKey(k("i"));
    expect(pd.calls.getRegionByKey).toBe(1);
  });

  it("keeps an unrelated lookup in flight when another key is not found", async () => {
    pd.regions.delete(4n);
    const c = client();
    let release!: () => void;
    pd.script("getRegionByKey", { kind: "hold", gate: new Promise<void>((r) => (release = r)) });
    releases.push(release);
    const inFlight = c.getRegionByKey(k("h"));
    await waitUntil("the first lookup to reach PD", () => pd.calls.getRegionByKey === 1, 5000);
    // The answer for x (not found) arrives while the lookup of h is in flight.
    expect(await c.getRegionByKey(k("x"))).toBeUndefined();
    release();
    expect((await inFlight)?.id).toBe(2n);
    await c.getRegionByKey(k("h"));
    expect(pd.calls.getRegionByKey).toBe(2);
  });

  it("does not cache a lookup in flight when its own region is invalidated", async () => {
    const c = client();
    await c.getRegionByKey(k("h"));
    const release = pd.hold("getRegionByKey");
    releases.push(release);
    const refresh = c.getRegionByKey(k("h"), { bypassCache: true });
    await waitUntil("the refresh to reach PD", () => pd.calls.getRegionByKey === 2, 5000);
    expect(c.invalidateRegion(2n)).toBe(true);
    release();
    expect((await refresh)?.id).toBe(2n);
    await c.getRegionByKey(k("h"));
    expect(pd.calls.getRegionByKey).toBe(3);
  });
});

describe("sliding TTL with jitter", () => {
  it("keeps a region that is read more often than the TTL", async () => {
    let now = 0;
    const c = client({ routeCache: { ttlMs: 1000, ttlJitterMs: 0 }, nowMs: () => now });
    for (let i = 0; i < 50; i++) {
      await c.getRegionByKey(k("h"));
      now += 100;
    }
    expect(pd.calls.getRegionByKey).toBe(1);
    now += 1000;
    await c.getRegionByKey(k("h"));
    expect(pd.calls.getRegionByKey).toBe(2);
  });

  it("rejects a negative or non-finite jitter", () => {
    expect(() => createPdClient({ addr: "a:1", routeCache: { ttlJitterMs: -1 } })).toThrow(/ttlJitterMs/);
    expect(() => createPdClient({ addr: "a:1", routeCache: { ttlJitterMs: Infinity } })).toThrow(/ttlJitterMs/);
  });
});

describe("feedback from stores", () => {
  it("takes the regions of an epoch-not-match answer, so a split costs no round trip", async () => {
    const c = client();
    await c.getRegionByKey(k("h"));
    // The store split region 2 [g, m) into 2 [g, j) and 5 [j, m) and said so.
    const split = [region(2n, "g", "j", 2n), region(5n, "j", "m", 2n)];
    expect(c.onEpochNotMatch(split)).toBe(true);
    expect((await c.getRegionByKey(k("h")))?.epoch.version).toBe(2n);
    expect((await c.getRegionByKey(k("k")))?.id).toBe(5n);
    expect(pd.calls.getRegionByKey).toBe(1);
    // An older view than the cache holds is not taken.
    expect(c.onEpochNotMatch([region(2n, "g", "m", 1n)])).toBe(false);
    expect((await c.getRegionByKey(k("k")))?.id).toBe(5n);
  });

  it("refuses malformed feedback with INVALID_ARGUMENT", () => {
    const c = client();
    expect(() => c.onEpochNotMatch([{ ...region(2n, "g", "j"), id: 2 as unknown as bigint }])).toThrow(/regions\[0\]\.id/);
  });

  it("remembers the leader a store names, and drops a region whose leader is not a peer", async () => {
    const c = client();
    expect((await c.locateKey(k("h")))?.leader).toBeUndefined();
    expect(c.updateLeader(2n, 2n)).toBe(true);
    const loc = await c.locateKey(k("h"));
    expect(loc?.region.id).toBe(2n);
    expect(loc?.leader).toEqual({ storeId: 2n, peerId: 21n });
    expect(pd.calls.getRegionByKey).toBe(1);
    // A leader on a store that holds no peer: our view of the region is stale.
    expect(c.updateLeader(2n, 9n)).toBe(false);
    await c.locateKey(k("h"));
    expect(pd.calls.getRegionByKey).toBe(2);
    expect(c.updateLeader(77n, 1n)).toBe(false);
  });
});

describe("cached range helpers", () => {
  it("lists the regions of a key range, asking PD only for what is not cached", async () => {
    const c = client();
    await c.getRegionByKey(k("h"));
    const rs = await c.getRegionsInRange(k("b"), k("p"));
    expect(rs.map((r) => r.id)).toEqual([1n, 2n, 3n]);
    expect(pd.calls.getRegionByKey).toBe(3);
    expect((await c.getRegionsInRange(k("a"), k("n"))).map((r) => r.id)).toEqual([1n, 2n, 3n]);
    expect(pd.calls.getRegionByKey).toBe(3);
    // An empty end key means up to +infinity; an empty range has no region.
    expect((await c.getRegionsInRange(k("h"), new Uint8Array())).map((r) => r.id)).toEqual([2n, 3n, 4n]);
    expect(await c.getRegionsInRange(k("h"), k("h"))).toEqual([]);
    // A boundary is exclusive at the end.
    expect((await c.getRegionsInRange(k("g"), k("m"))).map((r) => r.id)).toEqual([2n]);
  });

  it("finds the previous region", async () => {
    const c = client();
    expect(await c.getPrevRegion(k("b"))).toBeUndefined(); // region 1 starts at -infinity
    expect((await c.getPrevRegion(k("h")))?.id).toBe(1n);
    expect((await c.getPrevRegion(k("m")))?.id).toBe(2n);
    expect((await c.getPrevRegion(k("zz")))?.id).toBe(3n);
    const before = pd.calls.getRegionByKey;
    expect((await c.getPrevRegion(k("n")))?.id).toBe(2n);
    expect(pd.calls.getRegionByKey).toBe(before);
    // Boundaries that are not one byte apart: m\x00 and a zero last byte.
    pd.regions.set(3n, wireRegion(3n, "m", "m\x00\x05", [2n, 1n]));
    pd.regions.set(6n, wireRegion(6n, "m\x00\x05", "t", [2n, 1n]));
    const fresh = client();
    expect(text((await fresh.getPrevRegion(k("p")))!.endKey)).toBe("m\x00\x05");
    expect((await fresh.getPrevRegion(k("p")))?.id).toBe(3n);
  });
});
