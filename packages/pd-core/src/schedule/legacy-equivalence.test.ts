import type { Region, StoreStats } from "@nokv/pd-model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createCluster } from "../cluster/cluster.js";
import { RegionCatalog } from "../region/catalog.js";
import { type LivenessThresholds, storeLiveness } from "../store/liveness.js";
import { StoreRegistry } from "../store/store-registry.js";
import { type LeaderTransfer, planLeaderTransfer } from "./leader-transfer.js";
import { type OperatorLimits, OperatorTracker } from "../testing/legacy-operator-tracker.js";

// Stores without capabilities (every NoKV Go store) must see exactly what
// PD gave them before operators existed. The reference below is PD's
// store-heartbeat path as it was (commit cf8d4f7, `Cluster.storeHeartbeat`
// over `OperatorTracker` and `planLeaderTransfer`), kept verbatim; the same
// random inputs drive it and today's `Cluster`, and every answer must be
// identical, byte for byte in the domain (no extra fields).

const LIVENESS: LivenessThresholds = { disconnectedAfterMs: 20_000, downAfterMs: 60_000 };

function reference(limits: OperatorLimits, clock: () => number) {
  const regions = new RegionCatalog({ log: { appendRegionEdits: async () => {} }, nowMs: clock });
  const stores = new StoreRegistry(clock, clock);
  const ops = new OperatorTracker(limits, clock);
  function storeHeartbeat(stats: StoreStats): LeaderTransfer[] {
    stores.heartbeat(stats);
    ops.observeStoreHeartbeat(stats.storeId, stats.leaderNum);
    const now = clock();
    const isUp = (storeId: bigint): boolean => {
      const s = stores.get(storeId);
      return s !== undefined && storeLiveness(s.lastHeartbeatMonoMs, now, LIVENESS) === "up";
    };
    ops.prune((id) => regions.getRegion(id), isUp);
    const max = ops.limits.maxInFlightPerStore;
    if (ops.inFlightCount(stats.storeId) >= max) return [];
    const candidates: StoreStats[] = [];
    for (const s of stores.list()) {
      if (!isUp(s.storeId) || ops.inFlightCount(s.storeId) >= max) continue;
      const delta = ops.pendingLeaderDelta(s.storeId);
      if (delta === 0n) candidates.push(s);
      else {
        const leaderNum = s.leaderNum + delta;
        candidates.push({ ...s, leaderNum: leaderNum < 0n ? 0n : leaderNum });
      }
    }
    const op = planLeaderTransfer(candidates, regions.regions(), stats.storeId, {
      skipRegion: (id) => ops.has(id),
      knownLeaderStore: (r) => ops.knownLeaderStore(r),
    });
    if (op === undefined) return [];
    const region = regions.getRegion(op.regionId)!;
    const target = region.peers.find((p) => p.peerId === op.targetPeerId)!;
    ops.issue(op, region, stats.storeId, target.storeId);
    return [op];
  }
  return {
    storeHeartbeat,
    regionHeartbeat: (r: Region) => regions.heartbeat(r),
    removeRegion: (id: bigint) => regions.remove(id).then((removed) => (ops.forgetRegion(id), removed)),
    inFlight: () => ops.list().map((t) => t.op.regionId),
  };
}

type Action =
  /** A store heartbeat; its leader count is the store's previous one plus `change` (the first is `initial`). */
  | { readonly t: "store"; readonly storeId: bigint; readonly initial: bigint; readonly change: bigint }
  | { readonly t: "region"; readonly id: bigint; readonly stores: readonly bigint[]; readonly bump: "none" | "version" | "conf"; readonly twice: boolean }
  | { readonly t: "advance"; readonly ms: number }
  | { readonly t: "remove"; readonly id: bigint };

const storeId = fc.bigInt({ min: 1n, max: 5n });
// Skewed first counts (a loaded store and idle ones) and counts that mostly stay put between
// heartbeats make transfers, several in flight at once, and their completions all common.
const initial = fc.oneof(fc.bigInt({ min: 0n, max: 1n }), fc.bigInt({ min: 5n, max: 9n }));
const change = fc.constantFrom(0n, 0n, 0n, 0n, -1n, -1n, 1n, -2n, 2n);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant("store" as const), storeId, initial, change }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("region" as const),
      id: fc.bigInt({ min: 1n, max: 8n }),
      stores: fc.uniqueArray(storeId, { minLength: 2, maxLength: 4 }),
      bump: fc.constantFrom("none" as const, "version" as const, "conf" as const),
      twice: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("advance" as const), ms: fc.constantFrom(1_000, 5_000, 15_000, 31_000, 70_000) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("remove" as const), id: fc.bigInt({ min: 1n, max: 8n }) }) },
);

async function drive(actions: readonly Action[], limits: OperatorLimits): Promise<void> {
  let now = 1_000_000;
  const clock = () => now;
  const old = reference(limits, clock);
  const cluster = createCluster({
    persistence: { appendRegionEdits: async () => {}, saveAllocatorState: async () => {} },
    nowMs: clock,
    monotonicMs: clock,
    liveness: LIVENESS,
    operators: limits,
  });
  const epochs = new Map<bigint, { version: bigint; confVersion: bigint }>();
  const counts = new Map<bigint, bigint>();
  for (const [i, a] of actions.entries()) {
    if (a.t === "store") {
      const prev = counts.get(a.storeId);
      const leaderNum = prev === undefined ? a.initial : prev + a.change < 0n ? 0n : prev + a.change;
      counts.set(a.storeId, leaderNum);
      const stats = { storeId: a.storeId, leaderNum, regionNum: 10n, capacity: 100n, available: 50n };
      const want = old.storeHeartbeat(stats);
      const got = cluster.storeHeartbeat(stats);
      expect(got, `action ${i}`).toStrictEqual(want);
      expect(cluster.scheduling.operators.list().map((op) => op.regionId), `in flight after action ${i}`).toEqual(old.inFlight());
    } else if (a.t === "region") {
      const e = epochs.get(a.id) ?? { version: 1n, confVersion: 1n };
      const next = {
        version: e.version + (a.bump === "version" ? 1n : 0n),
        confVersion: e.confVersion + (a.bump === "conf" ? 1n : 0n),
      };
      epochs.set(a.id, next);
      // One key range per id ([id, id+1)), so heartbeats never overlap another region.
      const peers = a.stores.map((s) => ({ storeId: s, peerId: a.id * 100n + s }));
      if (a.twice && peers.length > 1) peers.push({ storeId: peers[0]!.storeId, peerId: a.id * 100n + 99n });
      const region: Region = { id: a.id, startKey: Uint8Array.of(Number(a.id)), endKey: Uint8Array.of(Number(a.id) + 1), epoch: next, peers };
      const [x, y] = await Promise.allSettled([old.regionHeartbeat(region), cluster.regionHeartbeat(region)]);
      expect(y.status, `action ${i}`).toBe(x.status);
    } else if (a.t === "advance") {
      now += a.ms;
    } else {
      expect(await cluster.removeRegion(a.id), `action ${i}`).toBe(await old.removeRegion(a.id));
    }
  }
}

describe("stores without capabilities see exactly today's behaviour", () => {
  it("answers every store heartbeat as PD's original planner did, on random inputs (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(action, { minLength: 1, maxLength: 120, size: "max" }),
        fc.record({ transferTimeoutMs: fc.constantFrom(5_000, 30_000), maxInFlightPerStore: fc.integer({ min: 1, max: 4 }) }),
        (actions, limits) => drive(actions, limits),
      ),
      { numRuns: 300 },
    );
  });

  it("plans at least one transfer in the driven scenarios (the comparison is not vacuous)", async () => {
    // A fixed scenario the property's generator also produces: three stores, store 1 leads six regions.
    const actions: Action[] = [];
    for (let id = 1n; id <= 6n; id++) actions.push({ t: "region", id, stores: [1n, 2n, 3n], bump: "none", twice: false });
    actions.push(
      { t: "store", storeId: 2n, initial: 0n, change: 0n },
      { t: "store", storeId: 3n, initial: 0n, change: 0n },
      { t: "store", storeId: 1n, initial: 6n, change: 0n },
    );
    let seen = 0;
    let now = 0;
    const old = reference({ transferTimeoutMs: 30_000, maxInFlightPerStore: 4 }, () => now);
    for (const a of actions) {
      if (a.t === "region") await old.regionHeartbeat({ id: a.id, startKey: Uint8Array.of(Number(a.id)), endKey: Uint8Array.of(Number(a.id) + 1), epoch: { version: 1n, confVersion: 1n }, peers: a.stores.map((s) => ({ storeId: s, peerId: a.id * 100n + s })) });
      if (a.t === "store") seen += old.storeHeartbeat({ storeId: a.storeId, leaderNum: a.initial, regionNum: 0n, capacity: 0n, available: 0n }).length;
      now += 1;
    }
    expect(seen).toBe(1);
    await drive(actions, { transferTimeoutMs: 30_000, maxInFlightPerStore: 4 });
  });
});
