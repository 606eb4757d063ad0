import type { LeaderTransfer, Region, StoreLiveness as Liveness, StoreStats, StoreStatus as DomainStoreStatus } from "@nokv/pd-core";
import {
  type RegionMeta,
  type SchedulerOperation,
  SchedulerOperationType,
  type StoreHeartbeatRequest,
  StoreLiveness,
  type StoreStatus,
} from "@nokv/pd-proto";

// The one place where wire types and domain types meet in pd-server.

/** Wire `RegionMeta` → domain `Region` (key buffers are copied by the catalog when kept). */
export function regionFromWire(m: RegionMeta): Region {
  return {
    id: m.id,
    startKey: m.startKey,
    endKey: m.endKey,
    epoch: { version: m.epochVersion, confVersion: m.epochConfVersion },
    peers: m.peers.map((p) => ({ storeId: p.storeId, peerId: p.peerId })),
  };
}

/** A zero-copy Buffer view of a key (the generated types want Buffer under `env=node`). */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Domain `Region` → wire `RegionMeta`. */
export function regionToWire(r: Region): RegionMeta {
  return {
    id: r.id,
    startKey: asBuffer(r.startKey),
    endKey: asBuffer(r.endKey),
    epochVersion: r.epoch.version,
    epochConfVersion: r.epoch.confVersion,
    peers: r.peers.map((p) => ({ storeId: p.storeId, peerId: p.peerId })),
  };
}

/** Wire store heartbeat → domain `StoreStats`. */
export function storeStatsFromWire(req: StoreHeartbeatRequest): StoreStats {
  return {
    storeId: req.storeId,
    regionNum: req.regionNum,
    leaderNum: req.leaderNum,
    capacity: req.capacity,
    available: req.available,
  };
}

/** Domain scheduling hint → wire `SchedulerOperation`. */
export function operationToWire(op: LeaderTransfer): SchedulerOperation {
  return {
    type: SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER,
    regionId: op.regionId,
    sourcePeerId: op.sourcePeerId,
    targetPeerId: op.targetPeerId,
  };
}

const LIVENESS_TO_WIRE: Record<Liveness, StoreLiveness> = {
  up: StoreLiveness.STORE_LIVENESS_UP,
  disconnected: StoreLiveness.STORE_LIVENESS_DISCONNECTED,
  down: StoreLiveness.STORE_LIVENESS_DOWN,
};

/** Domain store (with liveness) → wire `StoreStatus`. */
export function storeStatusToWire(s: DomainStoreStatus): StoreStatus {
  return {
    storeId: s.storeId,
    regionNum: s.regionNum,
    leaderNum: s.leaderNum,
    capacity: s.capacity,
    available: s.available,
    lastHeartbeatMs: BigInt(Math.max(0, Math.trunc(s.lastHeartbeatMs))),
    liveness: LIVENESS_TO_WIRE[s.liveness],
  };
}
