import { type RegionEdit } from "@nokv/pd-core";
import { MAX_UINT64, type Region, type SchedulingConfig } from "@nokv/pd-model";
import { afterEach, describe, expect, it } from "vitest";
import type { Store } from "../store.js";

/** A backend under test: `open` returns a store over the same durable location each time. */
export interface ContractHarness {
  /** Names the backend in the test titles, e.g. `etcd`. */
  readonly name: string;
  /** Whether state survives `close` + `open` (false for memory). */
  readonly durable: boolean;
  /** A fresh, empty location; each `open` returns a new store over it, `cleanup` removes it. */
  fresh(): Promise<{ open: () => Promise<Store>; cleanup: () => Promise<void> }>;
}

const k = (s: string) => new TextEncoder().encode(s);

/**
 * A valid region for storage tests: `[start, end)` with epoch
 * `{version, confVersion: 2}` and two peers whose ids derive from `id`.
 */
export function testRegion(id: bigint, start: string, end: string, version = 1n): Region {
  return {
    id,
    startKey: k(start),
    endKey: k(end),
    epoch: { version, confVersion: 2n },
    peers: [
      { storeId: 1n, peerId: id * 10n + 1n },
      { storeId: 2n, peerId: id * 10n + 2n },
    ],
  };
}

function sortById(rs: readonly Region[]): Region[] {
  return [...rs].sort((a, b) => (a.id < b.id ? -1 : 1));
}

/**
 * The storage contract every backend must meet (see `Store`): registers a
 * vitest `describe` block, so call it at the top level of a test file. It
 * checks empty start, put/delete replay, exact uint64 and binary-key
 * round-trips, never-lowered ceilings, whole concurrent appends and
 * `UNAVAILABLE` after close; durable backends are also reopened.
 */
export function storeContract(h: ContractHarness): void {
  describe(`Store contract: ${h.name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    async function fresh() {
      const f = await h.fresh();
      cleanups.push(f.cleanup);
      return f;
    }

    it("starts empty", async () => {
      const s = await (await fresh()).open();
      const snap = await s.load();
      expect(snap.regions).toEqual([]);
      expect(snap.allocator).toEqual({ idCurrent: 0n, tsCurrent: 0n });
      await s.close();
    });

    it("loads what was appended: puts replace by id, deletes remove", async () => {
      const f = await fresh();
      const s = await f.open();
      await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "", "m") }]);
      await s.appendRegionEdits([
        { kind: "put", region: testRegion(2n, "m", "") },
        { kind: "put", region: testRegion(1n, "", "g", 2n) },
      ]);
      await s.appendRegionEdits([{ kind: "delete", regionId: 2n }, { kind: "delete", regionId: 99n }]);
      const want = [testRegion(1n, "", "g", 2n)];
      expect(sortById((await s.load()).regions)).toEqual(want);
      await s.close();
      if (h.durable) {
        const again = await f.open();
        expect(sortById((await again.load()).regions)).toEqual(want);
        await again.close();
      }
    });

    it("round-trips uint64 values above 2^53 and binary keys exactly", async () => {
      const f = await fresh();
      const s = await f.open();
      const big: Region = {
        id: MAX_UINT64,
        startKey: Uint8Array.of(0, 0xff, 0x80),
        endKey: new Uint8Array(),
        epoch: { version: 2n ** 53n + 1n, confVersion: MAX_UINT64 - 1n },
        peers: [{ storeId: 2n ** 63n, peerId: 2n ** 64n - 2n }],
      };
      await s.appendRegionEdits([{ kind: "put", region: big }]);
      await s.saveAllocatorState({ idCurrent: 2n ** 53n + 1n, tsCurrent: MAX_UINT64 });
      await s.close();
      const again = h.durable ? await f.open() : s;
      if (h.durable) {
        const snap = await again.load();
        expect(snap.regions).toEqual([big]);
        expect(snap.allocator).toEqual({ idCurrent: 2n ** 53n + 1n, tsCurrent: MAX_UINT64 });
        await again.close();
      }
    });

    it("keeps peers exactly as reported: two on one store, the same peer twice, in order", async () => {
      const f = await fresh();
      const s = await f.open();
      const odd: Region = {
        ...testRegion(5n, "a", "b"),
        peers: [
          { storeId: 1n, peerId: 51n },
          { storeId: 2n, peerId: 52n },
          { storeId: 1n, peerId: 53n },
          { storeId: 2n, peerId: 52n },
        ],
      };
      await s.appendRegionEdits([{ kind: "put", region: odd }]);
      expect((await s.load()).regions).toEqual([odd]);
      await s.close();
      if (h.durable) {
        const again = await f.open();
        expect((await again.load()).regions).toEqual([odd]);
        await again.close();
      }
    });

    it("keeps the newest allocator state", async () => {
      const f = await fresh();
      const s = await f.open();
      await s.saveAllocatorState({ idCurrent: 10n, tsCurrent: 20n });
      await s.saveAllocatorState({ idCurrent: 11n, tsCurrent: 25n });
      expect((await s.load()).allocator).toEqual({ idCurrent: 11n, tsCurrent: 25n });
      await s.close();
      if (h.durable) {
        const again = await f.open();
        expect((await again.load()).allocator).toEqual({ idCurrent: 11n, tsCurrent: 25n });
        await again.close();
      }
    });

    it("applies concurrent appends whole and in a consistent order", async () => {
      const f = await fresh();
      const s = await f.open();
      const batches: RegionEdit[][] = Array.from({ length: 40 }, (_, i) => [
        { kind: "put", region: testRegion(BigInt(i + 1), `a${i}`, `a${i}~`) },
        { kind: "put", region: testRegion(BigInt(i + 1001), `b${i}`, `b${i}~`) },
      ]);
      await Promise.all(batches.map((b) => s.appendRegionEdits(b)));
      expect((await s.load()).regions).toHaveLength(80);
      await s.close();
      if (h.durable) {
        const again = await f.open();
        expect((await again.load()).regions).toHaveLength(80);
        await again.close();
      }
    });

    it("keeps the newest scheduling config, ids above 2^53 exact; none until one is saved", async () => {
      const f = await fresh();
      const s = await f.open();
      expect((await s.load()).schedulingConfig).toBeUndefined();
      const a: SchedulingConfig = {
        maxReplicas: 5,
        defaultStoreLimit: { addPeerPerMin: 15, removePeerPerMin: 15 },
        storeLimits: [{ storeId: 2n ** 60n + 1n, addPeerPerMin: 2.5 }],
        pausedSchedulers: ["balance-region-scheduler"],
      };
      const b: SchedulingConfig = { ...a, maxReplicas: 3, pausedSchedulers: [] };
      await Promise.all([s.saveSchedulingConfig(a), s.saveSchedulingConfig(b)]);
      expect((await s.load()).schedulingConfig).toEqual(b);
      await s.close();
      if (h.durable) {
        const again = await f.open();
        expect((await again.load()).schedulingConfig).toEqual(b);
        await again.close();
      }
    });

    it("rejects writes after close with UNAVAILABLE", async () => {
      const s = await (await fresh()).open();
      await s.close();
      await expect(s.appendRegionEdits([{ kind: "delete", regionId: 1n }])).rejects.toMatchObject({ code: "UNAVAILABLE" });
      await expect(s.saveAllocatorState({ idCurrent: 1n, tsCurrent: 1n })).rejects.toMatchObject({ code: "UNAVAILABLE" });
      await expect(
        s.saveSchedulingConfig({ maxReplicas: 3, defaultStoreLimit: { addPeerPerMin: 1, removePeerPerMin: 1 }, storeLimits: [], pausedSchedulers: [] }),
      ).rejects.toMatchObject({ code: "UNAVAILABLE" });
      await s.close();
    });
  });
}
