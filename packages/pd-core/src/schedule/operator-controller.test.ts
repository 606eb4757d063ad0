import { EXECUTABLE_OPERATION_KINDS, type Region, type RegionHeartbeatExtras } from "@nokv/pd-model";
import { describe, expect, it } from "vitest";
import type { OperatorPlan } from "./operator.js";
import { type ControllerView, OperatorController } from "./operator-controller.js";
import { type RegionStats, RegionStatsIndex } from "./region-stats.js";

const ALL = new Set(EXECUTABLE_OPERATION_KINDS);
const MIB = 1n << 20n;

function setup(opts: { historySize?: number } = {}) {
  let now = 0;
  const index = new RegionStatsIndex();
  const down = new Set<bigint>();
  const c = new OperatorController({
    timeouts: { transferTimeoutMs: 30_000, addPeerTimeoutMs: 600_000, addPeerTimeoutPerMiBMs: 6_000, fastStepTimeoutMs: 60_000 },
    resendIntervalMs: 30_000,
    historySize: opts.historySize ?? 100,
    monoMs: () => now,
    nowMs: () => 1_700_000_000_000 + now,
  });
  const view: ControllerView = {
    stats: (id) => index.get(id),
    region: (id) => index.get(id)?.region,
    isUp: (s) => !down.has(s),
    isPeerLive: (st, s, p) => !down.has(s) && !st.pending.has(p) && !st.down.has(p),
  };
  const hb = (r: Region, extras: RegionHeartbeatExtras): RegionStats => {
    const s = index.put(r, extras);
    c.onRegionHeartbeat(s);
    return s;
  };
  return { c, view, index, down, hb, advance: (ms: number) => (now += ms) };
}

const region = (peers: Array<[store: bigint, peer: bigint]>, confVersion = 1n, version = 1n): Region => ({
  id: 7n,
  startKey: new Uint8Array(),
  endKey: new Uint8Array(),
  epoch: { version, confVersion },
  peers: peers.map(([storeId, peerId]) => ({ storeId, peerId })),
});
const three: Array<[bigint, bigint]> = [
  [1n, 71n],
  [2n, 72n],
  [3n, 73n],
];
const lead = (extra: Partial<RegionHeartbeatExtras> = {}): RegionHeartbeatExtras => ({
  leaderPeerId: 71n,
  approximateSize: 96n * MIB,
  learnerPeerIds: [],
  pendingPeers: [],
  downPeers: [],
  ...extra,
});
const move: OperatorPlan = {
  kind: "replace-down-replica",
  priority: "high",
  steps: [
    { type: "add-learner", storeId: 4n, peerId: 74n },
    { type: "promote-learner", storeId: 4n, peerId: 74n },
    { type: "remove-peer", storeId: 3n, peerId: 73n },
  ],
};

describe("operator controller", () => {
  it("hands each step to the leader's store, advances on the heartbeats that show it done, and succeeds", () => {
    const { c, view, hb, down } = setup();
    down.add(3n);
    const s = hb(region(three), lead());
    const op = c.add(s, move, { executorStoreId: 1n })!;
    expect(op.state).toBe("created");
    expect(c.dispatch(2n, ALL, view)).toEqual([]);
    expect(c.dispatch(1n, ALL, view)).toEqual([
      { kind: "add-learner", regionId: 7n, operatorId: op.id, regionEpoch: { version: 1n, confVersion: 1n }, sourcePeerId: 71n, targetPeerId: 74n, targetStoreId: 4n },
    ]);
    expect(op.state).toBe("running");
    // Added but catching up: not done, and not cancelled although the conf version moved.
    hb(region([...three, [4n, 74n]], 2n), lead({ learnerPeerIds: [74n], pendingPeers: [{ storeId: 4n, peerId: 74n }] }));
    expect(op.current).toBe(0);
    expect(c.get(7n)).toBe(op);
    hb(region([...three, [4n, 74n]], 2n), lead({ learnerPeerIds: [74n] }));
    expect(op.current).toBe(1);
    expect(c.dispatch(1n, ALL, view).map((o) => [o.kind, o.regionEpoch?.confVersion])).toEqual([["promote-learner", 2n]]);
    hb(region([...three, [4n, 74n]], 3n), lead());
    expect(c.dispatch(1n, ALL, view).map((o) => o.kind)).toEqual(["remove-peer"]);
    hb(region([three[0]!, three[1]!, [4n, 74n]], 4n), lead());
    expect(c.get(7n)).toBeUndefined();
    expect(c.history()[0]).toMatchObject({ id: op.id, state: "success", currentStep: 3, kind: "replace-down-replica" });
    expect(c.count("replace-down-replica", "create")).toBe(1);
    expect(c.count("replace-down-replica", "success")).toBe(1);
  });

  it("sends a step again only after the resend interval, never a kind the store does not list, follows the leader", () => {
    const { c, view, hb, advance } = setup();
    const s = hb(region(three), lead());
    c.add(s, move, { executorStoreId: 1n });
    expect(c.dispatch(1n, new Set(["leader-transfer", "remove-peer"] as const), view)).toEqual([]);
    expect(c.dispatch(1n, ALL, view)).toHaveLength(1);
    advance(29_999);
    expect(c.dispatch(1n, ALL, view)).toHaveLength(0);
    advance(1);
    expect(c.dispatch(1n, ALL, view)).toHaveLength(1);
    // Leadership moved to store 2 (an election): the step goes there now.
    hb(region(three), lead({ leaderPeerId: 72n }));
    expect(c.dispatch(1n, ALL, view)).toEqual([]);
    expect(c.dispatch(2n, ALL, view).map((o) => o.sourcePeerId)).toEqual([72n]);
  });

  it("holds a step that would leave no live majority, and sends it once it is safe", () => {
    const { c, view, hb, down } = setup();
    const s = hb(region(three), lead());
    c.add(s, { kind: "remove-extra-replica", priority: "high", steps: [{ type: "remove-peer", storeId: 2n, peerId: 72n }] }, { executorStoreId: 1n });
    down.add(3n);
    expect(c.dispatch(1n, ALL, view)).toEqual([]);
    down.delete(3n);
    expect(c.dispatch(1n, ALL, view)).toHaveLength(1);
  });

  it("times a step out after its own timeout: an add after max(10 min, 6 s/MiB)", () => {
    const { c, view, hb, advance } = setup();
    const s = hb(region(three), lead({ approximateSize: 200n * MIB }));
    c.add(s, move, { executorStoreId: 1n });
    advance(1_199_999);
    c.sweep(view);
    expect(c.size).toBe(1);
    advance(1);
    c.sweep(view);
    expect(c.size).toBe(0);
    expect(c.history()[0]).toMatchObject({ state: "timeout" });
    expect(c.history()[0]!.reason).toMatch(/step 0 \(add-learner\)/);
  });

  it("cancels when the epoch moves beyond its own steps, the region turns odd, a target store leaves, or a step turns stale", () => {
    const cases: Array<[string, (h: ReturnType<typeof setup>) => void, RegExp]> = [
      ["conf moved", (h) => h.hb(region(three, 2n), lead()), /conf version moved to 2/],
      ["duplicate peers", (h) => h.hb(region([...three, [2n, 79n]], 1n), lead()), /duplicate peers/],
      ["target store down", (h) => (h.down.add(4n), h.c.sweep(h.view)), /store 4 is not up/],
      ["another peer on the target", (h) => h.hb(region([...three, [4n, 99n]], 2n), lead()), /store 4 already holds peer 99/],
      ["region removed", (h) => h.c.forgetRegion(7n), /region removed/],
    ];
    for (const [name, act, reason] of cases) {
      const h = setup();
      h.c.add(h.hb(region(three), lead()), move, { executorStoreId: 1n });
      act(h);
      expect(h.c.size, name).toBe(0);
      expect(h.c.history()[0], name).toMatchObject({ state: "cancelled" });
      expect(h.c.history()[0]!.reason, name).toMatch(reason);
    }
  });

  it("lets a higher priority replace a lower one, never the reverse, one operator per region", () => {
    const { c, hb } = setup();
    const s = hb(region(three), lead());
    const balance: OperatorPlan = { kind: "balance-region", priority: "normal", steps: move.steps };
    const low = c.add(s, balance)!;
    expect(c.add(s, balance)).toBeUndefined();
    const high = c.add(s, move)!;
    expect(c.get(7n)).toBe(high);
    expect(low.state).toBe("replaced");
    expect(c.add(s, balance)).toBeUndefined();
    expect(c.add(s, move)).toBeUndefined();
    expect(c.size).toBe(1);
    expect(c.count("balance-region", "replaced")).toBe(1);
  });

  it("keeps the influence of unfinished steps, and a bounded history, newest first", () => {
    const { c, hb } = setup({ historySize: 3 });
    const s = hb(region(three), lead());
    c.add(s, move);
    expect([c.pendingWeightDelta(4n), c.pendingWeightDelta(3n)]).toEqual([96, -96]);
    hb(region([...three, [4n, 74n]], 2n), lead({ learnerPeerIds: [74n] }));
    expect([c.pendingWeightDelta(4n), c.pendingWeightDelta(3n)]).toEqual([0, -96]);
    c.cancel(7n, "admin");
    expect([c.pendingWeightDelta(4n), c.pendingWeightDelta(3n)]).toEqual([0, 0]);
    for (let i = 0; i < 4; i++) {
      c.add(s, { kind: "balance-leader", priority: "normal", steps: [{ type: "transfer-leader", fromStoreId: 1n, fromPeerId: 71n, toStoreId: 2n, toPeerId: 72n }] });
      expect([c.pendingLeaderDelta(1n), c.pendingLeaderDelta(2n), c.transfersInFlight(1n)]).toEqual([-1, 1, 1]);
      c.cancel(7n, `n${i}`);
    }
    expect(c.history().map((h) => h.reason)).toEqual(["n3", "n2", "n1"]);
    expect(c.transferCounters()).toEqual({ issued: 4, completed: 0, expired: 0, cancelled: 4 });
  });
});
