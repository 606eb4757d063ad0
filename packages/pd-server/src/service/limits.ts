import { PdError } from "@nokv/pd-core";
import { MAX_ID_COUNT, MAX_TSO_COUNT } from "@nokv/pd-model";
import type { GetRegionByKeyRequest, ListRegionsRequest, RegionHeartbeatRequest } from "@nokv/pd-proto";

/** Bounds on what one request may ask for. Each violation is `INVALID_ARGUMENT` and changes nothing. */
export interface RequestLimits {
  /**
   * Largest request message in bytes (gRPC's `max_receive_message_length`;
   * a larger message is refused by gRPC itself with `RESOURCE_EXHAUSTED`).
   * Default 4 MiB, gRPC's own default.
   */
  readonly maxMessageBytes: number;
  /** Longest key or region boundary in bytes (`GetRegionByKey`, `RegionHeartbeat`, `ListRegions`). Default 64 KiB. */
  readonly maxKeyBytes: number;
  /** Most ids one `AllocID` may take. Default 2^20. */
  readonly maxIdCount: bigint;
  /** Most timestamps one `Tso` (or `TsoStream` message) may take. Default 2^18. */
  readonly maxTsoCount: bigint;
  /** Most regions one `ListRegions` (or `/regions` page) may return. Default 10 000. */
  readonly maxScanLimit: number;
  /** Regions in a `ListRegions` page when the request says 0. Default 100. */
  readonly defaultScanLimit: number;
}

/** The default {@link RequestLimits}. */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = Object.freeze({
  maxMessageBytes: 4 * 1024 * 1024,
  maxKeyBytes: 64 * 1024,
  maxIdCount: MAX_ID_COUNT,
  maxTsoCount: MAX_TSO_COUNT,
  maxScanLimit: 10_000,
  defaultScanLimit: 100,
});

/**
 * Merges partial limits over the defaults and checks them. A limit that is
 * absent or `undefined` takes its default.
 *
 * @throws RangeError naming a limit that is not a positive integer.
 */
export function resolveRequestLimits(partial: { readonly [K in keyof RequestLimits]?: RequestLimits[K] | undefined } | undefined): RequestLimits {
  const d = DEFAULT_REQUEST_LIMITS;
  const l: RequestLimits = {
    maxMessageBytes: partial?.maxMessageBytes ?? d.maxMessageBytes,
    maxKeyBytes: partial?.maxKeyBytes ?? d.maxKeyBytes,
    maxIdCount: partial?.maxIdCount ?? d.maxIdCount,
    maxTsoCount: partial?.maxTsoCount ?? d.maxTsoCount,
    maxScanLimit: partial?.maxScanLimit ?? d.maxScanLimit,
    defaultScanLimit: partial?.defaultScanLimit ?? d.defaultScanLimit,
  };
  for (const k of ["maxMessageBytes", "maxKeyBytes", "maxScanLimit", "defaultScanLimit"] as const) {
    if (!Number.isSafeInteger(l[k]) || l[k] <= 0) throw new RangeError(`limits: ${k} must be a positive integer, got ${l[k]}`);
  }
  for (const k of ["maxIdCount", "maxTsoCount"] as const) {
    if (typeof l[k] !== "bigint" || l[k] <= 0n) throw new RangeError(`limits: ${k} must be a positive bigint, got ${String(l[k])}`);
  }
  if (l.defaultScanLimit > l.maxScanLimit) throw new RangeError("limits: defaultScanLimit must not exceed maxScanLimit");
  return l;
}

function checkKey(what: string, key: Uint8Array | undefined, max: number): void {
  if (key !== undefined && key.length > max) {
    throw new PdError("INVALID_ARGUMENT", `${what}: ${key.length} bytes exceed the limit of ${max}`);
  }
}

/**
 * The regions a `ListRegions` request asks for: `0` means the default page,
 * anything above the limit is refused.
 *
 * @throws PdError `INVALID_ARGUMENT` above {@link RequestLimits.maxScanLimit}.
 */
export function scanLimit(requested: bigint, limits: RequestLimits): number {
  if (requested === 0n) return limits.defaultScanLimit;
  if (requested > BigInt(limits.maxScanLimit)) {
    throw new PdError("INVALID_ARGUMENT", `list regions: limit ${requested} exceeds ${limits.maxScanLimit}`);
  }
  return Number(requested);
}

/**
 * Per-method request checks run before a handler sees the request (counts
 * are checked by the allocators, configured with the same limits).
 */
export function requestValidators(limits: RequestLimits): {
  readonly getRegionByKey: (req: GetRegionByKeyRequest) => void;
  readonly regionHeartbeat: (req: RegionHeartbeatRequest) => void;
  readonly listRegions: (req: ListRegionsRequest) => void;
} {
  const max = limits.maxKeyBytes;
  return {
    getRegionByKey: (req) => checkKey("key", req.key, max),
    regionHeartbeat: (req) => {
      const r = req.region;
      if (r === undefined) return;
      checkKey(`region ${r.id}: start key`, r.startKey, max);
      checkKey(`region ${r.id}: end key`, r.endKey, max);
    },
    listRegions: (req) => {
      checkKey("start key", req.startKey, max);
      scanLimit(req.limit, limits);
    },
  };
}
