/**
 * What the client adds to `@nokv/pd-proto`'s wire ↔ domain conversion:
 * inputs are checked here so that a bad argument fails as an
 * `INVALID_ARGUMENT` {@link PdClientError} before any RPC, instead of as an
 * encoder exception inside grpc-js; answers are checked against what was
 * asked; decoded keys are copied, since regions outlive the message in the
 * route cache.
 */
import { cloneRegion, MAX_UINT64, type Region } from "@nokv/pd-model";
import {
  type AllocIDResponse,
  bytesToWire,
  type ListRegionsResponse,
  operationFromWire,
  type RegionMeta,
  regionFromWire as regionViewFromWire,
  regionToWire as regionToWireUnchecked,
  type StoreHeartbeatRequest,
  type StoreHeartbeatResponse,
  storeStatsToWire as storeStatsToWireUnchecked,
  type TsoResponse,
} from "@nokv/pd-proto";
import { invalidArgument, protocolError } from "./errors.js";
import type { IdRange, RegionPage, StoreHeartbeatResult, StoreStats, TimestampRange } from "./types.js";

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

/** Domain {@link StoreStats} → wire request; absent counters are `0n`. */
export function storeStatsToWire(stats: StoreStats): StoreHeartbeatRequest {
  if (typeof stats !== "object" || stats === null) throw invalidArgument("store stats must be an object");
  return storeStatsToWireUnchecked({
    storeId: checkUint64("storeId", stats.storeId),
    regionNum: checkUint64("regionNum", stats.regionNum ?? 0n),
    leaderNum: checkUint64("leaderNum", stats.leaderNum ?? 0n),
    capacity: checkUint64("capacity", stats.capacity ?? 0n),
    available: checkUint64("available", stats.available ?? 0n),
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

