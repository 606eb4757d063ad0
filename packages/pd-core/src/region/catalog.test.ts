import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PdError } from "../errors.js";
import { type RegionEdit, RegionCatalog, type RegionLog } from "./catalog.js";
import { type Region, rangesOverlap, regionContains, regionsEqual } from "@nokv/pd-model";
import { hasDuplicatePeers } from "./region.js";

const k = (s: string) => new TextEncoder().encode(s);

function region(id: bigint, start: string, end: string, version = 1n, confVersion = 1n, peers = [[1n, id * 10n]]): Region {
  return {
    id,
    startKey: k(start),
    endKey: k(end),
    epoch: { version, confVersion },
    peers: peers.map(([storeId, peerId]) => ({ storeId: storeId!, peerId: peerId! })),
  };
}

class TestLog implements RegionLog {
  appends: RegionEdit[][] = [];
  failNext = 0;
  async appendRegionEdits(edits: readonly RegionEdit[]): Promise<void> {
    await Promise.resolve();
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("disk on fire");
    }
    this.appends.push([...edits]);
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof PdError) return err.code;
    throw err;
  }
}

function all(c: RegionCatalog): Region[] {
  return [...c.regions()];
}

describe("RegionCatalog heartbeat rules", () => {
  it("rejects malformed regions with INVALID_ARGUMENT and writes nothing", async () => {
    const log = new TestLog();
    const c = new RegionCatalog({ log });
    expect(await codeOf(c.heartbeat(region(0n, "a", "b")))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(c.heartbeat(region(1n, "b", "a")))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(c.heartbeat(region(1n, "b", "b")))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(c.heartbeat(region(1n, "a", "b", 1n, 1n, [[0n, 5n]])))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(c.heartbeat(region(1n, "a", "b", 1n, 1n, [[1n, 0n]])))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(c.remove(0n))).toBe("INVALID_ARGUMENT");
    expect(log.appends).toHaveLength(0);
    expect(c.size).toBe(0);
  });

  it("accepts an empty end key as unbounded and routes by bytes, not strings", async () => {
    const c = new RegionCatalog({ log: new TestLog() });
    await c.heartbeat({ ...region(1n, "", ""), endKey: Uint8Array.of(0x80) });
    await c.heartbeat({ ...region(2n, "", ""), startKey: Uint8Array.of(0x80) });
    expect(c.getRegionByKey(Uint8Array.of(0x7f, 0xff))?.id).toBe(1n);
    expect(c.getRegionByKey(Uint8Array.of(0x80))?.id).toBe(2n);
    expect(c.getRegionByKey(Uint8Array.of(0xff, 0xff, 0xff))?.id).toBe(2n);
    expect(c.getRegionByKey(new Uint8Array())?.id).toBe(1n);
  });

  it("rejects a version or a conf version going down, each on its own", async () => {
    const c = new RegionCatalog({ log: new TestLog() });
    await c.heartbeat(region(1n, "a", "m", 5n, 5n));
    expect(await codeOf(c.heartbeat(region(1n, "a", "m", 4n, 9n)))).toBe("STALE_EPOCH");
    expect(await codeOf(c.heartbeat(region(1n, "a", "m", 9n, 4n)))).toBe("STALE_EPOCH");
    expect(c.getRegion(1n)?.epoch).toEqual({ version: 5n, confVersion: 5n });
    // A newer conf version with the same range is accepted.
    expect(await codeOf(c.heartbeat(region(1n, "a", "m", 5n, 6n, [[1n, 10n], [2n, 11n]])))).toBe("OK");
    expect(c.getRegion(1n)?.peers).toHaveLength(2);
  });

  it("follows the contract's staleness rules exactly: a range change at the same version is not stale by itself", async () => {
    const c = new RegionCatalog({ log: new TestLog() });
    await c.heartbeat(region(1n, "a", "m", 5n, 5n));
    expect(await codeOf(c.heartbeat(region(1n, "a", "z", 5n, 6n)))).toBe("OK");
    expect(c.getRegionByKey(k("x"))?.id).toBe(1n);
  });

  it("does not let an unchanged heartbeat overtake a queued write", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const c = new RegionCatalog({ log: { appendRegionEdits: () => (++calls === 1 ? Promise.resolve() : gate) } });
    await c.heartbeat(region(7n, "a", "m"));
    const removal = c.remove(7n);
    // Identical to the committed region, but a removal is queued ahead of it.
    const hb = c.heartbeat(region(7n, "a", "m"));
    let hbSettled = false;
    void hb.then(() => (hbSettled = true), () => (hbSettled = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(hbSettled).toBe(false);
    release();
    expect(await removal).toBe(true);
    // Planned after the removal, the heartbeat re-creates the region: its answer matches the catalog.
    expect((await hb).changed).toBe(true);
    expect(c.getRegion(7n)).toBeDefined();
  });

  it("passes a NOT_LEADER from the log through unchanged", async () => {
    const c = new RegionCatalog({
      log: { appendRegionEdits: () => Promise.reject(new PdError("NOT_LEADER", "not the leader", { leaderAddr: "10.0.0.2:2379" })) },
    });
    const err = await c.heartbeat(region(1n, "a", "m")).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "NOT_LEADER", leaderAddr: "10.0.0.2:2379" });
    expect(c.size).toBe(0);
  });

  it("rejects an overlap with a region of greater or equal version", async () => {
    const c = new RegionCatalog({ log: new TestLog() });
    await c.heartbeat(region(1n, "a", "m", 3n));
    expect(await codeOf(c.heartbeat(region(2n, "c", "z", 3n)))).toBe("RANGE_OVERLAP");
    expect(await codeOf(c.heartbeat(region(2n, "", "b", 2n)))).toBe("RANGE_OVERLAP");
    expect(all(c).map((r) => r.id)).toEqual([1n]);
  });

  it("accepts a split child that arrives before its parent and removes what it covers", async () => {
    const log = new TestLog();
    const c = new RegionCatalog({ log });
    await c.heartbeat(region(1n, "", "", 1n));
    // Region 1 split at "m" into 1 ["", "m") and 2 ["m", ""), both at version 2; 2 reports first.
    const out = await c.heartbeat(region(2n, "m", "", 2n));
    expect(out).toEqual({ changed: true, removedRegionIds: [1n] });
    expect(c.getRegionByKey(k("a"))).toBeUndefined();
    expect(c.getRegionByKey(k("x"))?.id).toBe(2n);
    // The parent's stale pre-split heartbeat is refused now...
    expect(await codeOf(c.heartbeat(region(1n, "", "", 1n)))).toBe("RANGE_OVERLAP");
    // ...and its post-split heartbeat fills the hole.
    expect(await codeOf(c.heartbeat(region(1n, "", "m", 2n)))).toBe("OK");
    expect(c.getRegionByKey(k("a"))?.id).toBe(1n);
    c.assertConsistent();
  });

  it("lets a merge result replace both halves", async () => {
    const c = new RegionCatalog({ log: new TestLog() });
    await c.heartbeat(region(1n, "", "m", 2n));
    await c.heartbeat(region(2n, "m", "", 2n));
    const out = await c.heartbeat(region(1n, "", "", 3n));
    expect(out.removedRegionIds).toEqual([2n]);
    expect(all(c).map((r) => r.id)).toEqual([1n]);
  });

  it("does not write a heartbeat that changes nothing", async () => {
    const log = new TestLog();
    const c = new RegionCatalog({ log });
    await c.heartbeat(region(1n, "a", "m"));
    expect(log.appends).toHaveLength(1);
    const before = c.getRegion(1n);
    const out = await c.heartbeat(region(1n, "a", "m"));
    expect(out.changed).toBe(false);
    expect(log.appends).toHaveLength(1);
    expect(c.getRegion(1n)).toBe(before);
  });

  it("keeps its own copy of the key bytes", async () => {
    const c = new RegionCatalog({ log: new TestLog() });
    const r = region(1n, "a", "m");
    await c.heartbeat(r);
    (r.startKey as Uint8Array)[0] = 0x7a;
    expect(c.getRegionByKey(k("b"))?.id).toBe(1n);
  });

  it("leaves the catalog unchanged and reports STORAGE when the write fails", async () => {
    const log = new TestLog();
    const c = new RegionCatalog({ log });
    await c.heartbeat(region(1n, "", "", 1n));
    log.failNext = 1;
    expect(await codeOf(c.heartbeat(region(2n, "m", "", 2n)))).toBe("STORAGE");
    // Neither half of the failed split result was applied: region 1 is intact, region 2 absent.
    expect(c.getRegion(1n)?.endKey).toEqual(new Uint8Array());
    expect(c.getRegion(2n)).toBeUndefined();
    expect(c.getRegionByKey(k("x"))?.id).toBe(1n);
    expect(await c.remove(1n)).toBe(true);
    expect(c.size).toBe(0);
    log.failNext = 1;
    await c.heartbeat(region(3n, "a", "b")).catch(() => undefined);
    expect(c.size).toBe(0);
  });

  it("removes regions and says whether they existed", async () => {
    const c = new RegionCatalog({ log: new TestLog() });
    await c.heartbeat(region(1n, "a", "m"));
    expect(await c.remove(1n)).toBe(true);
    expect(await c.remove(1n)).toBe(false);
    expect(c.getRegionByKey(k("b"))).toBeUndefined();
  });

  it("commits concurrent writes in one append per batch, each waiting for durability", async () => {
    const log = new TestLog();
    const c = new RegionCatalog({ log });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => c.heartbeat(region(BigInt(i + 1), `k${String(i).padStart(3, "0")}`, `k${String(i).padStart(3, "0")}~`))),
    );
    expect(results.every((r) => r.changed)).toBe(true);
    expect(c.size).toBe(50);
    // The first write goes alone; everything that queued behind it shares the next append.
    expect(log.appends.length).toBeLessThanOrEqual(2);
    expect(log.appends.flat()).toHaveLength(50);
  });

  it("never shows a write before it is durable", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new RegionCatalog({ log: { appendRegionEdits: () => gate } });
    const p = c.heartbeat(region(1n, "a", "m"));
    await Promise.resolve();
    expect(c.getRegionByKey(k("b"))).toBeUndefined();
    release();
    await p;
    expect(c.getRegionByKey(k("b"))?.id).toBe(1n);
  });
});

// ---- reference model: the wire contract's rules written as naively as possible ----

describe("RegionCatalog: peers as the store reports them", () => {
  it("accepts two peers on one store, the same peer twice and one peer id on two stores, and stores them as reported", async () => {
    const log = new TestLog();
    const c = new RegionCatalog({ log });
    const twoOnOne = region(1n, "", "g", 1n, 2n, [[1n, 10n], [1n, 11n], [2n, 12n]]);
    const samePeerTwice = region(2n, "g", "p", 1n, 1n, [[1n, 20n], [1n, 20n]]);
    const idOnTwoStores = region(3n, "p", "", 1n, 1n, [[1n, 30n], [2n, 30n]]);
    for (const r of [twoOnOne, samePeerTwice, idOnTwoStores]) {
      expect(await c.heartbeat(r)).toMatchObject({ changed: true, duplicatePeers: "appeared" });
    }
    expect(all(c)).toEqual([twoOnOne, samePeerTwice, idOnTwoStores]);
    expect(log.appends.flat()).toHaveLength(3);
    expect(c.duplicatePeerRegions).toBe(3);
  });

  it("reports when a region starts and stops having duplicate peers, not on every heartbeat", async () => {
    const c = new RegionCatalog({ log: new TestLog() });
    expect((await c.heartbeat(region(1n, "", "", 1n, 1n, [[1n, 10n], [2n, 11n]]))).duplicatePeers).toBeUndefined();
    expect((await c.heartbeat(region(1n, "", "", 1n, 2n, [[1n, 10n], [2n, 11n], [1n, 12n]]))).duplicatePeers).toBe("appeared");
    // Identical (fast path) and changed-but-still-duplicated heartbeats say nothing new.
    expect((await c.heartbeat(region(1n, "", "", 1n, 2n, [[1n, 10n], [2n, 11n], [1n, 12n]]))).duplicatePeers).toBeUndefined();
    expect((await c.heartbeat(region(1n, "", "", 1n, 3n, [[1n, 10n], [1n, 12n]]))).duplicatePeers).toBeUndefined();
    expect(c.duplicatePeerRegions).toBe(1);
    expect((await c.heartbeat(region(1n, "", "", 1n, 4n, [[1n, 12n], [2n, 11n]]))).duplicatePeers).toBe("resolved");
    expect(c.duplicatePeerRegions).toBe(0);
    expect((await c.heartbeat(region(1n, "", "", 1n, 5n, [[2n, 11n], [2n, 13n]]))).duplicatePeers).toBe("appeared");
  });

  it("forgets a region's duplicate peers when it is removed or replaced by a newer split/merge result", async () => {
    const c = new RegionCatalog({ log: new TestLog() });
    await c.heartbeat(region(1n, "", "m", 1n, 1n, [[1n, 10n], [1n, 11n]]));
    await c.heartbeat(region(2n, "m", "", 1n, 1n, [[1n, 20n], [1n, 21n]]));
    expect(c.duplicatePeerRegions).toBe(2);
    await c.remove(1n);
    expect(c.duplicatePeerRegions).toBe(1);
    await c.heartbeat(region(3n, "", "", 2n, 1n, [[1n, 30n]]));
    expect(c.duplicatePeerRegions).toBe(0);
  });

  it("restores regions with duplicate peers and counts them", () => {
    const c = new RegionCatalog({ log: new TestLog() });
    c.restore([region(1n, "", "m", 1n, 1n, [[1n, 10n], [1n, 11n]]), region(2n, "m", "", 1n, 1n, [[1n, 20n], [2n, 21n]])]);
    expect(c.size).toBe(2);
    expect(c.duplicatePeerRegions).toBe(1);
  });
});

type Op = { kind: "hb"; region: Region } | { kind: "rm"; id: bigint };

function modelApply(model: Map<bigint, Region>, op: Op): string {
  if (op.kind === "rm") {
    return model.delete(op.id) ? "OK" : "OK";
  }
  const r = op.region;
  const old = model.get(r.id);
  if (old) {
    if (r.epoch.version < old.epoch.version || r.epoch.confVersion < old.epoch.confVersion) return "STALE_EPOCH";
    if (regionsEqual(old, r)) return "OK";
  }
  const overlaps = [...model.values()].filter((o) => o.id !== r.id && rangesOverlap(o, r));
  if (overlaps.some((o) => o.epoch.version >= r.epoch.version)) return "RANGE_OVERLAP";
  for (const o of overlaps) model.delete(o.id);
  model.set(r.id, r);
  return "OK";
}

const KEYS = ["", "a", "b", "c", "d", "e", "f"].map(k);
const arbRegion = fc
  .record({
    id: fc.bigInt({ min: 1n, max: 6n }),
    a: fc.integer({ min: 0, max: KEYS.length - 1 }),
    b: fc.integer({ min: 0, max: KEYS.length - 1 }),
    version: fc.bigInt({ min: 1n, max: 4n }),
    confVersion: fc.bigInt({ min: 1n, max: 3n }),
    store: fc.bigInt({ min: 1n, max: 3n }),
    // A second peer, sometimes on the same store: NoKV stores can report that.
    second: fc.option(fc.bigInt({ min: 1n, max: 3n })),
  })
  .map(({ id, a, b, version, confVersion, store, second }): Region => {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    // hi === lo or hi === 0 → unbounded end
    const end = hi === lo || hi === 0 ? new Uint8Array() : KEYS[hi]!;
    const peers = [{ storeId: store, peerId: id * 10n + store }];
    if (second !== null) peers.push({ storeId: second, peerId: id * 10n + 5n + second });
    return { id, startKey: KEYS[lo]!, endKey: end, epoch: { version, confVersion }, peers };
  });
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: arbRegion.map((region) => ({ kind: "hb" as const, region })) },
  { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 6n }).map((id) => ({ kind: "rm" as const, id })) },
);
const PROBES = [...KEYS, k("aa"), k("c\u0000"), k("zz"), Uint8Array.of(0xff)];

function assertSameAsModel(c: RegionCatalog, model: Map<bigint, Region>): void {
  c.assertConsistent();
  expect(c.size).toBe(model.size);
  for (const [id, r] of model) expect(regionsEqual(c.getRegion(id)!, r)).toBe(true);
  expect(c.duplicatePeerRegions).toBe([...model.values()].filter(hasDuplicatePeers).length);
  for (const key of PROBES) {
    const want = [...model.values()].find((r) => regionContains(r, key));
    expect(c.getRegionByKey(key)?.id).toBe(want?.id);
  }
}

describe("RegionCatalog against a reference model", () => {
  it("agrees on every outcome and every lookup under random heartbeats and removals", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { maxLength: 40 }), async (ops) => {
        const c = new RegionCatalog({ log: new TestLog() });
        const model = new Map<bigint, Region>();
        for (const op of ops) {
          const want = modelApply(model, op);
          const got = await codeOf(op.kind === "hb" ? c.heartbeat(op.region) : c.remove(op.id));
          expect(got).toBe(want);
          assertSameAsModel(c, model);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("ends in the model's state when the same operations arrive concurrently (group commit)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), async (ops, maxBatch) => {
        const c = new RegionCatalog({ log: new TestLog(), maxBatch });
        const model = new Map<bigint, Region>();
        for (const op of ops) modelApply(model, op);
        await Promise.allSettled(ops.map((op) => (op.kind === "hb" ? c.heartbeat(op.region) : c.remove(op.id))));
        assertSameAsModel(c, model);
      }),
      { numRuns: 300 },
    );
  });
});

describe("RegionCatalog replaying durable edits (a warm follower)", () => {
  /** What the etcd store writes for one append: the last edit of each region. */
  const collapse = (edits: readonly RegionEdit[]): RegionEdit[] => {
    const last = new Map<bigint, RegionEdit>();
    for (const e of edits) {
      const id = e.kind === "put" ? e.region.id : e.regionId;
      last.delete(id);
      last.set(id, e);
    }
    return [...last.values()];
  };

  it("ends in the writer's state whatever the order of the edits within each append (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), fc.integer(), async (ops, maxBatch, seed) => {
        const log = new TestLog();
        const writer = new RegionCatalog({ log, maxBatch });
        await Promise.allSettled(ops.map((op) => (op.kind === "hb" ? writer.heartbeat(op.region) : writer.remove(op.id))));
        const replica = new RegionCatalog({ log: new TestLog() });
        let rnd = seed;
        for (const append of log.appends) {
          const edits = collapse(append);
          // etcd keeps the transaction's order; the replica must not depend on it.
          for (let i = edits.length - 1; i > 0; i--) {
            rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
            const j = rnd % (i + 1);
            [edits[i], edits[j]] = [edits[j]!, edits[i]!];
          }
          replica.applyDurable(edits);
        }
        const model = new Map<bigint, Region>();
        for (const r of writer.regions()) model.set(r.id, r);
        assertSameAsModel(replica, model);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a replay that would overlap, leaving the catalog as it was", () => {
    const c = new RegionCatalog({ log: new TestLog() });
    c.restore([region(1n, "a", "c"), region(2n, "c", "e")]);
    expect(() => c.applyDurable([{ kind: "put", region: region(3n, "b", "d") }])).toThrow(expect.objectContaining({ code: "STORAGE" }));
    expect(() => c.applyDurable([{ kind: "put", region: region(2n, "c", "e") }, { kind: "put", region: region(1n, "a", "d") }])).toThrow(/overlaps/);
    expect(all(c).map((r) => r.id)).toEqual([1n, 2n]);
    expect(c.getRegionByKey(k("d"))?.id).toBe(2n);
    // A split written as one transaction, in any order.
    c.applyDurable([{ kind: "put", region: region(3n, "b", "c", 2n) }, { kind: "put", region: region(1n, "a", "b", 2n) }]);
    expect(all(c).map((r) => r.id)).toEqual([1n, 3n, 2n]);
    c.applyDurable([{ kind: "delete", regionId: 3n }, { kind: "delete", regionId: 42n }]);
    expect(c.getRegionByKey(k("b"))).toBeUndefined();
  });

  it("writes through the log it is handed, and refuses replays and hand-overs while writing", async () => {
    const first = new TestLog();
    const second = new TestLog();
    const c = new RegionCatalog({ log: first });
    await c.heartbeat(region(1n, "a", "b"));
    await c.flush();
    c.useLog(second);
    const pending = c.heartbeat(region(2n, "b", "c"));
    expect(c.writing).toBe(true);
    expect(() => c.useLog(first)).toThrow(expect.objectContaining({ code: "UNAVAILABLE" }));
    expect(() => c.applyDurable([])).toThrow(expect.objectContaining({ code: "UNAVAILABLE" }));
    await pending;
    await c.flush();
    expect(c.writing).toBe(false);
    expect(first.appends).toHaveLength(1);
    expect(second.appends).toHaveLength(1);
  });
});

describe("RegionCatalog.restore", () => {
  const storageError = (f: () => void): string => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(PdError);
      expect((err as PdError).code).toBe("STORAGE");
      return (err as PdError).message;
    }
    throw new Error("expected restore to throw");
  };

  it("restores regions given in any order and routes every key", () => {
    const c = new RegionCatalog({ log: new TestLog() });
    c.restore([region(3n, "m", "t"), region(1n, "", "c"), region(4n, "t", ""), region(2n, "c", "m")]);
    expect(c.size).toBe(4);
    c.assertConsistent();
    expect(c.getRegionByKey(k(""))?.id).toBe(1n);
    expect(c.getRegionByKey(k("c"))?.id).toBe(2n);
    expect(c.getRegionByKey(k("s"))?.id).toBe(3n);
    expect(c.getRegionByKey(k("zzz"))?.id).toBe(4n);
  });

  it("refuses overlapping ranges, equal start keys, duplicate ids and malformed regions", () => {
    expect(storageError(() => new RegionCatalog({ log: new TestLog() }).restore([region(2n, "f", "z"), region(1n, "a", "g")]))).toMatch(
      /region 2 .* clashes with region 1/,
    );
    expect(storageError(() => new RegionCatalog({ log: new TestLog() }).restore([region(1n, "a", "c"), region(2n, "a", "b")]))).toMatch(/clashes/);
    expect(storageError(() => new RegionCatalog({ log: new TestLog() }).restore([region(1n, "a", ""), region(2n, "x", "y")]))).toMatch(/clashes/);
    expect(storageError(() => new RegionCatalog({ log: new TestLog() }).restore([region(7n, "a", "b"), region(7n, "c", "d")]))).toMatch(
      /region 7 .* clashes with region 7/,
    );
    expect(storageError(() => new RegionCatalog({ log: new TestLog() }).restore([region(0n, "a", "b")]))).toMatch(/non-zero/);
  });

  it("checks against regions already in the catalog", () => {
    const c = new RegionCatalog({ log: new TestLog() });
    c.restore([region(1n, "a", "m")]);
    expect(storageError(() => c.restore([region(2n, "x", "y"), region(3n, "k", "p")]))).toMatch(/region 3 .* clashes with region 1/);
  });

  it("accepts exactly the disjoint sets, whatever their order (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 40 }), fc.boolean(), (cuts, overlap) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const key = (n: number) => `k${n.toString().padStart(4, "0")}`;
        const regions = sorted.map((c, i) => region(BigInt(i + 1), i === 0 ? "" : key(c), i === sorted.length - 1 ? "" : key(sorted[i + 1]!)));
        if (overlap && regions.length > 1) {
          const victim = regions[0]!;
          regions[0] = { ...victim, endKey: regions[1]!.endKey.length === 0 ? new Uint8Array() : regions[1]!.endKey };
        }
        const shuffled = [...regions].sort(() => Math.random() - 0.5);
        const c = new RegionCatalog({ log: new TestLog() });
        if (overlap && regions.length > 1) {
          storageError(() => c.restore(shuffled));
        } else {
          c.restore(shuffled);
          c.assertConsistent();
          expect(c.size).toBe(regions.length);
          for (const r of regions) expect(c.getRegionByKey(r.startKey)?.id).toBe(r.id);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("RegionCatalog under a log that bounds its appends", () => {
  // Bytes of an edit in a toy encoding: keys plus a fixed overhead.
  const editBytes = (e: RegionEdit) => (e.kind === "delete" ? 9 : 40 + e.region.startKey.length + e.region.endKey.length);
  class BoundedLog extends TestLog {
    readonly appendLimit = { maxBytes: 1000, editBytes };
  }
  const wide = (id: bigint, start: string, keyBytes: number) => region(id, start + "a".repeat(keyBytes), `${start}~`);

  it("refuses a region too large to store with INVALID_ARGUMENT and writes nothing", async () => {
    const log = new BoundedLog();
    const c = new RegionCatalog({ log });
    const err = await c.heartbeat(wide(1n, "k", 600)).catch((e: unknown) => e as PdError);
    expect(err).toBeInstanceOf(PdError);
    expect((err as PdError).code).toBe("INVALID_ARGUMENT");
    expect((err as PdError).message).toContain("region 1");
    expect(log.appends).toEqual([]);
    expect(c.size).toBe(0);
  });

  it("cuts group-commit batches so that no append exceeds the limit, and accepts every heartbeat", async () => {
    const log = new BoundedLog();
    const c = new RegionCatalog({ log });
    const all = Array.from({ length: 30 }, (_, i) => c.heartbeat(wide(BigInt(i + 1), `k${String(i).padStart(2, "0")}`, 300)));
    await Promise.all(all);
    expect(c.size).toBe(30);
    expect(log.appends.length).toBeGreaterThan(1);
    for (const batch of log.appends) expect(batch.reduce((n, e) => n + editBytes(e), 0)).toBeLessThanOrEqual(1000);
  });
});
