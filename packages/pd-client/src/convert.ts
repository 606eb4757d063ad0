/**
 * What the client adds to `@nokv/pd-proto`'s wire ↔ domain conversion:
 * inputs are checked here so that a bad argument fails as an
 * `INVALID_ARGUMENT` {@link PdClientError} before any RPC, instead of as an
 * encoder exception inside grpc-js; answers are checked against what was
 * asked; decoded keys are copied, since regions outlive the message in the
 * route cache.
 */
import {
  cloneRegion,
  EXECUTABLE_OPERATION_KINDS,
  type ExecutableOperationKind,
  MAX_UINT64,
  type Region,
  type RegionHeartbeatExtras,
  type RegionPeer,
} from "@nokv/pd-model";
import {
  type AllocIDResponse,
  bytesToWire,
  type ListRegionsResponse,
  operationFromWire,
  type RegionHeartbeatRequest,
  regionHeartbeatToWire as regionHeartbeatToWireUnchecked,
  type RegionMeta,
  regionFromWire as regionViewFromWire,
  regionToWire as regionToWireUnchecked,
  schedulingPatchToWire,
  type SetSchedulingConfigRequest,
  type StoreHeartbeatRequest,
  type StoreHeartbeatResponse,
  storeHeartbeatToWire as storeHeartbeatToWireUnchecked,
  type TsoResponse,
} from "@nokv/pd-proto";
import { invalidArgument, protocolError } from "./errors.js";
import type { IdRange, RegionPage, SchedulingConfigChange, StoreHeartbeat, StoreHeartbeatResult, TimestampRange } from "./types.js";

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

/** Wire `RegionMeta` → a {@link Region} that owns its key bytes. */
export function regionFromWire(meta: RegionMeta): Region {
  return cloneRegion(regionViewFromWire(meta));
}

/**
 * Checks every field of a caller's region and returns a copy that owns its
 * key bytes (the caller may reuse its buffers).
 *
 * @throws PdClientError `INVALID_ARGUMENT` naming the first bad field.
 */
export function checkRegion(region: Region, name = "region"): Region {
  if (typeof region !== "object" || region === null) throw invalidArgument(`${name} must be an object`);
  const epoch = region.epoch as Region["epoch"] | undefined;
  if (typeof epoch !== "object" || epoch === null) throw invalidArgument(`${name}.epoch must be an object`);
  const peers = (region.peers as Region["peers"] | undefined) ?? [];
  if (!Array.isArray(peers)) throw invalidArgument(`${name}.peers must be an array`);
  return cloneRegion({
    id: checkUint64(`${name}.id`, region.id),
    startKey: checkKey(`${name}.startKey`, region.startKey),
    endKey: checkKey(`${name}.endKey`, region.endKey),
    epoch: {
      version: checkUint64(`${name}.epoch.version`, epoch.version),
      confVersion: checkUint64(`${name}.epoch.confVersion`, epoch.confVersion),
    },
    peers: peers.map((p, i) => ({
      storeId: checkUint64(`${name}.peers[${i}].storeId`, p.storeId),
      peerId: checkUint64(`${name}.peers[${i}].peerId`, p.peerId),
    })),
  });
}

/** Domain {@link Region} → wire `RegionMeta`, checking every field. */
export function regionToWire(region: Region): RegionMeta {
  return regionToWireUnchecked(checkRegion(region));
}

/**
 * Store heartbeat → wire request, checking every field: absent counters are
 * `0n`; `usedSize`, `bytesWritten`, `keysWritten` and `capabilities` are
 * sent only when given, so a heartbeat with none of them is exactly the
 * request NoKV's Go stores send.
 *
 * @throws PdClientError `INVALID_ARGUMENT` naming the first bad field: a
 *   value that is not a uint64, a capability that is not an executable
 *   operation kind, or one listed twice.
 */
export function storeHeartbeatToWire(hb: StoreHeartbeat): StoreHeartbeatRequest {
  if (typeof hb !== "object" || hb === null) throw invalidArgument("store stats must be an object");
  const optional = (name: "usedSize" | "bytesWritten" | "keysWritten") => (hb[name] === undefined ? {} : { [name]: checkUint64(name, hb[name]) });
  return storeHeartbeatToWireUnchecked({
    storeId: checkUint64("storeId", hb.storeId),
    regionNum: checkUint64("regionNum", hb.regionNum ?? 0n),
    leaderNum: checkUint64("leaderNum", hb.leaderNum ?? 0n),
    capacity: checkUint64("capacity", hb.capacity ?? 0n),
    available: checkUint64("available", hb.available ?? 0n),
    ...optional("usedSize"),
    ...optional("bytesWritten"),
    ...optional("keysWritten"),
    ...(hb.capabilities !== undefined && { capabilities: checkCapabilities(hb.capabilities) }),
  });
}

/**
 * Checks a store's capabilities: an array of executable operation kinds,
 * each once; returns a copy.
 *
 * @throws PdClientError `INVALID_ARGUMENT` naming the bad entry.
 */
export function checkCapabilities(kinds: readonly ExecutableOperationKind[]): ExecutableOperationKind[] {
  if (!Array.isArray(kinds)) throw invalidArgument("capabilities must be an array of operation kinds");
  const out: ExecutableOperationKind[] = [];
  for (const k of kinds) {
    if (!EXECUTABLE_OPERATION_KINDS.includes(k)) {
      throw invalidArgument(`capabilities: ${JSON.stringify(k)} is not an operation kind (${EXECUTABLE_OPERATION_KINDS.join(", ")})`);
    }
    if (out.includes(k)) throw invalidArgument(`capabilities: ${k} is listed twice`);
    out.push(k);
  }
  return out;
}

/**
 * Region heartbeat → wire request: the region checked as by
 * {@link checkRegion}, and what its leader reports beside it (`extras`),
 * each value a uint64 and every peer it names (the leader, down and pending
 * peers, learners) one of the region's. Without extras the request is
 * exactly the one NoKV's Go stores send.
 *
 * @throws PdClientError `INVALID_ARGUMENT` naming the first bad field.
 */
export function regionHeartbeatToWire(region: Region, extras?: RegionHeartbeatExtras): RegionHeartbeatRequest {
  const r = checkRegion(region);
  if (extras === undefined) return { region: regionToWireUnchecked(r) };
  if (typeof extras !== "object" || extras === null) throw invalidArgument("region heartbeat extras must be an object");
  const peerIds = new Set(r.peers.map((p) => p.peerId));
  const peerOf = (name: string, peerId: unknown): bigint => {
    const id = checkUint64(name, peerId);
    if (!peerIds.has(id)) throw invalidArgument(`${name} ${id} is not a peer of region ${r.id}`);
    return id;
  };
  const peer = (name: string, p: RegionPeer | undefined): RegionPeer => {
    if (typeof p !== "object" || p === null) throw invalidArgument(`${name} must be a peer`);
    return { storeId: checkUint64(`${name}.storeId`, p.storeId), peerId: peerOf(`${name}.peerId`, p.peerId) };
  };
  const list = <T>(name: string, v: readonly T[] | undefined): readonly T[] | undefined => {
    if (v !== undefined && !Array.isArray(v)) throw invalidArgument(`${name} must be an array`);
    return v;
  };
  const u64 = (name: "approximateSize" | "approximateKeys" | "bytesWritten" | "keysWritten") =>
    extras[name] === undefined ? {} : { [name]: checkUint64(name, extras[name]) };
  const down = list("downPeers", extras.downPeers);
  const pending = list("pendingPeers", extras.pendingPeers);
  const learners = list("learnerPeerIds", extras.learnerPeerIds);
  return regionHeartbeatToWireUnchecked({
    region: r,
    ...(extras.leaderPeerId !== undefined && { leaderPeerId: peerOf("leaderPeerId", extras.leaderPeerId) }),
    ...u64("approximateSize"),
    ...u64("approximateKeys"),
    ...u64("bytesWritten"),
    ...u64("keysWritten"),
    ...(down !== undefined && {
      downPeers: down.map((d, i) => ({ peer: peer(`downPeers[${i}].peer`, d?.peer), downSeconds: checkUint64(`downPeers[${i}].downSeconds`, d?.downSeconds) })),
    }),
    ...(pending !== undefined && { pendingPeers: pending.map((p, i) => peer(`pendingPeers[${i}]`, p)) }),
    ...(learners !== undefined && { learnerPeerIds: learners.map((id, i) => peerOf(`learnerPeerIds[${i}]`, id)) }),
  });
}

/**
 * A scheduling configuration change → wire request, checking its types
 * (PD checks the values: `INVALID_ARGUMENT` naming what is wrong).
 *
 * @throws PdClientError `INVALID_ARGUMENT` for a store id that is not a
 *   uint64 or a rate or count that is not a finite number.
 */
export function schedulingChangeToWire(change: SchedulingConfigChange): SetSchedulingConfigRequest {
  if (typeof change !== "object" || change === null) throw invalidArgument("scheduling config change must be an object");
  const num = (name: string, v: unknown): number => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw invalidArgument(`${name} must be a finite number, got ${String(v)}`);
    return v;
  };
  const limits = change.storeLimits;
  if (limits !== undefined && !Array.isArray(limits)) throw invalidArgument("storeLimits must be an array");
  return schedulingPatchToWire({
    ...(change.maxReplicas !== undefined && { maxReplicas: num("maxReplicas", change.maxReplicas) }),
    ...(change.defaultStoreLimit !== undefined && {
      defaultStoreLimit: {
        addPeerPerMin: num("defaultStoreLimit.addPeerPerMin", change.defaultStoreLimit.addPeerPerMin),
        removePeerPerMin: num("defaultStoreLimit.removePeerPerMin", change.defaultStoreLimit.removePeerPerMin),
      },
    }),
    ...(limits !== undefined && {
      storeLimits: limits.map((o, i) => ({
        storeId: checkUint64(`storeLimits[${i}].storeId`, o.storeId),
        ...(o.addPeerPerMin !== undefined && { addPeerPerMin: num(`storeLimits[${i}].addPeerPerMin`, o.addPeerPerMin) }),
        ...(o.removePeerPerMin !== undefined && { removePeerPerMin: num(`storeLimits[${i}].removePeerPerMin`, o.removePeerPerMin) }),
      })),
    }),
  });
}

/** Wire `StoreHeartbeatResponse` → {@link StoreHeartbeatResult}. */
export function storeHeartbeatFromWire(res: StoreHeartbeatResponse): StoreHeartbeatResult {
  return { accepted: res.accepted, operations: res.operations.map(operationFromWire) };
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

/** Wire `ListRegionsResponse` → a page of domain regions. */
export function regionPageFromWire(res: ListRegionsResponse): RegionPage {
  return {
    regions: res.regions.map(regionFromWire),
    nextStartKey: res.hasMore ? new Uint8Array(res.nextStartKey) : undefined,
  };
}

