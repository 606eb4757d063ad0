import { describe, expect, it } from "vitest";
import type { Region } from "@nokv/pd-model";
import { RegionCatalog } from "../region/catalog.js";
import { createCluster } from "./cluster.js";

const region = (id: bigint, stores: bigint[]): Region => ({
  id,
  startKey: Uint8Array.of(Number(id)),
  endKey: Uint8Array.of(Number(id) + 1),
  epoch: { version: 1n, confVersion: 1n },
  peers: stores.map((s) => ({ storeId: s, peerId: id * 100n + s })),
});
const stats = (storeId: bigint, leaderNum: bigint) => ({ storeId, leaderNum, regionNum: 10n, capacity: 100n, available: 50n });

async function setup(options: { disconnectedAfterMs?: number; transferTimeoutMs?: number; maxInFlightPerStore?: number } = {}) {
  let now = 1_000_000;
  const cluster = createCluster({
    persistence: { appendRegionEdits: async () => {}, saveAllocatorState: async () => {} },
    nowMs: () => now,
    monotonicMs: () => now,
    liveness: { disconnectedAfterMs: options.disconnectedAfterMs ?? 20_000, downAfterMs: 60_000 },
    operators: {
      transferTimeoutMs: options.transferTimeoutMs ?? 30_000,
      maxInFlightPerStore: options.maxInFlightPerStore ?? 1,
    },
  });
  for (let id = 1n; id <= 6n; id++) await cluster.regionHeartbeat(region(id, [1n, 2n, 3n]));
  return { cluster, advance: (ms: number) => (now += ms) };
}

describe("cluster scheduling", () => {
  it("does not re-issue an in-flight transfer on every heartbeat and plans again once the leader moved", async () => {
    const { cluster } = await setup();
    cluster.storeHeartbeat(stats(2n, 0n));
    cluster.storeHeartbeat(stats(3n, 1n));
    const first = cluster.storeHeartbeat(stats(1n, 6n));
    expect(first).toEqual([expect.objectContaining({ regionId: 1n, sourcePeerId: 101n, targetPeerId: 102n })]);
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toEqual([]);
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toEqual([]);
    expect(cluster.scheduling.operators.size).toBe(1);
    // The store moved one leader: the transfer is done, the next one may go.
    const next = cluster.storeHeartbeat(stats(1n, 5n));
    expect(cluster.scheduling.operators.transferCounters()).toMatchObject({ issued: 2, completed: 1 });
    expect(next).toEqual([expect.objectContaining({ regionId: 2n, targetPeerId: 202n })]);
  });

  it("keeps at most maxInFlightPerStore transfers per store and counts them when comparing loads", async () => {
    const { cluster } = await setup({ maxInFlightPerStore: 2 });
    cluster.storeHeartbeat(stats(2n, 0n));
    cluster.storeHeartbeat(stats(3n, 0n));
    const ops = [cluster.storeHeartbeat(stats(1n, 6n)), cluster.storeHeartbeat(stats(1n, 6n)), cluster.storeHeartbeat(stats(1n, 6n))];
    expect(ops.map((o) => o.length)).toEqual([1, 1, 0]);
    expect(new Set(ops.flat().map((o) => o.regionId)).size).toBe(2);
    // Two targets got one each: 6-2 vs 1 and 1 — still skewed, but store 1 is at its limit.
    expect(cluster.scheduling.operators.transfersInFlight(1n)).toBe(2);
  });

  it("stops counting a planned move once the skew is gone", async () => {
    const { cluster } = await setup({ maxInFlightPerStore: 10 });
    cluster.storeHeartbeat(stats(2n, 0n));
    cluster.storeHeartbeat(stats(3n, 2n));
    // 3 vs 0 (and 2): one move makes it 2 / 1 / 2, so the next heartbeat plans nothing.
    expect(cluster.storeHeartbeat(stats(1n, 3n))).toHaveLength(1);
    expect(cluster.storeHeartbeat(stats(1n, 3n))).toEqual([]);
  });

  it("re-issues a transfer that timed out", async () => {
    const { cluster, advance } = await setup({ transferTimeoutMs: 5_000 });
    cluster.storeHeartbeat(stats(2n, 0n));
    cluster.storeHeartbeat(stats(3n, 1n));
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toHaveLength(1);
    advance(4_000);
    cluster.storeHeartbeat(stats(2n, 0n));
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toEqual([]);
    advance(1_000);
    cluster.storeHeartbeat(stats(2n, 0n));
    cluster.storeHeartbeat(stats(3n, 1n));
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toEqual([expect.objectContaining({ regionId: 1n })]);
    expect(cluster.scheduling.operators.transferCounters().expired).toBe(1);
  });

  it("plans no transfer to or from a store that is not up, and reports liveness", async () => {
    const { cluster, advance } = await setup();
    cluster.storeHeartbeat(stats(2n, 0n));
    advance(20_000);
    cluster.storeHeartbeat(stats(3n, 5n));
    expect(cluster.storeLiveness(2n)).toBe("disconnected");
    // Store 2 (fewest leaders) is silent: nothing moves to it; store 3 differs by 1 only.
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toEqual([]);
    expect(cluster.storeStatuses().map((s) => [s.storeId, s.liveness])).toEqual([
      [1n, "up"],
      [2n, "disconnected"],
      [3n, "up"],
    ]);
    advance(40_000);
    expect(cluster.storeLiveness(2n)).toBe("down");
    expect(cluster.storeLiveness(9n)).toBeUndefined();
    // Back: the store is up again and receives the transfer.
    cluster.storeHeartbeat(stats(2n, 0n));
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toEqual([expect.objectContaining({ targetPeerId: 102n })]);
  });

  it("cancels an in-flight transfer when its target goes silent", async () => {
    const { cluster, advance } = await setup({ transferTimeoutMs: 60_000 });
    cluster.storeHeartbeat(stats(2n, 0n));
    cluster.storeHeartbeat(stats(3n, 1n));
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toHaveLength(1);
    advance(25_000);
    cluster.storeHeartbeat(stats(3n, 1n));
    // The transfer to silent store 2 is dropped; store 3 gets one instead.
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toEqual([expect.objectContaining({ targetPeerId: 103n })]);
    expect(cluster.scheduling.operators.list().map((op) => (op.steps[0] as { toStoreId: bigint }).toStoreId)).toEqual([3n]);
    expect(cluster.scheduling.operators.transferCounters().cancelled).toBe(1);
  });

  it("plans nothing onto a region with two peers on one store until it is back to one peer per store", async () => {
    const cluster = createCluster({ persistence: { appendRegionEdits: async () => {}, saveAllocatorState: async () => {} } });
    const odd: Region = { ...region(1n, [1n, 2n]), peers: [...region(1n, [1n, 2n]).peers, { storeId: 2n, peerId: 199n }] };
    expect(await cluster.regionHeartbeat(odd)).toMatchObject({ changed: true, duplicatePeers: "appeared" });
    cluster.storeHeartbeat(stats(2n, 0n));
    for (let i = 0; i < 3; i++) expect(cluster.storeHeartbeat(stats(1n, 6n))).toEqual([]);
    expect(cluster.scheduling.operators.transferCounters().issued).toBe(0);
    const fixed: Region = { ...region(1n, [1n, 2n]), epoch: { version: 1n, confVersion: 2n } };
    expect(await cluster.regionHeartbeat(fixed)).toMatchObject({ duplicatePeers: "resolved" });
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toEqual([expect.objectContaining({ regionId: 1n, targetPeerId: 102n })]);
  });
});

describe("cluster ids against the catalog", () => {
  const persistence = () => {
    const saved: bigint[] = [];
    return { saved, appendRegionEdits: async () => {}, saveAllocatorState: async (s: { idCurrent: bigint }) => void saved.push(s.idCurrent) };
  };

  it("refuses to start when the id checkpoint is below an id in the catalog, and starts with --id-start above it", () => {
    const snapshot = { regions: [region(7n, [1n, 2n])], allocator: { idCurrent: 600n, tsCurrent: 0n } };
    // Region 7's peers are 701 and 702: a checkpoint of 600 (say, a flipped digit) would hand them out again.
    expect(() => createCluster({ persistence: persistence(), snapshot })).toThrow(/region 7 in the catalog uses id 702.*--id-start/);
    try {
      createCluster({ persistence: persistence(), snapshot });
    } catch (err) {
      expect((err as { code: string }).code).toBe("STORAGE");
    }
    expect(createCluster({ persistence: persistence(), snapshot, idStart: 703n }).ids.next).toBe(703n);
  });

  it("moves the id allocator past ids a heartbeat reports, durably, before accepting it", async () => {
    const p = persistence();
    const cluster = createCluster({ persistence: p });
    await cluster.regionHeartbeat(region(5n, [1n, 3n])); // peers 501 and 503
    expect(p.saved.at(-1)!).toBeGreaterThanOrEqual(503n);
    const run = await cluster.allocId(1n);
    expect(run.first).toBe(504n);
    // A malformed heartbeat moves nothing.
    await expect(cluster.regionHeartbeat({ ...region(9n, [1n]), peers: [{ storeId: 0n, peerId: 9999n }] })).rejects.toThrow();
    expect((await cluster.allocId(1n)).first).toBe(505n);
  });
});

describe("cluster on a warm catalog", () => {
  it("serves the catalog it is given, writes through its own persistence, and starts its allocators above the snapshot's ceilings", async () => {
    const follower = { appendRegionEdits: async () => Promise.reject(new Error("a follower does not write")), saveAllocatorState: async () => {} };
    const catalog = new RegionCatalog({ log: follower });
    catalog.restore([region(1n, [1n, 2n])]);
    catalog.applyDurable([{ kind: "put", region: region(2n, [1n]) }]);
    const appended: number[] = [];
    const cluster = createCluster({
      persistence: { appendRegionEdits: async (e) => void appended.push(e.length), saveAllocatorState: async () => {} },
      snapshot: { regions: [], allocator: { idCurrent: 1000n, tsCurrent: 5000n }, catalog },
    });
    expect(cluster.regions).toBe(catalog);
    expect(cluster.getRegionByKey(Uint8Array.of(2))?.id).toBe(2n);
    expect(cluster.ids.next).toBe(1001n);
    expect(cluster.tso.last).toBeGreaterThanOrEqual(5000n);
    await cluster.regionHeartbeat(region(3n, [1n]));
    expect(appended).toEqual([1]);
    await cluster.flush();
    // The id check covers the warm catalog too.
    expect(() => createCluster({ persistence: follower, snapshot: { regions: [], allocator: { idCurrent: 5n, tsCurrent: 0n }, catalog } })).toThrow(/uses id/);
  });
});

describe("cluster on a large restored catalog", () => {
  it("indexes it for scheduling in batches after it serves, balancing nothing until done; heartbeats and removals in between stand", async () => {
    const tasks: Array<() => void> = [];
    const catalog = new RegionCatalog({ log: { appendRegionEdits: async () => {} } });
    // Seven regions, all on stores 1-3 and none on 4: balance-region would move some once it can.
    catalog.restore([1n, 2n, 3n, 4n, 5n, 6n, 7n].map((id) => region(id, [1n, 2n, 3n])));
    const cluster = createCluster({
      persistence: { appendRegionEdits: async () => {}, saveAllocatorState: async () => {} },
      snapshot: { regions: [], allocator: { idCurrent: 1000n, tsCurrent: 0n }, catalog },
      schedulePolicy: { restoreBatch: 3 },
      defer: (task) => void tasks.push(task),
    });
    const s = cluster.scheduling;
    // It serves at once: the first batch is indexed, the rest waits for later tasks.
    expect(cluster.getRegionByKey(Uint8Array.of(6))?.id).toBe(6n);
    expect([s.restoring, s.index.size, tasks.length]).toEqual([true, 3, 1]);
    // In between: region 5 heartbeats with its leader, region 6 is removed.
    await cluster.regionHeartbeat(region(5n, [1n, 2n, 3n]), { leaderPeerId: 502n, learnerPeerIds: [], pendingPeers: [], downPeers: [] });
    await cluster.removeRegion(6n);
    // A durable id ceiling, so that planning can take peer ids at once: only the restore holds balance back.
    await cluster.allocId(1n);
    const caps = ["leader-transfer", "add-peer", "add-learner", "promote-learner", "remove-peer"] as const;
    const hb = (storeId: bigint) => cluster.storeHeartbeat({ ...stats(storeId, 0n), capacity: 1n << 40n, available: 1n << 39n, capabilities: caps });
    for (const id of [1n, 2n, 3n, 4n]) expect(hb(id)).toEqual([]);
    expect(s.operators.size).toBe(0);
    while (tasks.length > 0) tasks.shift()!();
    expect(s.restoring).toBe(false);
    await s.whenRestored();
    expect(s.index.size).toBe(6);
    expect(s.index.get(6n)).toBeUndefined();
    expect(s.index.get(5n)?.leaderStoreId).toBe(2n);
    expect(s.index.regionCount(1n)).toBe(6);
    // Now it balances: store 4 gets peers.
    for (const id of [4n, 1n, 2n, 3n]) hb(id);
    expect(s.operators.list().some((op) => op.kind === "balance-region")).toBe(true);
  });

  it("indexes a catalog of at most one batch at once", () => {
    const catalog = new RegionCatalog({ log: { appendRegionEdits: async () => {} } });
    catalog.restore([1n, 2n, 3n].map((id) => region(id, [1n])));
    const cluster = createCluster({
      persistence: { appendRegionEdits: async () => {}, saveAllocatorState: async () => {} },
      snapshot: { regions: [], allocator: { idCurrent: 1000n, tsCurrent: 0n }, catalog },
      schedulePolicy: { restoreBatch: 3 },
      defer: () => {
        throw new Error("no later batch expected");
      },
    });
    expect([cluster.scheduling.restoring, cluster.scheduling.index.size]).toEqual([false, 3]);
  });
});

describe("cluster clocks", () => {
  it("measures store liveness on the monotonic clock: a wall-clock step back or forward changes nothing", () => {
    let wall = 1_000_000;
    let mono = 0;
    const cluster = createCluster({
      persistence: { appendRegionEdits: async () => {}, saveAllocatorState: async () => {} },
      nowMs: () => wall,
      monotonicMs: () => mono,
      liveness: { disconnectedAfterMs: 20_000, downAfterMs: 60_000 },
    });
    cluster.storeHeartbeat(stats(1n, 0n));
    wall += 3_600_000; // an hour forward
    expect(cluster.storeLiveness(1n)).toBe("up");
    wall -= 7_200_000; // then two hours back
    expect(cluster.storeLiveness(1n)).toBe("up");
    mono += 20_000;
    expect(cluster.storeLiveness(1n)).toBe("disconnected");
    // The reported heartbeat time is the wall clock's, for people.
    expect(cluster.storeStatuses()[0]!.lastHeartbeatMs).toBe(1_000_000n);
  });
});

describe("scheduling config", () => {
  const base = () => ({ appendRegionEdits: async () => {}, saveAllocatorState: async () => {} });

  it("makes a change durable before applying it, in call order, and starts from the restored record", async () => {
    const saved: unknown[] = [];
    let release: (() => void) | undefined;
    const persistence = {
      ...base(),
      saveSchedulingConfig: (c: unknown) => {
        saved.push(c);
        return saved.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
      },
    };
    const cluster = createCluster({ persistence });
    expect(cluster.schedulingConfig.maxReplicas).toBe(3);
    const first = cluster.updateSchedulingConfig({ maxReplicas: 5 });
    const second = cluster.setSchedulerPaused("balance-region", true);
    await Promise.resolve();
    // Not applied until durable.
    expect(cluster.schedulingConfig.maxReplicas).toBe(3);
    expect(saved).toHaveLength(1);
    release!();
    await first;
    expect(await second).toEqual({ name: "balance-region-scheduler", paused: true });
    expect(saved).toHaveLength(2);
    expect(saved[1]).toMatchObject({ maxReplicas: 5, pausedSchedulers: ["balance-region-scheduler"] });
    expect(cluster.schedulers()).toEqual([
      { name: "balance-leader-scheduler", paused: false },
      { name: "balance-region-scheduler", paused: true },
      { name: "replica-checker", paused: false },
    ]);
    const again = createCluster({ persistence, snapshot: { regions: [], allocator: { idCurrent: 0n, tsCurrent: 0n }, schedulingConfig: saved[1] as never } });
    expect(again.schedulingConfig).toEqual(saved[1]);
  });

  it("refuses a bad change (INVALID_ARGUMENT) or a failed write (STORAGE) and changes nothing", async () => {
    let fail = false;
    const cluster = createCluster({
      persistence: { ...base(), saveSchedulingConfig: async () => { if (fail) throw new Error("disk full"); } },
    });
    await expect(cluster.updateSchedulingConfig({ maxReplicas: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: /max-replicas/ });
    await expect(cluster.setSchedulerPaused("hot-region", true)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    fail = true;
    await expect(cluster.updateSchedulingConfig({ defaultStoreLimit: { addPeerPerMin: 1, removePeerPerMin: 1 } })).rejects.toMatchObject({
      code: "STORAGE",
      message: /disk full/,
    });
    expect(cluster.schedulingConfig.defaultStoreLimit).toEqual({ addPeerPerMin: 15, removePeerPerMin: 15 });
    fail = false;
    await cluster.updateSchedulingConfig({ maxReplicas: 1 });
    expect(cluster.schedulingConfig.maxReplicas).toBe(1);
  });

  it("refuses to start on a restored record it cannot schedule by", () => {
    const snapshot = { regions: [], allocator: { idCurrent: 0n, tsCurrent: 0n }, schedulingConfig: { maxReplicas: 0, defaultStoreLimit: { addPeerPerMin: 1, removePeerPerMin: 1 }, storeLimits: [], pausedSchedulers: [] } };
    expect(() => createCluster({ persistence: base(), snapshot })).toThrow(/restored scheduling config: max-replicas/);
  });

  it("a paused balance-leader gives Go stores no transfer either", async () => {
    const { cluster } = await setup();
    await cluster.setSchedulerPaused("balance-leader", true);
    cluster.storeHeartbeat(stats(2n, 0n));
    cluster.storeHeartbeat(stats(3n, 0n));
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toEqual([]);
    await cluster.setSchedulerPaused("balance-leader", false);
    expect(cluster.storeHeartbeat(stats(1n, 6n))).toHaveLength(1);
  });
});
