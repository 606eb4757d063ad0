/**
 * The one place where wire messages of `@nokv/pd-proto` become the client's
 * domain types and back. Inputs are checked here so that a bad argument fails
 * as an `INVALID_ARGUMENT` {@link PdClientError} before any RPC, instead of as
 * an encoder exception inside grpc-js.
 */
import {
  MAX_UINT64,
  SchedulerOperationType,
  type AllocIDResponse,
  type GetMembersResponse,
  type ListRegionsResponse,
  type Member,
  type RegionMeta,
  StoreLiveness as WireStoreLiveness,
  type StoreStatus as WireStoreStatus,
  type SchedulerOperation as WireSchedulerOperation,
  type StoreHeartbeatRequest,
  type StoreHeartbeatResponse,
  type TsoResponse,
} from "@nokv/pd-proto";
import { PdClientError, invalidArgument } from "./errors.js";
import { status as GrpcStatus } from "@grpc/grpc-js";
import type {
  IdRange,
  PdMember,
  PdMembers,
  Region,
  RegionPage,
  StoreLiveness,
  StoreStatus,
  SchedulerOperation,
  SchedulerOperationKind,
  StoreHeartbeatResult,
  StoreStats,
  TimestampRange,
} from "./types.js";

/** Throws `INVALID_ARGUMENT` unless `value` is a bigint in `[0, 2^64)`. */
export function checkUint64(name: string, value: unknown): bigint {
  if (typeof value !== "bigint") {
    throw invalidArgument(`${name} must be a bigint, got ${typeof value}`);
  }
  if (value < 0n || value > MAX_UINT64) {
    throw invalidArgument(`${name} ${value} is outside the uint64 range`);
  }
  return value;
}

/** Throws `INVALID_ARGUMENT` unless `value` is a `Uint8Array` (a `Buffer` is one). */
export function checkKey(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw invalidArgument(`${name} must be a Uint8Array`);
  }
  return value;
}

/** A `Buffer` view of `bytes` for the encoder, without copying. */
export function keyToWire(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A detached copy of wire bytes: decoded `Buffer`s are views into the
 * received message, and regions outlive it in the route cache.
 */
function keyFromWire(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Wire `RegionMeta` → domain {@link Region}. */
export function regionFromWire(meta: RegionMeta): Region {
  return {
    id: meta.id,
    startKey: keyFromWire(meta.startKey),
    endKey: keyFromWire(meta.endKey),
    epoch: { version: meta.epochVersion, confVersion: meta.epochConfVersion },
    peers: meta.peers.map((p) => ({ storeId: p.storeId, peerId: p.peerId })),
  };
}

/** Domain {@link Region} → wire `RegionMeta`, checking every field. */
export function regionToWire(region: Region): RegionMeta {
  if (typeof region !== "object" || region === null) throw invalidArgument("region must be an object");
  const epoch = region.epoch as Region["epoch"] | undefined;
  if (typeof epoch !== "object" || epoch === null) throw invalidArgument("region.epoch must be an object");
  const peers = (region.peers as Region["peers"] | undefined) ?? [];
  return {
    id: checkUint64("region.id", region.id),
    startKey: keyToWire(checkKey("region.startKey", region.startKey)),
    endKey: keyToWire(checkKey("region.endKey", region.endKey)),
    epochVersion: checkUint64("region.epoch.version", epoch.version),
    epochConfVersion: checkUint64("region.epoch.confVersion", epoch.confVersion),
    peers: peers.map((p, i) => ({
      storeId: checkUint64(`region.peers[${i}].storeId`, p.storeId),
      peerId: checkUint64(`region.peers[${i}].peerId`, p.peerId),
    })),
  };
}

/** Domain {@link StoreStats} → wire request; absent counters are `0n`. */
export function storeStatsToWire(stats: StoreStats): StoreHeartbeatRequest {
  if (typeof stats !== "object" || stats === null) throw invalidArgument("store stats must be an object");
  return {
    storeId: checkUint64("storeId", stats.storeId),
    regionNum: checkUint64("regionNum", stats.regionNum ?? 0n),
    leaderNum: checkUint64("leaderNum", stats.leaderNum ?? 0n),
    capacity: checkUint64("capacity", stats.capacity ?? 0n),
    available: checkUint64("available", stats.available ?? 0n),
  };
}

function operationKind(type: SchedulerOperationType): SchedulerOperationKind {
  switch (type) {
    case SchedulerOperationType.SCHEDULER_OPERATION_TYPE_NONE:
      return "none";
    case SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER:
      return "leader-transfer";
    default:
      // UNRECOGNIZED and any number a newer PD may send.
      return "unknown";
  }
}

/** Wire `SchedulerOperation` → domain, unvalidated (see {@link SchedulerOperation}). */
export function operationFromWire(op: WireSchedulerOperation): SchedulerOperation {
  return {
    kind: operationKind(op.type),
    regionId: op.regionId,
    sourcePeerId: op.sourcePeerId,
    targetPeerId: op.targetPeerId,
  };
}

/** Wire `StoreHeartbeatResponse` → {@link StoreHeartbeatResult}. */
export function storeHeartbeatFromWire(res: StoreHeartbeatResponse): StoreHeartbeatResult {
  return { accepted: res.accepted, operations: res.operations.map(operationFromWire) };
}

function protocolError(method: string, message: string): PdClientError {
  return new PdClientError(`pd ${method}: ${message}`, {
    status: GrpcStatus.INTERNAL,
    code: "INTERNAL",
    retryable: false,
    method,
  });
}

/**
 * Checks a run answer: PD must grant at least `requested` values (a `count`
 * of 0 is read as "exactly what was asked", as a minimal server may omit it)
 * and the run must stay inside uint64. A shorter run would make the client
 * hand out values PD never reserved, so it is an error, not a partial result.
 */
function runFromWire(method: string, first: bigint, granted: bigint, requested: bigint): bigint {
  const count = granted === 0n ? requested : granted;
  if (count < requested) {
    throw protocolError(method, `pd granted ${count} values, ${requested} were requested`);
  }
  if (first + count - 1n > MAX_UINT64) {
    throw protocolError(method, `run of ${count} values from ${first} overflows uint64`);
  }
  return count;
}

/** Wire `AllocIDResponse` → {@link IdRange}, checked against the request. */
export function idRangeFromWire(res: AllocIDResponse, requested: bigint): IdRange {
  return { firstId: res.firstId, count: runFromWire("AllocID", res.firstId, res.count, requested) };
}

/** Wire `TsoResponse` → {@link TimestampRange}, checked against the request. */
export function timestampRangeFromWire(res: TsoResponse, requested: bigint): TimestampRange {
  return { first: res.timestamp, count: runFromWire("Tso", res.timestamp, res.count, requested) };
}

const LIVENESS: Record<number, StoreLiveness> = {
  [WireStoreLiveness.STORE_LIVENESS_UP]: "up",
  [WireStoreLiveness.STORE_LIVENESS_DISCONNECTED]: "disconnected",
  [WireStoreLiveness.STORE_LIVENESS_DOWN]: "down",
};

/** Wire `StoreStatus` → domain. */
export function storeStatusFromWire(s: WireStoreStatus): StoreStatus {
  return {
    storeId: s.storeId,
    regionNum: s.regionNum,
    leaderNum: s.leaderNum,
    capacity: s.capacity,
    available: s.available,
    lastHeartbeatMs: s.lastHeartbeatMs,
    liveness: LIVENESS[s.liveness] ?? "unknown",
  };
}

/** Wire `ListRegionsResponse` → a page of domain regions. */
export function regionPageFromWire(res: ListRegionsResponse): RegionPage {
  return {
    regions: res.regions.map(regionFromWire),
    nextStartKey: res.hasMore ? keyFromWire(res.nextStartKey) : undefined,
  };
}

const memberFromWire = (m: Member): PdMember => ({ name: m.name, advertiseAddr: m.advertiseAddr, isLeader: m.isLeader });

/** Wire `GetMembersResponse` → domain. */
export function membersFromWire(res: GetMembersResponse): PdMembers {
  return { members: res.members.map(memberFromWire), leader: res.leader === undefined ? undefined : memberFromWire(res.leader) };
}
