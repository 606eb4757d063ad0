import { describe, expect, it } from "vitest";
import type { Region } from "@nokv/pd-model";
import type { StoreStats } from "@nokv/pd-model";
import { buildLeaderTransfer, planLeaderTransfer, selectRebalancePair } from "./leader-transfer.js";

const store = (storeId: bigint, leaderNum: bigint): StoreStats => ({ storeId, leaderNum, regionNum: 0n, capacity: 0n, available: 0n });
const region = (id: bigint, stores: bigint[]): Region => ({
  id,
  startKey: new Uint8Array(),
  endKey: new Uint8Array(),
  epoch: { version: 1n, confVersion: 1n },
  peers: stores.map((s) => ({ storeId: s, peerId: id * 100n + s })),
});

describe("leader-transfer planner", () => {
  it("moves a leader from the most- to the least-loaded store when the source heartbeats", () => {
    const stores = [store(1n, 5n), store(2n, 1n), store(3n, 3n)];
    const op = planLeaderTransfer(stores, [region(7n, [1n, 2n, 3n])], 1n);
    expect(op).toEqual({ kind: "leader-transfer", regionId: 7n, sourcePeerId: 701n, targetPeerId: 702n });
  });

  it("plans nothing for a heartbeat from a store that is not the source", () => {
    const stores = [store(1n, 5n), store(2n, 1n)];
    expect(planLeaderTransfer(stores, [region(7n, [1n, 2n])], 2n)).toBeUndefined();
  });

  it("needs a skew of at least two leaders", () => {
    expect(planLeaderTransfer([store(1n, 2n), store(2n, 1n)], [region(7n, [1n, 2n])], 1n)).toBeUndefined();
    expect(planLeaderTransfer([store(1n, 3n), store(2n, 1n)], [region(7n, [1n, 2n])], 1n)).toBeDefined();
  });

  it("breaks ties by the lowest store id", () => {
    expect(selectRebalancePair([store(2n, 4n), store(1n, 4n), store(3n, 0n), store(4n, 0n)], 1n)).toEqual({
      source: store(1n, 4n),
      target: store(3n, 0n),
    });
  });

  it("prefers a region whose first peer is on the source, else the first with peers on both", () => {
    const stores = [store(1n, 9n), store(2n, 0n)];
    const regions = [region(1n, [2n, 1n]), region(2n, [1n, 2n])];
    expect(planLeaderTransfer(stores, regions, 1n)?.regionId).toBe(2n);
    expect(planLeaderTransfer(stores, [region(1n, [2n, 1n])], 1n)?.regionId).toBe(1n);
  });

  it("needs a region with peers on both stores", () => {
    expect(planLeaderTransfer([store(1n, 9n), store(2n, 0n)], [region(1n, [1n, 3n])], 1n)).toBeUndefined();
    expect(planLeaderTransfer([store(1n, 9n)], [region(1n, [1n])], 1n)).toBeUndefined();
  });

  it("skips regions with a transfer in flight and uses known leaders over the first-peer guess", () => {
    const stores = [store(1n, 9n), store(2n, 0n)];
    const regions = [region(1n, [1n, 2n]), region(2n, [1n, 2n]), region(3n, [2n, 1n])];
    expect(planLeaderTransfer(stores, regions, 1n, { skipRegion: (id) => id === 1n })?.regionId).toBe(2n);
    // Region 1 and 2 are known to be led by the target already; region 3 by the source.
    const known = (r: Region) => (r.id === 3n ? 1n : 2n);
    expect(planLeaderTransfer(stores, regions, 1n, { knownLeaderStore: known })?.regionId).toBe(3n);
    expect(planLeaderTransfer(stores, regions.slice(0, 2), 1n, { knownLeaderStore: known })).toBeUndefined();
  });

  it("never plans onto a region whose peers are not one per store with distinct ids", () => {
    const stores = [store(1n, 9n), store(2n, 0n)];
    const twoOnSource = { ...region(1n, [1n, 2n]), peers: [...region(1n, [1n, 2n]).peers, { storeId: 1n, peerId: 199n }] };
    const twoOnOther = { ...region(2n, [1n, 2n]), peers: [...region(2n, [1n, 2n]).peers, { storeId: 3n, peerId: 298n }, { storeId: 3n, peerId: 299n }] };
    const sharedId = { ...region(3n, [1n, 2n]), peers: [{ storeId: 1n, peerId: 301n }, { storeId: 2n, peerId: 301n }] };
    for (const odd of [twoOnSource, twoOnOther, sharedId]) {
      expect(buildLeaderTransfer(odd, 1n, 2n)).toBeUndefined();
      expect(planLeaderTransfer(stores, [odd], 1n)).toBeUndefined();
    }
    expect(planLeaderTransfer(stores, [twoOnSource, twoOnOther, sharedId, region(4n, [1n, 2n])], 1n)?.regionId).toBe(4n);
  });
});
