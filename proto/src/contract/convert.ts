import type {
  PdMember,
  PdMembers,
  Region,
  SchedulerOperation,
  SchedulerOperationKind,
  StoreLiveness,
  StoreStats,
  StoreStatus,
} from "@nokv/pd-model";
import type { RegionMeta } from "../gen/metapb.js";
import {
  type GetMembersResponse,
  type Member,
  type SchedulerOperation as WireSchedulerOperation,
  SchedulerOperationType,
  type StoreHeartbeatRequest,
  StoreLiveness as WireStoreLiveness,
  type StoreStatus as WireStoreStatus,
} from "../gen/pdpb.js";

// The one place where the wire messages and PD's domain types meet, for the
// server, the client and the adapter alike. Field for field; no validation
// (each side checks what it accepts) and no copies: decoded keys are views
// into the received message, so copy them (`cloneRegion`) before keeping them.

/** A zero-copy `Buffer` view of bytes (the generated types want `Buffer` under `env=node`). */
export function bytesToWire(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Wire `RegionMeta` → domain {@link Region} (keys are views into the message). */
export function regionFromWire(m: RegionMeta): Region {
  return {
    id: m.id,
    startKey: m.startKey,
    endKey: m.endKey,
    epoch: { version: m.epochVersion, confVersion: m.epochConfVersion },
    peers: m.peers.map((p) => ({ storeId: p.storeId, peerId: p.peerId })),
  };
}

/** Domain {@link Region} → wire `RegionMeta` (keys are views of the region's). */
export function regionToWire(r: Region): RegionMeta {
  return {
    id: r.id,
    startKey: bytesToWire(r.startKey),
    endKey: bytesToWire(r.endKey),
    epochVersion: r.epoch.version,
    epochConfVersion: r.epoch.confVersion,
    peers: r.peers.map((p) => ({ storeId: p.storeId, peerId: p.peerId })),
  };
}

/** Wire store heartbeat → domain {@link StoreStats}. */
export function storeStatsFromWire(req: StoreHeartbeatRequest): StoreStats {
  return { storeId: req.storeId, regionNum: req.regionNum, leaderNum: req.leaderNum, capacity: req.capacity, available: req.available };
}

/** Domain {@link StoreStats} → wire store heartbeat. */
export function storeStatsToWire(s: StoreStats): StoreHeartbeatRequest {
  return { storeId: s.storeId, regionNum: s.regionNum, leaderNum: s.leaderNum, capacity: s.capacity, available: s.available };
}

const KIND_TO_WIRE: Record<Exclude<SchedulerOperationKind, "unknown">, SchedulerOperationType> = {
  none: SchedulerOperationType.SCHEDULER_OPERATION_TYPE_NONE,
  "leader-transfer": SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER,
};

/** Wire operation type → kind; any type this build does not know (a newer PD) is `unknown`. */
export function operationKindFromWire(type: SchedulerOperationType): SchedulerOperationKind {
  switch (type) {
    case SchedulerOperationType.SCHEDULER_OPERATION_TYPE_NONE:
      return "none";
    case SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER:
      return "leader-transfer";
    default:
      return "unknown";
  }
}

/**
 * Domain {@link SchedulerOperation} → wire.
 *
 * @throws RangeError for the `unknown` kind, which has no wire value.
 */
export function operationToWire(op: SchedulerOperation): WireSchedulerOperation {
  if (op.kind === "unknown") throw new RangeError("an operation of unknown kind cannot be sent");
  return { type: KIND_TO_WIRE[op.kind], regionId: op.regionId, sourcePeerId: op.sourcePeerId, targetPeerId: op.targetPeerId };
}

/** Wire operation → domain {@link SchedulerOperation}, unvalidated. */
export function operationFromWire(op: WireSchedulerOperation): SchedulerOperation {
  return { kind: operationKindFromWire(op.type), regionId: op.regionId, sourcePeerId: op.sourcePeerId, targetPeerId: op.targetPeerId };
}

const LIVENESS_TO_WIRE: Record<StoreLiveness, WireStoreLiveness> = {
  up: WireStoreLiveness.STORE_LIVENESS_UP,
  disconnected: WireStoreLiveness.STORE_LIVENESS_DISCONNECTED,
  down: WireStoreLiveness.STORE_LIVENESS_DOWN,
  unknown: WireStoreLiveness.STORE_LIVENESS_UNKNOWN,
};

const LIVENESS_FROM_WIRE: Partial<Record<number, StoreLiveness>> = {
  [WireStoreLiveness.STORE_LIVENESS_UP]: "up",
  [WireStoreLiveness.STORE_LIVENESS_DISCONNECTED]: "disconnected",
  [WireStoreLiveness.STORE_LIVENESS_DOWN]: "down",
};

/** Domain {@link StoreStatus} → wire. */
export function storeStatusToWire(s: StoreStatus): WireStoreStatus {
  return { ...storeStatsToWire(s), lastHeartbeatMs: s.lastHeartbeatMs, liveness: LIVENESS_TO_WIRE[s.liveness] };
}

/** Wire store status → domain {@link StoreStatus}; a liveness this build does not know is `unknown`. */
export function storeStatusFromWire(s: WireStoreStatus): StoreStatus {
  return { ...storeStatsFromWire(s), lastHeartbeatMs: s.lastHeartbeatMs, liveness: LIVENESS_FROM_WIRE[s.liveness] ?? "unknown" };
}

/** Domain {@link PdMember} → wire `Member`. */
export function memberToWire(m: PdMember): Member {
  return { name: m.name, advertiseAddr: m.advertiseAddr, isLeader: m.isLeader };
}

/** Wire `GetMembersResponse` → domain {@link PdMembers}. */
export function membersFromWire(res: GetMembersResponse): PdMembers {
  const member = (m: Member): PdMember => ({ name: m.name, advertiseAddr: m.advertiseAddr, isLeader: m.isLeader });
  return { members: res.members.map(member), leader: res.leader === undefined ? undefined : member(res.leader) };
}

/** Domain {@link PdMembers} → wire `GetMembersResponse`. */
export function membersToWire(m: PdMembers): GetMembersResponse {
  return { members: m.members.map(memberToWire), leader: m.leader === undefined ? undefined : memberToWire(m.leader) };
}
