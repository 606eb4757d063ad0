import type { TikvMemberJson, TikvStoreJson } from "@nokv/pd-model";

// The JSON the status page reads, beyond TiKV's shapes (`/stores`,
// `/members`, `/operators?object=1`: pd-model's), which it reuses as they are. One definition for both ends:
// pd-server writes these, the page reads them. Every uint64 (ids, epochs,
// timestamps, bytes, counts of the catalog) is a decimal string: the page
// turns them into BigInt, never into a Number. Plain JSON numbers are used
// only for values that are doubles by nature: Prometheus counters, durations,
// sequence numbers of the page's own feeds.

/** `GET /pd/api/v1/dashboard/summary?since=SEQ`: everything the header, the stores table and the activity panels need, in one answer. */
export interface DashboardSummaryJson {
  /** This member: the one whose status port answered. */
  readonly member: {
    readonly name: string;
    /** True while this member serves (the leader; a single PD always). */
    readonly serving: boolean;
    /** Random per server start: a new value means PD restarted and the page reloads everything. */
    readonly instance: string;
    /** Wall-clock ms when this server started (for people). */
    readonly started_at_ms: string;
    /** Monotonic ms since the server started. */
    readonly uptime_ms: number;
  };
  /** TiKV's `/members` shape: every member and the leader (null when none is elected). */
  readonly members: { readonly members: readonly TikvMemberJson[]; readonly leader: TikvMemberJson | null };
  /** Wall-clock ms on PD when this answer was made. */
  readonly server_time_ms: string;
  /** The leader's cluster data; null on a member that does not serve (a follower), with `members.leader` saying who does. */
  readonly cluster: DashboardClusterJson | null;
  /** Samples taken every `interval_ms` since `since` (at most the ring's `capacity`, oldest first). */
  readonly history: DashboardHistoryJson;
}

/** The cluster part of the summary. */
export interface DashboardClusterJson {
  readonly region_count: number;
  readonly allocators: {
    /** The next id `AllocID` hands out. */
    readonly id_next: string;
    /** The durable id ceiling: no id above it is handed out before it moves. */
    readonly id_ceiling: string;
    /** The last timestamp handed out (`physical_ms << 18 | logical`); "0" before the first. */
    readonly tso_last: string;
    /** The durable timestamp ceiling. */
    readonly tso_ceiling: string;
  };
  /** TiKV's `/stores` entries. */
  readonly stores: readonly TikvStoreJson[];
  readonly liveness: { readonly disconnected_after_ms: number; readonly down_after_ms: number };
  /** Where the region feed stands: ask `region-changes` when `seq` moved, reload all on a new `generation`. */
  readonly region_feed: { readonly generation: string; readonly seq: number };
  /** The scheduler's operators (the lists themselves: TiKV's `/pd/api/v1/operators` and `operators/records`, `?object=1`). */
  readonly operators: DashboardOperatorsJson;
}

/** The operators part of the summary. */
export interface DashboardOperatorsJson {
  /** Operators in flight now. */
  readonly in_flight: number;
  /** Operators since this member leads, by event (`create`, `success`, `timeout`, `cancelled`, `replaced`), summed over kinds. */
  readonly counters: Readonly<Record<string, number>>;
}

/** One sample of the status ring. */
export interface DashboardSampleJson {
  readonly seq: number;
  /** PD's monotonic clock, ms: rates divide by differences of it. */
  readonly mono_ms: number;
  /** PD's wall clock, ms: for axis labels. */
  readonly wall_ms: number;
  /** Cumulative counters read from the Prometheus metrics (null when metrics are off). */
  readonly counters: DashboardCountersJson | null;
  /** Per store (by id): `[regions, leaders, available bytes, capacity bytes, liveness]`; liveness 0 up, 1 disconnected, 2 down. Empty on a follower. */
  readonly stores: Readonly<Record<string, readonly [string, string, string, string, number]>>;
  readonly regions: number;
  /** Operators in flight when the sample was taken. */
  readonly operators_in_flight: number;
}

/** The counters of one sample: cumulative values of PD's Prometheus metrics (the same ones `/metrics` exposes). */
export interface DashboardCountersJson {
  /** `pd_tso_batch_size_count`: Tso requests (unary calls and stream messages). */
  readonly tso_requests: number;
  /** `pd_tso_timestamps_total`. */
  readonly tso_timestamps: number;
  /** `pd_id_batch_size_count`: AllocID calls. */
  readonly id_requests: number;
  /** `pd_id_allocated_total`. */
  readonly ids: number;
  /** `pd_heartbeats_total` by `type/result/reason`, e.g. `region/rejected/stale_epoch`. */
  readonly heartbeats: Readonly<Record<string, number>>;
  /** `pd_storage_append_edits` sum and count: edits per durable append (group commit). */
  readonly append_edits_sum: number;
  readonly append_count: number;
  /** `pd_storage_append_duration_seconds` sum (s) and cumulative buckets (`le` → count). */
  readonly append_seconds_sum: number;
  readonly append_seconds_buckets: Readonly<Record<string, number>>;
  /** `pd_storage_log_appends_total` and `pd_storage_log_syncs_total` (local-file store only; null otherwise). */
  readonly log_appends: number | null;
  readonly log_syncs: number | null;
  /** `pd_grpc_requests_total`, summed over methods and codes. */
  readonly grpc_requests: number;
}

/** The ring of samples in a summary. */
export interface DashboardHistoryJson {
  readonly interval_ms: number;
  readonly capacity: number;
  /** The newest sample's seq (0 before the first). */
  readonly seq: number;
  readonly samples: readonly DashboardSampleJson[];
}

/**
 * A region, compactly: `[id, start_key, end_key, version, conf_ver, leader_store_id, peers]`.
 * Keys are upper-case hex ("" = the empty key; an empty end is +inf); `end_key`
 * is null when it equals the start key of the next region of the same page
 * (the usual case: this halves the bytes). `leader_store_id` is "" when PD does
 * not know the leader. `peers` is flat: `[store_id, peer_id, store_id, peer_id, …]`.
 */
export type CompactRegionJson = readonly [
  id: string,
  startKey: string,
  endKey: string | null,
  version: string,
  confVer: string,
  leaderStoreId: string,
  peers: readonly string[],
];

/** `GET /pd/api/v1/dashboard/regions?start_key=HEX&limit=N`: a page of regions in key order. */
export interface DashboardRegionPageJson {
  /** The region feed's position when the page was read: apply `region-changes?since=` it once all pages are in. */
  readonly generation: string;
  readonly seq: number;
  readonly count: number;
  readonly regions: readonly CompactRegionJson[];
  readonly has_more: boolean;
  readonly next_start_key?: string;
}

/** `GET /pd/api/v1/dashboard/region-changes?generation=G&since=SEQ`: the regions changed since `since`, as they are now. */
export interface DashboardRegionChangesJson {
  readonly generation: string;
  readonly seq: number;
  /** True when `since` is too old or from another generation (PD restarted, another leader): reload every page. */
  readonly reset: boolean;
  /** Changed regions as they are now; `end_key` is never null here. */
  readonly regions: readonly CompactRegionJson[];
  /** Ids of regions that are gone. */
  readonly removed: readonly string[];
}
