import type { Region } from "@nokv/pd-model";
import { hasDuplicatePeers } from "../region/region.js";
import type { StoreStats } from "@nokv/pd-model";

/** A hint for a store: move the leadership of `regionId` from one peer to another. */
export interface LeaderTransfer {
  readonly kind: "leader-transfer";
  readonly regionId: bigint;
  readonly sourcePeerId: bigint;
  readonly targetPeerId: bigint;
}

/**
 * Picks the stores of a leader rebalance: source = most leaders (lowest id on
 * a tie), target = fewest (lowest id on a tie). Only when the heartbeating
 * store is the source and the skew is at least 2 leaders.
 */
export function selectRebalancePair(
  stores: readonly StoreStats[],
  heartbeatStoreId: bigint,
): { source: StoreStats; target: StoreStats } | undefined {
  if (stores.length < 2 || heartbeatStoreId === 0n) return undefined;
  let source = stores[0]!;
  let target = stores[0]!;
  for (const s of stores) {
    if (s.leaderNum > source.leaderNum || (s.leaderNum === source.leaderNum && s.storeId < source.storeId)) source = s;
    if (s.leaderNum < target.leaderNum || (s.leaderNum === target.leaderNum && s.storeId < target.storeId)) target = s;
  }
  if (source.storeId === 0n || source.storeId === target.storeId) return undefined;
  if (source.storeId !== heartbeatStoreId) return undefined;
  if (source.leaderNum < target.leaderNum + 2n) return undefined;
  return { source, target };
}

function peerOn(region: Region, storeId: bigint): bigint | undefined {
  for (const p of region.peers) if (p.storeId === storeId && p.peerId !== 0n) return p.peerId;
  return undefined;
}

/**
 * Builds a leader transfer for `region` from the source store's peer to the
 * target store's peer, or undefined when it lacks either, or when its peers
 * are not one per store with distinct ids ({@link hasDuplicatePeers}): which
 * of two peers on a store is the one to lead is not knowable from PD, so no
 * hint is given until the region is back to one peer per store.
 */
export function buildLeaderTransfer(region: Region, sourceStoreId: bigint, targetStoreId: bigint): LeaderTransfer | undefined {
  const sourcePeerId = peerOn(region, sourceStoreId);
  const targetPeerId = peerOn(region, targetStoreId);
  if (sourcePeerId === undefined || targetPeerId === undefined || sourcePeerId === targetPeerId) return undefined;
  // Checked last: only regions that are candidates at all pay for it.
  if (hasDuplicatePeers(region)) return undefined;
  return { kind: "leader-transfer", regionId: region.id, sourcePeerId, targetPeerId };
}

/**
 * The leader-transfer planner: for the store that just sent a heartbeat,
 * returns at most one hint moving a leader from the most- to the least-loaded
 * store. Among the regions with peers on both, it prefers (in `regions`'
 * order) one whose first peer is on the source — the usual bootstrap leader —
 * and otherwise takes the first candidate. A region with duplicate peers is
 * never a candidate (see {@link buildLeaderTransfer}).
 *
 * `options.skipRegion` excludes regions (a transfer already in flight);
 * `options.knownLeaderStore` tells which store is known to lead a region
 * (PD saw a transfer to it finish): such a region counts as led by that
 * store instead of its first peer's, and one known to be led by the target
 * already is not considered. Pure: no state, no clock.
 */
export function planLeaderTransfer(
  stores: readonly StoreStats[],
  regions: Iterable<Region>,
  heartbeatStoreId: bigint,
  options?: {
    readonly skipRegion?: (regionId: bigint) => boolean;
    readonly knownLeaderStore?: (region: Region) => bigint | undefined;
  },
): LeaderTransfer | undefined {
  const pair = selectRebalancePair(stores, heartbeatStoreId);
  if (pair === undefined) return undefined;
  const src = pair.source.storeId;
  const dst = pair.target.storeId;
  const skip = options?.skipRegion;
  const known = options?.knownLeaderStore;
  let fallback: LeaderTransfer | undefined;
  for (const region of regions) {
    if (skip?.(region.id) === true) continue;
    const op = buildLeaderTransfer(region, src, dst);
    if (op === undefined) continue;
    const leader = known?.(region);
    if (leader === dst) continue;
    if ((leader ?? region.peers[0]?.storeId) === src) return op;
    fallback ??= op;
  }
  return fallback;
}
