/**
 * Types of `@nokv/pd-client`'s API. The domain types (regions, stores,
 * members, operations) are `@nokv/pd-model`'s, re-exported so gateways need
 * only this package; no protobuf class leaks through the public API.
 *
 * Every uint64 of the wire (ids, epochs, counts, timestamps) is a `bigint`;
 * keys are `Uint8Array`. Regions returned by the client may be shared with
 * its route cache: treat them (and their key bytes) as immutable.
 */

import type { ExecutableOperationKind, Region, SchedulerOperation, StoreStats as DomainStoreStats } from "@nokv/pd-model";

export type {
  DownPeer,
  ExecutableOperationKind,
  OperatorInfo,
  OperatorState,
  PdMember,
  PdMembers,
  Region,
  RegionEpoch,
  RegionHeartbeatExtras,
  RegionPeer,
  SchedulerInfo,
  SchedulerName,
  SchedulerOperation,
  SchedulerOperationKind,
  SchedulingConfig,
  StoreLimit,
  StoreLimitOverride,
  StoreLiveness,
  StoreStatus,
} from "@nokv/pd-model";

/**
 * What a store reports in a store heartbeat (the domain's `StoreStats`,
 * with the counters optional: `regionNum`, `leaderNum`, `capacity` and
 * `available` default to `0n`; `usedSize`, `bytesWritten` and `keysWritten`
 * are sent only when given). `storeId` must be non-zero (PD answers
 * `INVALID_ARGUMENT` otherwise). Sizes are in bytes.
 */
export type StoreStats = Pick<DomainStoreStats, "storeId"> & Partial<Omit<DomainStoreStats, "storeId">>;

/**
 * A store heartbeat: the stats and, for a store that executes more than
 * leader transfers, the operation kinds it executes. Without
 * `capabilities` (what NoKV's Go stores send) the request is byte for byte
 * the original one and PD answers with leader transfers only, as it always
 * did; with them, PD sends the listed kinds (none for an empty list), each
 * with an operator id, the region epoch it was planned against and the
 * target store.
 */
export interface StoreHeartbeat extends StoreStats {
  readonly capabilities?: readonly ExecutableOperationKind[];
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
   * Overall deadline of the call in milliseconds, retries, backoff and the
   * wait for a new leader included. Defaults to the client's `timeoutMs`
   * (10 000). At most 2^31 - 1 (`MAX_TIMEOUT_MS`).
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
  /**
   * RPC attempts started, all methods, retries included: unary calls plus
   * `TsoStream` calls opened (requests sent on an open stream are not RPCs;
   * see `tsoStreamRequests`).
   */
  readonly rpcs: number;
  /** Attempts beyond the first of a call. */
  readonly retries: number;
  /** Times the client followed a `pd-leader-addr` redirect. */
  readonly leaderRedirects: number;
  /** `getTimestamp()` / `getTimestamps()` calls. */
  readonly tsoRequests: number;
  /**
   * Timestamp requests sent to PD, whatever the transport (one per batch when
   * batching is on, retries included): always `tsoUnaryRpcs + tsoStreamRequests`.
   */
  readonly tsoRpcs: number;
  /** Unary `Tso` RPC attempts (`tsoStream: false`, or an endpoint without `TsoStream`). */
  readonly tsoUnaryRpcs: number;
  /** `TsoRequest`s sent on a `TsoStream`. */
  readonly tsoStreamRequests: number;
  /** `TsoStream` calls opened (the first, and one after each break or endpoint change). */
  readonly tsoStreams: number;
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
  /** `getRegionByKey()` calls that joined a lookup of the same key already in flight (no RPC of their own). */
  readonly regionLookupsJoined: number;
  /**
   * Timestamp runs refused because PD answered at or below a timestamp this
   * client had already handed out (`TIMESTAMP_FALLBACK`): a PD restored from
   * an older state. Anything above 0 deserves an alert.
   */
  readonly tsoFallbacks: number;
  /** Timestamp calls waiting right now (bounded by `tsoBatching.maxPendingRequests`). */
  readonly tsoPending: number;
  /** Times the client switched to another leader (answers, redirects, member lists). */
  readonly leaderChanges: number;
  /** `GetMembers` probes sent to find the leader or learn the members. */
  readonly leaderProbes: number;
}

/** Options of {@link PdClient.listOperators}. */
export interface ListOperatorsOptions extends PdCallOptions {
  /** The operators that ended (newest first, up to PD's history bound) instead of those in flight (oldest first). */
  readonly history?: boolean;
}

/**
 * A change to PD's scheduling configuration (`setSchedulingConfig`): each
 * field given replaces the current value; a store's rate of 0 removes that
 * rate's override (the store then has the default's). Pausing schedulers is
 * `setSchedulerPaused`.
 */
export interface SchedulingConfigChange {
  /** Voters every region should have, 1..15. */
  readonly maxReplicas?: number;
  /** The limit of every store without an override; both rates positive, per minute. */
  readonly defaultStoreLimit?: { readonly addPeerPerMin: number; readonly removePeerPerMin: number };
  /** Per-store overrides; a rate left out keeps its override, a rate of 0 removes it. */
  readonly storeLimits?: ReadonlyArray<{ readonly storeId: bigint; readonly addPeerPerMin?: number; readonly removePeerPerMin?: number }>;
}

/** Options of {@link PdClient.listRegions}. */
export interface ListRegionsOptions extends PdCallOptions {
  /** Start from the region holding this key. Default: the first region. */
  readonly startKey?: Uint8Array;
  /** At most this many regions; default PD's page size (100), at most PD's limit (10 000). */
  readonly limit?: bigint;
}

/** One page of regions in key order. */
export interface RegionPage {
  readonly regions: readonly Region[];
  /** Where the next page starts, when more regions follow. */
  readonly nextStartKey: Uint8Array | undefined;
}

/** The serving status of the standard gRPC health service (`grpc.health.v1`). */
export type HealthStatus = "SERVING" | "NOT_SERVING" | "UNKNOWN" | "SERVICE_UNKNOWN";

/** Options of {@link PdClient.checkHealth}. */
export interface HealthCheckOptions extends PdCallOptions {
  /** The endpoint to ask (`host:port`). Default: the client's current endpoint. */
  readonly endpoint?: string;
  /** The service to ask about: `""` (the server as a whole, the default) or `pb.PD`. */
  readonly service?: string;
}

/**
 * TLS towards PD (PEM contents). With `caCert` the server's certificate must
 * chain to it (default: the system's roots); `cert` and `key` present a
 * client certificate, which a PD started with `--cacert` requires.
 */
export interface PdClientTlsOptions {
  readonly caCert?: Uint8Array | string;
  readonly cert?: Uint8Array | string;
  readonly key?: Uint8Array | string;
}
