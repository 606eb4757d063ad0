import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RouteCache, regionContains } from "./route-cache.js";
import type { Region } from "../types.js";

const k = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));

function region(id: bigint, start: string, end: string, version = 1n, confVersion = 1n): Region {
  return { id, startKey: k(start), endKey: k(end), epoch: { version, confVersion }, peers: [] };
}

describe("RouteCache", () => {
  it("answers keys inside a cached range, with empty keys as infinities", () => {
    const c = new RouteCache({ ttlMs: 1000 });
    c.insert(region(1n, "", "m"), 0);
    c.insert(region(2n, "m", ""), 0);
    expect(c.lookup(k(""), 1)?.id).toBe(1n);
    expect(c.lookup(k("a"), 1)?.id).toBe(1n);
    expect(c.lookup(k("m"), 1)?.id).toBe(2n);
    expect(c.lookup(k("zzzz"), 1)?.id).toBe(2n);
  });

  it("misses gaps and expires entries at ttl", () => {
    const c = new RouteCache({ ttlMs: 100, ttlJitterMs: 0 });
    c.insert(region(1n, "b", "d"), 1000);
    expect(c.lookup(k("a"), 1000)).toBeUndefined();
    expect(c.lookup(k("d"), 1000)).toBeUndefined();
    expect(c.lookup(k("c"), 1099)?.id).toBe(1n); // a hit: expires 100 ms after it
    expect(c.lookup(k("c"), 1198)?.id).toBe(1n);
    expect(c.lookup(k("c"), 1298)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it("evicts what a split or merge result overlaps", () => {
    const c = new RouteCache();
    c.insert(region(1n, "a", "z", 1n), 0);
    // Split: region 2 [m, z) at version 2 arrives first.
    expect(c.insert(region(2n, "m", "z", 2n), 0)).toBe(true);
    expect(c.evictions).toBe(1);
    expect(c.lookup(k("b"), 0)).toBeUndefined();
    expect(c.lookup(k("n"), 0)?.id).toBe(2n);
    c.insert(region(1n, "a", "m", 2n), 0);
    c.insert(region(3n, "z", "", 1n), 0);
    expect(c.regions().map((r) => r.id)).toEqual([1n, 2n, 3n]);
    // Merge of 1 and 2 into 1 at version 3.
    c.insert(region(1n, "a", "z", 3n), 0);
    expect(c.regions().map((r) => r.id)).toEqual([1n, 3n]);
    expect(c.lookup(k("q"), 0)?.id).toBe(1n);
  });

  it("drops an id cached under a range it no longer has", () => {
    const c = new RouteCache();
    c.insert(region(1n, "a", "c", 1n), 0);
    c.insert(region(1n, "x", "y", 2n), 0);
    expect(c.lookup(k("b"), 0)).toBeUndefined();
    expect(c.regions().map((r) => r.id)).toEqual([1n]);
  });

  it("refuses an out-of-order older answer", () => {
    const c = new RouteCache();
    c.insert(region(2n, "m", "z", 2n), 0);
    expect(c.insert(region(1n, "a", "z", 1n), 0)).toBe(false);
    c.insert(region(5n, "0", "1", 3n, 4n), 0);
    expect(c.insert(region(5n, "0", "1", 3n, 3n), 0)).toBe(false);
    expect(c.regions().map((r) => r.id)).toEqual([5n, 2n]);
  });

  it("invalidates by id and by key, and skips inserts begun before an invalidation of their range", () => {
    const c = new RouteCache();
    c.insert(region(1n, "a", "c"), 0);
    c.insert(region(2n, "c", "e"), 0);
    const ticket = c.beginFetch();
    expect(c.invalidateRegion(1n)).toBe(true);
    expect(c.invalidateRegion(1n)).toBe(false);
    expect(c.invalidateKey(k("d"))).toBe(true);
    expect(c.invalidateKey(k("d"))).toBe(false);
    expect(c.size).toBe(0);
    expect(c.insert(region(1n, "a", "c"), 0, ticket)).toBe(false);
    expect(c.insert(region(2n, "c", "e"), 0, ticket)).toBe(false);
    // Unrelated to every invalidation since the ticket: cached.
    expect(c.insert(region(3n, "x", "z"), 0, ticket)).toBe(true);
    c.endFetch(ticket);
    expect(c.insert(region(1n, "a", "c"), 0, c.beginFetch())).toBe(true);
  });

  it("scopes invalidations to their range or id, and forgets them once no fetch is open", () => {
    const c = new RouteCache();
    const t1 = c.beginFetch();
    c.invalidateRegion(999n); // never cached: only its id is known
    c.invalidateKey(k("q")); // not cached: the point [q, q\0)
    expect(c.insert(region(999n, "a", "b"), 0, t1)).toBe(false);
    expect(c.insert(region(5n, "p", "r"), 0, t1)).toBe(false);
    expect(c.insert(region(6n, "r", "t"), 0, t1)).toBe(true);
    expect(c.insert(region(7n, "a", "q"), 0, t1)).toBe(true); // ends at q: does not hold it
    const t2 = c.beginFetch();
    expect(c.insert(region(5n, "p", "r"), 0, t2)).toBe(true); // the invalidation predates t2
    c.endFetch(t1);
    c.endFetch(t2);
    c.clear();
    const t3 = c.beginFetch();
    c.clear();
    expect(c.insert(region(8n, "", ""), 0, t3)).toBe(false);
  });

  it("slides the TTL on every hit, with per-entry jitter", () => {
    const c = new RouteCache({ ttlMs: 100, ttlJitterMs: 50 }, () => 0.5);
    c.insert(region(1n, "a", "c"), 0);
    expect(c.lookup(k("b"), 120)?.id).toBe(1n); // 100 + 25 jitter
    expect(c.lookup(k("b"), 240)?.id).toBe(1n); // slid to 245
    expect(c.lookup(k("b"), 370)).toBeUndefined();
    // Cached together, expiring apart: one sweep halfway through the jitter
    // finds some gone and some alive (all on one side: p = 2^-19).
    const spread = new RouteCache({ ttlMs: 100, ttlJitterMs: 50 });
    for (let i = 0; i < 20; i++) spread.insert(region(BigInt(i + 1), String.fromCharCode(97 + i), String.fromCharCode(98 + i)), 0);
    const alive = Array.from({ length: 20 }, (_, i) => spread.lookup(k(String.fromCharCode(97 + i)), 125)).filter(Boolean).length;
    expect(alive).toBeGreaterThan(0);
    expect(alive).toBeLessThan(20);
  });

  it("keeps a leader hint only for a peer's store, and across a refresh of the same epoch", () => {
    const c = new RouteCache();
    const r = { ...region(1n, "a", "c"), peers: [{ storeId: 1n, peerId: 11n }, { storeId: 2n, peerId: 12n }] };
    c.insert(r, 0);
    expect(c.updateLeader(1n, 2n)).toBe(true);
    expect(RouteCache.leaderOf(c.lookupEntry(k("b"), 0)!)).toEqual({ storeId: 2n, peerId: 12n });
    c.insert({ ...r }, 0);
    expect(RouteCache.leaderOf(c.lookupEntry(k("b"), 0)!)).toEqual({ storeId: 2n, peerId: 12n });
    c.insert({ ...r, epoch: { version: 1n, confVersion: 2n } }, 0);
    expect(RouteCache.leaderOf(c.lookupEntry(k("b"), 0)!)).toBeUndefined();
    expect(c.updateLeader(1n, 3n)).toBe(false);
    expect(c.size).toBe(0);
  });

  it("stays within maxEntries, expired and oldest first", () => {
    const c = new RouteCache({ ttlMs: 10, ttlJitterMs: 0, maxEntries: 2 });
    c.insert(region(1n, "a", "b"), 0);
    c.insert(region(2n, "b", "c"), 5);
    c.insert(region(3n, "c", "d"), 6);
    expect(c.regions().map((r) => r.id)).toEqual([2n, 3n]);
    c.insert(region(4n, "d", "e"), 20);
    expect(c.regions().map((r) => r.id)).toEqual([4n]);
  });

  it("never holds two regions for one key (property)", () => {
    const alphabet = ["", "a", "b", "c", "d", "e", "f"];
    const arbRegion = fc
      .record({
        id: fc.bigInt({ min: 1n, max: 6n }),
        a: fc.integer({ min: 0, max: 6 }),
        b: fc.integer({ min: 0, max: 6 }),
        version: fc.bigInt({ min: 0n, max: 4n }),
        confVersion: fc.bigInt({ min: 0n, max: 4n }),
      })
      .map(({ id, a, b, version, confVersion }) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        // hi === 0 means an unbounded end; equal bounds become unbounded too.
        const end = hi === lo ? "" : alphabet[hi]!;
        return region(id, alphabet[lo]!, end, version, confVersion);
      });
    const op = fc.oneof(
      arbRegion.map((r) => ({ kind: "insert" as const, r })),
      fc.integer({ min: 0, max: 6 }).map((i) => ({ kind: "key" as const, key: alphabet[i]! })),
      fc.bigInt({ min: 1n, max: 6n }).map((id) => ({ kind: "id" as const, id })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const c = new RouteCache();
        for (const o of ops) {
          if (o.kind === "insert") {
            const ok = c.insert(o.r, 0);
            if (ok) expect(c.lookup(o.r.startKey, 0)).toBe(o.r);
          } else if (o.kind === "key") c.invalidateKey(k(o.key));
          else c.invalidateRegion(o.id);
          const rs = c.regions();
          expect(new Set(rs.map((r) => r.id)).size).toBe(rs.length);
          for (const key of [...alphabet, "ab", "zz"]) {
            const holders = rs.filter((r) => regionContains(r, k(key)));
            expect(holders.length).toBeLessThanOrEqual(1);
            expect(c.lookup(k(key), 0)).toBe(holders[0]);
          }
        }
      }),
    );
  });
});
