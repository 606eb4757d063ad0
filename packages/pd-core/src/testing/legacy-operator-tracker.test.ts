import { describe, expect, it } from "vitest";
import type { Region } from "@nokv/pd-model";
import type { LeaderTransfer } from "../schedule/leader-transfer.js";
import { checkOperatorLimits, DEFAULT_OPERATOR_LIMITS, OperatorTracker } from "./legacy-operator-tracker.js";

const region = (id: bigint, stores: bigint[], version = 1n, confVersion = 1n): Region => ({
  id,
  startKey: new Uint8Array(),
  endKey: new Uint8Array(),
  epoch: { version, confVersion },
  peers: stores.map((s) => ({ storeId: s, peerId: id * 100n + s })),
});
const transfer = (r: Region, from: bigint, to: bigint): LeaderTransfer => ({
  kind: "leader-transfer",
  regionId: r.id,
  sourcePeerId: r.id * 100n + from,
  targetPeerId: r.id * 100n + to,
});

function setup(limits = { transferTimeoutMs: 1_000, maxInFlightPerStore: 2 }) {
  let now = 0;
  const tracker = new OperatorTracker(limits, () => now);
  const regions = new Map<bigint, Region>();
  const up = new Set<bigint>([1n, 2n, 3n]);
  const prune = () => tracker.prune((id) => regions.get(id), (s) => up.has(s));
  const issue = (r: Region, from: bigint, to: bigint) => {
    regions.set(r.id, r);
    tracker.issue(transfer(r, from, to), r, from, to);
  };
  return { tracker, regions, up, prune, issue, advance: (ms: number) => (now += ms) };
}

describe("operator tracker", () => {
  it("keeps a transfer in flight until the source reports fewer leaders, oldest first", () => {
    const { tracker, issue, prune } = setup();
    tracker.observeStoreHeartbeat(1n, 5n);
    issue(region(7n, [1n, 2n]), 1n, 2n);
    issue(region(8n, [1n, 2n]), 1n, 2n);
    tracker.observeStoreHeartbeat(1n, 5n);
    prune();
    expect(tracker.has(7n) && tracker.has(8n)).toBe(true);
    expect(tracker.inFlightCount(1n)).toBe(2);
    expect(tracker.pendingLeaderDelta(1n)).toBe(-2n);
    expect(tracker.pendingLeaderDelta(2n)).toBe(2n);
    tracker.observeStoreHeartbeat(1n, 4n);
    expect(tracker.has(7n)).toBe(false);
    expect(tracker.has(8n)).toBe(true);
    expect(tracker.counters()).toMatchObject({ issued: 2, completed: 1 });
  });

  it("completes incoming transfers when the target reports more leaders", () => {
    const { tracker, issue } = setup();
    tracker.observeStoreHeartbeat(2n, 0n);
    issue(region(7n, [1n, 2n]), 1n, 2n);
    issue(region(8n, [1n, 3n]), 1n, 3n);
    tracker.observeStoreHeartbeat(2n, 1n);
    expect(tracker.list().map((t) => t.op.regionId)).toEqual([8n]);
    tracker.observeStoreHeartbeat(3n, 9n); // first count seen from store 3: nothing to compare
    expect(tracker.has(8n)).toBe(true);
  });

  it("expires a transfer after the timeout", () => {
    const { tracker, issue, prune, advance } = setup();
    issue(region(7n, [1n, 2n]), 1n, 2n);
    advance(999);
    prune();
    expect(tracker.has(7n)).toBe(true);
    advance(1);
    prune();
    expect(tracker.has(7n)).toBe(false);
    expect(tracker.counters()).toMatchObject({ expired: 1, completed: 0, cancelled: 0 });
  });

  it("cancels a transfer whose region changed epoch, lost a peer, vanished, or whose store is not up", () => {
    const { tracker, regions, up, issue, prune } = setup({ transferTimeoutMs: 1_000, maxInFlightPerStore: 10 });
    issue(region(1n, [1n, 2n]), 1n, 2n);
    issue(region(2n, [1n, 2n]), 1n, 2n);
    issue(region(3n, [1n, 2n]), 1n, 2n);
    issue(region(4n, [1n, 3n]), 1n, 3n);
    issue(region(5n, [1n, 2n]), 1n, 2n);
    regions.set(1n, region(1n, [1n, 2n], 2n));
    regions.set(2n, region(2n, [1n, 3n], 1n, 2n));
    regions.delete(3n);
    up.delete(3n);
    prune();
    expect(tracker.list().map((t) => t.op.regionId)).toEqual([5n]);
    expect(tracker.counters()).toMatchObject({ issued: 5, cancelled: 4 });
  });

  it("re-issuing a region replaces its entry", () => {
    const { tracker, issue } = setup();
    const r = region(7n, [1n, 2n, 3n]);
    issue(r, 1n, 2n);
    issue(r, 1n, 3n);
    expect(tracker.size).toBe(1);
    expect(tracker.list()[0]!.targetStoreId).toBe(3n);
  });

  it("has sensible defaults and refuses bad limits", () => {
    expect(DEFAULT_OPERATOR_LIMITS).toEqual({ transferTimeoutMs: 30_000, maxInFlightPerStore: 4 });
    expect(() => checkOperatorLimits({ transferTimeoutMs: 0, maxInFlightPerStore: 1 })).toThrow(RangeError);
    expect(() => checkOperatorLimits({ transferTimeoutMs: 10, maxInFlightPerStore: 1.5 })).toThrow(/maxInFlightPerStore/);
  });

  it("remembers where a completed transfer moved the leader while the epoch holds", () => {
    const { tracker, issue } = setup();
    const r = region(7n, [1n, 2n]);
    tracker.observeStoreHeartbeat(1n, 3n);
    issue(r, 1n, 2n);
    expect(tracker.knownLeaderStore(r)).toBeUndefined();
    tracker.observeStoreHeartbeat(1n, 2n);
    expect(tracker.knownLeaderStore(r)).toBe(2n);
    expect(tracker.knownLeaderStore(region(7n, [1n, 2n], 2n))).toBeUndefined();
    expect(tracker.knownLeaderStore(r)).toBeUndefined();
  });

  it("cancels a transfer whose region now reports two peers on one store", () => {
    const { tracker, regions, issue, prune } = setup();
    const r = region(1n, [1n, 2n]);
    issue(r, 1n, 2n);
    // Same epoch: only the peer list tells that the region is no longer one peer per store.
    regions.set(1n, { ...r, peers: [...r.peers, { storeId: 2n, peerId: 199n }] });
    prune();
    expect(tracker.size).toBe(0);
    expect(tracker.counters()).toMatchObject({ cancelled: 1 });
  });
});
