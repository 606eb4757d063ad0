/**
 * Domain types of `@nokv/pd-client`. They are the client's own: no protobuf
 * class leaks through the public API, and `src/convert.ts` is the only place
 * that maps between these and the wire messages of `@nokv/pd-proto`.
 *
 * Every uint64 of the wire (ids, epochs, counts, timestamps) is a `bigint`;
 * keys are `Uint8Array`.
 */

/**
 * The epoch of a region. `version` grows on every split or merge,
 * `confVersion` on every membership change. PD compares each field on its own.
 */
export interface RegionEpoch {
  readonly version: bigint;
  readonly confVersion: bigint;
}

/** One replica of a region: the store that holds it and the peer's id. */
export interface RegionPeer {
  readonly storeId: bigint;
  readonly peerId: bigint;
}

/**
 * A region: the key range `[startKey, endKey)` and its replicas.
 *
 * An empty `startKey` is -infinity and an empty `endKey` is +infinity.
 * Regions returned by the client may be shared with its route cache: treat
 * them (and their key bytes) as immutable.
 */
export interface Region {
  readonly id: bigint;
  readonly startKey: Uint8Array;
  readonly endKey: Uint8Array;
  readonly epoch: RegionEpoch;
  readonly peers: readonly RegionPeer[];
}

/**
 * What a store reports in a store heartbeat. `storeId` must be non-zero (PD
 * answers `INVALID_ARGUMENT` otherwise); the counters default to `0n`.
 * `capacity` and `available` are in bytes.
 */
export interface StoreStats {
  readonly storeId: bigint;
  readonly regionNum?: bigint;
  readonly leaderNum?: bigint;
  readonly capacity?: bigint;
  readonly available?: bigint;
}

/**
 * The kind of a scheduler operation. `"unknown"` stands for any value this
 * client does not know (a newer PD): callers should ignore such operations.
 */
export type SchedulerOperationKind = "none" | "leader-transfer" | "unknown";

/**
 * An operation PD asks a store to carry out, as PD sent it: the client does
 * not validate it (the store-side adapter does).
 */
export interface SchedulerOperation {
  readonly kind: SchedulerOperationKind;
  readonly regionId: bigint;
  readonly sourcePeerId: bigint;
  readonly targetPeerId: bigint;
}

/** PD's answer to a store heartbeat. */
export interface StoreHeartbeatResult {
  readonly accepted: boolean;
  readonly operations: readonly SchedulerOperation[];
}

/** A run of `count` consecutive ids starting at `firstId`. */
export interface IdRange {
  readonly firstId: bigint;
  readonly count: bigint;
}

/** A run of `count` consecutive timestamps starting at `first`. */
export interface TimestampRange {
  readonly first: bigint;
  readonly count: bigint;
}

/** Options every client call accepts. */
export interface PdCallOptions {
  /**
   * Overall deadline of the call in milliseconds, retries and backoff
   * included. Defaults to the client's `timeoutMs` (2000).
   */
  readonly timeoutMs?: number;
  /** Aborts the call; it then rejects with a `CANCELLED` {@link PdClientError}. */
  readonly signal?: AbortSignal;
}

/** Options of {@link PdClient.getRegionByKey}. */
export interface GetRegionOptions extends PdCallOptions {
  /**
   * Ask PD even when the route cache holds the key. The fresh answer still
   * replaces what the cache held, so this is also the way to refresh an entry.
   */
  readonly bypassCache?: boolean;
}

/**
 * Counters of one client since it was created. They are plain `number`s:
 * local metrics, not wire values.
 */
export interface PdClientStats {
  /** RPC attempts sent, all methods, retries included. */
  readonly rpcs: number;
  /** Attempts beyond the first of a call. */
  readonly retries: number;
  /** Times the client followed a `pd-leader-addr` redirect. */
  readonly leaderRedirects: number;
  /** `getTimestamp()` / `getTimestamps()` calls. */
  readonly tsoRequests: number;
  /** `Tso` RPC attempts sent (one per batch when batching is on). */
  readonly tsoRpcs: number;
  /** `GetRegionByKey` RPC attempts sent. */
  readonly regionRpcs: number;
  /** `getRegionByKey()` calls answered from the route cache. */
  readonly routeCacheHits: number;
  /** `getRegionByKey()` calls that consulted the cache and had to ask PD. */
  readonly routeCacheMisses: number;
  /** Cached regions dropped because a fetched region overlapped them. */
  readonly routeCacheEvictions: number;
  /** Regions currently cached. */
  readonly routeCacheSize: number;
}
