import type {
  ExecutableOperationKind,
  OperatorInfo,
  OperatorState,
  PdMember,
  PdMembers,
  Region,
  RegionHeartbeat,
  SchedulerInfo,
  SchedulerName,
  SchedulerOperation,
  SchedulerOperationKind,
  SchedulingConfig,
  SchedulingConfigPatch,
  StoreHeartbeat,
  StoreLimit,
  StoreLimitOverride,
  StoreLiveness,
  StoreStats,
  StoreStatus,
} from "@nokv/pd-model";
import type { RegionMeta } from "../gen/metapb.js";
import {
  type GetMembersResponse,
  type Member,
  type OperatorInfo as WireOperatorInfo,
  OperatorState as WireOperatorState,
  type RegionHeartbeatRequest,
  type SchedulerInfo as WireSchedulerInfo,
  type SchedulerOperation as WireSchedulerOperation,
  SchedulerOperationType,
  type SchedulingConfig as WireSchedulingConfig,
  type SetSchedulingConfigRequest,
  type StoreHeartbeatRequest,
  type StoreLimit as WireStoreLimit,
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

/** The optional store stats of a wire request, present ones only. */
function storeExtrasFromWire(req: Pick<StoreHeartbeatRequest, "usedSize" | "bytesWritten" | "keysWritten">): Partial<StoreStats> {
  return {
    ...(req.usedSize !== undefined && { usedSize: req.usedSize }),
    ...(req.bytesWritten !== undefined && { bytesWritten: req.bytesWritten }),
    ...(req.keysWritten !== undefined && { keysWritten: req.keysWritten }),
  };
}

/** Wire store heartbeat → domain {@link StoreStats} (capabilities left out; see {@link storeHeartbeatFromWire}). */
export function storeStatsFromWire(req: StoreHeartbeatRequest): StoreStats {
  return {
    storeId: req.storeId,
    regionNum: req.regionNum,
    leaderNum: req.leaderNum,
    capacity: req.capacity,
    available: req.available,
    ...storeExtrasFromWire(req),
  };
}

/** Domain {@link StoreStats} → wire store heartbeat, without capabilities (what a NoKV Go store sends). */
export function storeStatsToWire(s: StoreStats): StoreHeartbeatRequest {
  return {
    storeId: s.storeId,
    regionNum: s.regionNum,
    leaderNum: s.leaderNum,
    capacity: s.capacity,
    available: s.available,
    ...(s.usedSize !== undefined && { usedSize: s.usedSize }),
    ...(s.bytesWritten !== undefined && { bytesWritten: s.bytesWritten }),
    ...(s.keysWritten !== undefined && { keysWritten: s.keysWritten }),
  };
}

/**
 * Wire store heartbeat → domain {@link StoreHeartbeat}: `capabilities` is
 * undefined when the store did not send them (a NoKV Go store), else the
 * kinds listed, once each in wire order, without `NONE` and types this
 * build does not know (a newer store).
 */
export function storeHeartbeatFromWire(req: StoreHeartbeatRequest): StoreHeartbeat {
  const stats = storeStatsFromWire(req);
  if (req.capabilities === undefined) return stats;
  const kinds: ExecutableOperationKind[] = [];
  for (const t of req.capabilities.operationTypes) {
    const k = operationKindFromWire(t);
    if (k !== "none" && k !== "unknown" && !kinds.includes(k)) kinds.push(k);
  }
  return { ...stats, capabilities: kinds };
}

/** Domain {@link StoreHeartbeat} → wire store heartbeat; capabilities only when given (an empty list is sent as such). */
export function storeHeartbeatToWire(hb: StoreHeartbeat): StoreHeartbeatRequest {
  const stats = storeStatsToWire(hb);
  if (hb.capabilities === undefined) return stats;
  return { ...stats, capabilities: { operationTypes: hb.capabilities.map((k) => KIND_TO_WIRE[k]) } };
}

/** Wire region heartbeat → domain {@link RegionHeartbeat} (keys are views into the message), or undefined without a region. */
export function regionHeartbeatFromWire(req: RegionHeartbeatRequest): RegionHeartbeat | undefined {
  if (req.region === undefined) return undefined;
  return {
    region: regionFromWire(req.region),
    ...(req.leaderPeerId !== undefined && { leaderPeerId: req.leaderPeerId }),
    ...(req.approximateSize !== undefined && { approximateSize: req.approximateSize }),
    ...(req.approximateKeys !== undefined && { approximateKeys: req.approximateKeys }),
    ...(req.bytesWritten !== undefined && { bytesWritten: req.bytesWritten }),
    ...(req.keysWritten !== undefined && { keysWritten: req.keysWritten }),
    ...(req.peerStatus !== undefined && {
      downPeers: req.peerStatus.downPeers.map((d) => ({
        peer: { storeId: d.peer?.storeId ?? 0n, peerId: d.peer?.peerId ?? 0n },
        downSeconds: d.downSeconds,
      })),
      pendingPeers: req.peerStatus.pendingPeers.map((p) => ({ storeId: p.storeId, peerId: p.peerId })),
      learnerPeerIds: [...req.peerStatus.learnerPeerIds],
    }),
  };
}

/** True when the heartbeat reports its peers' state (any of the three lists is given). */
function reportsPeerStatus(hb: RegionHeartbeat): boolean {
  return hb.downPeers !== undefined || hb.pendingPeers !== undefined || hb.learnerPeerIds !== undefined;
}

/**
 * Domain {@link RegionHeartbeat} → wire region heartbeat (keys are views of
 * the region's). The peer lists travel together: giving any of them reports
 * all three (an absent one as empty).
 */
export function regionHeartbeatToWire(hb: RegionHeartbeat): RegionHeartbeatRequest {
  return {
    region: regionToWire(hb.region),
    ...(hb.leaderPeerId !== undefined && { leaderPeerId: hb.leaderPeerId }),
    ...(hb.approximateSize !== undefined && { approximateSize: hb.approximateSize }),
    ...(hb.approximateKeys !== undefined && { approximateKeys: hb.approximateKeys }),
    ...(hb.bytesWritten !== undefined && { bytesWritten: hb.bytesWritten }),
    ...(hb.keysWritten !== undefined && { keysWritten: hb.keysWritten }),
    ...(reportsPeerStatus(hb) && {
      peerStatus: {
        downPeers: (hb.downPeers ?? []).map((d) => ({ peer: { storeId: d.peer.storeId, peerId: d.peer.peerId }, downSeconds: d.downSeconds })),
        pendingPeers: (hb.pendingPeers ?? []).map((p) => ({ storeId: p.storeId, peerId: p.peerId })),
        learnerPeerIds: [...(hb.learnerPeerIds ?? [])],
      },
    }),
  };
}

const KIND_TO_WIRE: Record<Exclude<SchedulerOperationKind, "unknown">, SchedulerOperationType> = {
  none: SchedulerOperationType.SCHEDULER_OPERATION_TYPE_NONE,
  "leader-transfer": SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER,
  "add-peer": SchedulerOperationType.SCHEDULER_OPERATION_TYPE_ADD_PEER,
  "add-learner": SchedulerOperationType.SCHEDULER_OPERATION_TYPE_ADD_LEARNER,
  "promote-learner": SchedulerOperationType.SCHEDULER_OPERATION_TYPE_PROMOTE_LEARNER,
  "remove-peer": SchedulerOperationType.SCHEDULER_OPERATION_TYPE_REMOVE_PEER,
};

/** Wire operation type → kind; any type this build does not know (a newer PD) is `unknown`. */
export function operationKindFromWire(type: SchedulerOperationType): SchedulerOperationKind {
  switch (type) {
    case SchedulerOperationType.SCHEDULER_OPERATION_TYPE_NONE:
      return "none";
    case SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER:
      return "leader-transfer";
    case SchedulerOperationType.SCHEDULER_OPERATION_TYPE_ADD_PEER:
      return "add-peer";
    case SchedulerOperationType.SCHEDULER_OPERATION_TYPE_ADD_LEARNER:
      return "add-learner";
    case SchedulerOperationType.SCHEDULER_OPERATION_TYPE_PROMOTE_LEARNER:
      return "promote-learner";
    case SchedulerOperationType.SCHEDULER_OPERATION_TYPE_REMOVE_PEER:
      return "remove-peer";
    default:
      return "unknown";
  }
}

/** Domain kind → wire operation type (for capabilities and operations). */
export function operationKindToWire(kind: ExecutableOperationKind): SchedulerOperationType {
  return KIND_TO_WIRE[kind];
}

/**
 * Domain {@link SchedulerOperation} → wire. The fields added after NoKV's
 * contract (`operatorId`, `regionEpoch`, `targetStoreId`) are written only
 * when set, so an operation without them encodes exactly as before they existed.
 *
 * @throws RangeError for the `unknown` kind, which has no wire value.
 */
export function operationToWire(op: SchedulerOperation): WireSchedulerOperation {
  if (op.kind === "unknown") throw new RangeError("an operation of unknown kind cannot be sent");
  return {
    type: KIND_TO_WIRE[op.kind],
    regionId: op.regionId,
    sourcePeerId: op.sourcePeerId,
    targetPeerId: op.targetPeerId,
    ...(op.operatorId !== undefined && { operatorId: op.operatorId }),
    ...(op.regionEpoch !== undefined && { regionEpoch: { confVer: op.regionEpoch.confVersion, version: op.regionEpoch.version } }),
    ...(op.targetStoreId !== undefined && { targetStoreId: op.targetStoreId }),
  };
}

/** Wire operation → domain {@link SchedulerOperation}, unvalidated; fields 5-7 only when present. */
export function operationFromWire(op: WireSchedulerOperation): SchedulerOperation {
  return {
    kind: operationKindFromWire(op.type),
    regionId: op.regionId,
    sourcePeerId: op.sourcePeerId,
    targetPeerId: op.targetPeerId,
    ...(op.operatorId !== undefined && { operatorId: op.operatorId }),
    ...(op.regionEpoch !== undefined && { regionEpoch: { version: op.regionEpoch.version, confVersion: op.regionEpoch.confVer } }),
    ...(op.targetStoreId !== undefined && { targetStoreId: op.targetStoreId }),
  };
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
  return {
    storeId: s.storeId,
    regionNum: s.regionNum,
    leaderNum: s.leaderNum,
    capacity: s.capacity,
    available: s.available,
    lastHeartbeatMs: s.lastHeartbeatMs,
    liveness: LIVENESS_TO_WIRE[s.liveness],
  };
}

/** Wire store status → domain {@link StoreStatus}; a liveness this build does not know is `unknown`. */
export function storeStatusFromWire(s: WireStoreStatus): StoreStatus {
  return {
    storeId: s.storeId,
    regionNum: s.regionNum,
    leaderNum: s.leaderNum,
    capacity: s.capacity,
    available: s.available,
    lastHeartbeatMs: s.lastHeartbeatMs,
    liveness: LIVENESS_FROM_WIRE[s.liveness] ?? "unknown",
  };
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

const STATE_TO_WIRE: Record<OperatorState, WireOperatorState> = {
  created: WireOperatorState.OPERATOR_STATE_CREATED,
  running: WireOperatorState.OPERATOR_STATE_RUNNING,
  success: WireOperatorState.OPERATOR_STATE_SUCCESS,
  timeout: WireOperatorState.OPERATOR_STATE_TIMEOUT,
  cancelled: WireOperatorState.OPERATOR_STATE_CANCELLED,
  replaced: WireOperatorState.OPERATOR_STATE_REPLACED,
  unknown: WireOperatorState.OPERATOR_STATE_UNKNOWN,
};

const STATE_FROM_WIRE: Partial<Record<number, OperatorState>> = Object.fromEntries(
  Object.entries(STATE_TO_WIRE)
    .filter(([k]) => k !== "unknown")
    .map(([k, v]) => [v, k as OperatorState]),
);

/** Domain {@link OperatorInfo} → wire. */
export function operatorInfoToWire(op: OperatorInfo): WireOperatorInfo {
  return {
    id: op.id,
    regionId: op.regionId,
    kind: op.kind,
    priority: op.priority,
    state: STATE_TO_WIRE[op.state],
    steps: [...op.steps],
    currentStep: op.currentStep,
    regionEpoch: { confVer: op.regionEpoch.confVersion, version: op.regionEpoch.version },
    createdAtMs: op.createdAtMs,
    ageMs: op.ageMs,
    reason: op.reason,
  };
}

/** Wire operator → domain {@link OperatorInfo}; a state this build does not know is `unknown`. */
export function operatorInfoFromWire(op: WireOperatorInfo): OperatorInfo {
  return {
    id: op.id,
    regionId: op.regionId,
    kind: op.kind,
    priority: op.priority,
    state: STATE_FROM_WIRE[op.state] ?? "unknown",
    steps: [...op.steps],
    currentStep: op.currentStep,
    regionEpoch: { version: op.regionEpoch?.version ?? 0n, confVersion: op.regionEpoch?.confVer ?? 0n },
    createdAtMs: op.createdAtMs,
    ageMs: op.ageMs,
    reason: op.reason,
  };
}

/** Domain {@link SchedulerInfo} ↔ wire (same fields). */
export function schedulerInfoToWire(s: SchedulerInfo): WireSchedulerInfo {
  return { name: s.name, paused: s.paused };
}

/** See {@link schedulerInfoToWire}. */
export function schedulerInfoFromWire(s: WireSchedulerInfo): SchedulerInfo {
  return { name: s.name, paused: s.paused };
}

function limitToWire(l: StoreLimit): WireStoreLimit {
  return { addPeerPerMin: l.addPeerPerMin, removePeerPerMin: l.removePeerPerMin };
}

function overrideToWire(o: StoreLimitOverride) {
  return { storeId: o.storeId, limit: { addPeerPerMin: o.addPeerPerMin ?? 0, removePeerPerMin: o.removePeerPerMin ?? 0 } };
}

function overrideFromWire(o: { storeId: bigint; limit?: WireStoreLimit | undefined }): StoreLimitOverride {
  const add = o.limit?.addPeerPerMin ?? 0;
  const remove = o.limit?.removePeerPerMin ?? 0;
  return { storeId: o.storeId, ...(add !== 0 && { addPeerPerMin: add }), ...(remove !== 0 && { removePeerPerMin: remove }) };
}

/** Domain {@link SchedulingConfig} → wire. */
export function schedulingConfigToWire(c: SchedulingConfig): WireSchedulingConfig {
  return {
    maxReplicas: c.maxReplicas,
    defaultStoreLimit: limitToWire(c.defaultStoreLimit),
    storeLimits: c.storeLimits.map(overrideToWire),
    pausedSchedulers: [...c.pausedSchedulers],
  };
}

/** Wire scheduling config → domain {@link SchedulingConfig}, unvalidated (names kept as sent). */
export function schedulingConfigFromWire(c: WireSchedulingConfig): SchedulingConfig {
  return {
    maxReplicas: c.maxReplicas,
    defaultStoreLimit: { addPeerPerMin: c.defaultStoreLimit?.addPeerPerMin ?? 0, removePeerPerMin: c.defaultStoreLimit?.removePeerPerMin ?? 0 },
    storeLimits: c.storeLimits.map(overrideFromWire),
    pausedSchedulers: c.pausedSchedulers as SchedulerName[],
  };
}

/** Domain {@link SchedulingConfigPatch} → wire request (pausing goes through `SetSchedulerPaused`, not here). */
export function schedulingPatchToWire(p: Omit<SchedulingConfigPatch, "paused">): SetSchedulingConfigRequest {
  return {
    ...(p.maxReplicas !== undefined && { maxReplicas: p.maxReplicas }),
    defaultStoreLimit: p.defaultStoreLimit === undefined ? undefined : limitToWire(p.defaultStoreLimit),
    storeLimits: (p.storeLimits ?? []).map((o) => ({
      storeId: o.storeId,
      ...(o.addPeerPerMin !== undefined && { addPeerPerMin: o.addPeerPerMin }),
      ...(o.removePeerPerMin !== undefined && { removePeerPerMin: o.removePeerPerMin }),
    })),
  };
}

/** Wire request → domain {@link SchedulingConfigPatch}, unvalidated (PD checks the result). */
export function schedulingPatchFromWire(req: SetSchedulingConfigRequest): SchedulingConfigPatch {
  return {
    ...(req.maxReplicas !== undefined && { maxReplicas: req.maxReplicas }),
    ...(req.defaultStoreLimit !== undefined && {
      defaultStoreLimit: { addPeerPerMin: req.defaultStoreLimit.addPeerPerMin, removePeerPerMin: req.defaultStoreLimit.removePeerPerMin },
    }),
    ...(req.storeLimits.length > 0 && {
      storeLimits: req.storeLimits.map((o) => ({
        storeId: o.storeId,
        ...(o.addPeerPerMin !== undefined && { addPeerPerMin: o.addPeerPerMin }),
        ...(o.removePeerPerMin !== undefined && { removePeerPerMin: o.removePeerPerMin }),
      })),
    }),
  };
}
