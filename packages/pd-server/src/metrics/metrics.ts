import { status as GrpcStatus } from "@grpc/grpc-js";
import type { Cluster } from "@nokv/pd-core";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Latency buckets of RPCs and storage writes, in seconds: 50 µs … 5 s. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Batch-size buckets: powers of 4 up to 2^18 (the most timestamps one call may take). */
const BATCH_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144];
/** Group-commit buckets: edits per durable append. */
const EDIT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** `grpc.status` number → its name, for the `code` label. */
const STATUS_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [name, value] of Object.entries(GrpcStatus)) if (typeof value === "number") names[value] = name;
  return names;
})();

/** The per-method children of the RPC metrics, bound once so a call does no label work of its own. */
export interface RpcMetrics {
  /** Records one finished call: its gRPC status code and its duration in seconds. */
  done(code: number, seconds: number): void;
}

/** What the service feeds the metrics. Every method is cheap: bound children, no label strings. */
export interface PdMetrics {
  readonly registry: Registry;
  /** The bound metrics of one RPC method (by its wire name, e.g. `Tso`), created once. */
  rpc(method: string): RpcMetrics;
  /** A run of `count` timestamps was handed out. */
  timestamps(count: number): void;
  /** A run of `count` ids was handed out. */
  ids(count: number): void;
  /** A store or region heartbeat was answered: accepted, or rejected with a PD error code. */
  heartbeat(type: "store" | "region", rejectedWith: string | undefined): void;
  /**
   * An accepted region heartbeat gave a region duplicate peers (two on one
   * store, or a peer id twice) that its stored version did not have.
   */
  duplicatePeersAppeared(): void;
  /** A region-edit append became durable (or failed) after `seconds`, carrying `edits` edits. */
  storageAppend(seconds: number, edits: number, ok: boolean): void;
  /** An allocator ceiling write became durable (or failed) after `seconds`. */
  storageStateWrite(seconds: number, ok: boolean): void;
  /** Stops sampling and clears the registry. */
  close(): void;
}

/** What the scrape-time gauges read from. */
export interface PdMetricsSources {
  /** The cluster being served, or undefined while this member may not serve. */
  readonly cluster: () => Cluster | undefined;
  /** True while this member may serve (the leader). */
  readonly isLeader: () => boolean;
  /** Counters of the storage backend, when it has them (the local-file store does). */
  readonly storageStats?: () => {
    readonly appends: number;
    readonly logSyncs: number;
    readonly stateWrites: number;
    readonly compactions: number;
    readonly compactionFailures: number;
    readonly logBytes: number;
    readonly snapshotBytes: number;
  };
  /** Also collect prom-client's process and Node.js metrics (event-loop delay, heap, GC…). Default true. */
  readonly defaultMetrics?: boolean;
}

/**
 * A counter whose value is sampled from a monotonic source at scrape time
 * (prom-client counters only go up, so the difference since the last scrape
 * is added).
 */
function sampledCounter(registry: Registry, name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const v = read();
      if (v > seen) this.inc(v - seen);
      seen = v;
    },
  });
}

/**
 * Creates PD's Prometheus metrics in a registry of their own (so that two
 * servers in one process do not clash). Names follow Prometheus conventions:
 * `pd_…_total` counters, `_seconds` durations.
 */
export function createPdMetrics(sources: PdMetricsSources): PdMetrics {
  const registry = new Registry();
  const { cluster } = sources;

  const requests = new Counter({
    name: "pd_grpc_requests_total",
    help: "gRPC requests answered, by method and status code.",
    labelNames: ["method", "code"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "pd_grpc_request_duration_seconds",
    help: "Time from receiving a gRPC request to answering it, by method.",
    labelNames: ["method"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const tsTotal = new Counter({ name: "pd_tso_timestamps_total", help: "Timestamps handed out.", registers: [registry] });
  const tsBatch = new Histogram({
    name: "pd_tso_batch_size",
    help: "Timestamps per Tso request (unary or stream message).",
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const idTotal = new Counter({ name: "pd_id_allocated_total", help: "Ids handed out.", registers: [registry] });
  const idBatch = new Histogram({ name: "pd_id_batch_size", help: "Ids per AllocID request.", buckets: BATCH_BUCKETS, registers: [registry] });
  const heartbeats = new Counter({
    name: "pd_heartbeats_total",
    help: "Store and region heartbeats, by type, result (accepted|rejected) and reason (the PD error code; none when accepted).",
    labelNames: ["type", "result", "reason"] as const,
    registers: [registry],
  });
  const duplicatePeers = new Counter({
    name: "pd_region_duplicate_peers_total",
    help: "Times a region heartbeat brought duplicate peers (two on one store, or a peer id twice) into a region; such regions are accepted and not scheduled.",
    registers: [registry],
  });
  const appendSeconds = new Histogram({
    name: "pd_storage_append_duration_seconds",
    help: "Region-catalog append until durable (queueing, write and fsync).",
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const appendEdits = new Histogram({
    name: "pd_storage_append_edits",
    help: "Region edits per durable append (the catalog's group-commit batch size).",
    buckets: EDIT_BUCKETS,
    registers: [registry],
  });
  const stateSeconds = new Histogram({
    name: "pd_storage_state_write_duration_seconds",
    help: "Allocator ceiling write until durable.",
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const storageFailures = new Counter({
    name: "pd_storage_write_failures_total",
    help: "Failed durable writes, by operation (append|state).",
    labelNames: ["op"] as const,
    registers: [registry],
  });

  new Gauge({
    name: "pd_regions",
    help: "Regions in the catalog.",
    registers: [registry],
    collect() {
      this.set(cluster()?.regions.size ?? 0);
    },
  });
  new Gauge({
    name: "pd_regions_duplicate_peers",
    help: "Regions in the catalog whose peers are not one per store with distinct ids; PD schedules nothing onto them.",
    registers: [registry],
    collect() {
      this.set(cluster()?.regions.duplicatePeerRegions ?? 0);
    },
  });
  new Gauge({
    name: "pd_stores",
    help: "Known stores by liveness (up|disconnected|down).",
    labelNames: ["liveness"] as const,
    registers: [registry],
    collect() {
      const n = { up: 0, disconnected: 0, down: 0 };
      for (const s of cluster()?.storeStatuses() ?? []) if (s.liveness !== "unknown") n[s.liveness]++;
      for (const [liveness, v] of Object.entries(n)) this.set({ liveness }, v);
    },
  });
  new Gauge({
    name: "pd_is_leader",
    help: "1 while this PD member is the leader (may serve), else 0.",
    registers: [registry],
    collect() {
      this.set(sources.isLeader() ? 1 : 0);
    },
  });
  new Gauge({
    name: "pd_scheduler_transfers_in_flight",
    help: "Leader transfers (balance-leader operators) issued and not yet finished, stale or timed out.",
    registers: [registry],
    collect() {
      this.set(cluster()?.scheduling.operators.list().filter((op) => op.kind === "balance-leader").length ?? 0);
    },
  });
  for (const outcome of ["issued", "completed", "expired", "cancelled"] as const) {
    sampledCounter(
      registry,
      `pd_scheduler_transfers_${outcome}_total`,
      `Leader transfers ${outcome} since start-up.`,
      () => cluster()?.scheduling.operators.transferCounters()[outcome] ?? 0,
    );
  }
  // Operators by kind and event, sampled from the cluster's counters at scrape time.
  const operatorsSeen = new Map<string, number>();
  new Counter({
    name: "pd_schedule_operators_total",
    help: "Operators by kind (balance-leader, balance-region, replace-down-replica, make-up-replica, remove-extra-replica, promote-learner, remove-learner) and event (create, success, timeout, cancelled, replaced).",
    labelNames: ["kind", "event"] as const,
    registers: [registry],
    collect() {
      for (const [kind, event, n] of cluster()?.scheduling.operators.counters() ?? []) {
        const key = `${kind}/${event}`;
        const seen = operatorsSeen.get(key) ?? 0;
        if (n > seen) this.inc({ kind, event }, n - seen);
        operatorsSeen.set(key, n);
      }
    },
  });
  new Gauge({
    name: "pd_schedule_operators_in_flight",
    help: "Operators in flight, by kind.",
    labelNames: ["kind"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const n = new Map<string, number>();
      for (const op of cluster()?.scheduling.operators.list() ?? []) n.set(op.kind, (n.get(op.kind) ?? 0) + 1);
      for (const [kind, v] of n) this.set({ kind }, v);
    },
  });
  const hitsSeen = { "add-peer": 0, "remove-peer": 0 };
  new Counter({
    name: "pd_schedule_store_limit_hits_total",
    help: "Operators not planned because a store's limit (add-peer or remove-peer operations per minute) was spent, by type.",
    labelNames: ["type"] as const,
    registers: [registry],
    collect() {
      const hits = cluster()?.scheduling.limiter.hits();
      if (hits === undefined) return;
      for (const type of ["add-peer", "remove-peer"] as const) {
        if (hits[type] > hitsSeen[type]) this.inc({ type }, hits[type] - hitsSeen[type]);
        hitsSeen[type] = hits[type];
      }
    },
  });
  new Gauge({
    name: "pd_regions_under_replicated",
    help: "Regions with fewer voters that are not lost (store down, or reported down for the down threshold) than max-replicas.",
    registers: [registry],
    collect() {
      this.set(cluster()?.scheduling.underReplicatedRegions ?? 0);
    },
  });
  new Gauge({
    name: "pd_schedule_pending_checks",
    help: "Regions waiting for the replica checker (repairs the store limits have not let through yet).",
    registers: [registry],
    collect() {
      this.set(cluster()?.scheduling.pendingChecks ?? 0);
    },
  });
  sampledCounter(registry, "pd_schedule_store_heartbeats_total", "Store heartbeats scheduled on.", () => cluster()?.scheduling.cost().storeHeartbeats ?? 0);
  sampledCounter(
    registry,
    "pd_schedule_store_heartbeat_seconds_total",
    "Time spent scheduling on store heartbeats (planning and dispatch); divide by pd_schedule_store_heartbeats_total for the mean.",
    () => (cluster()?.scheduling.cost().totalMs ?? 0) / 1000,
  );
  const stats = sources.storageStats;
  if (stats !== undefined) {
    sampledCounter(registry, "pd_storage_log_appends_total", "Appends written to the edit log.", () => stats().appends);
    sampledCounter(
      registry,
      "pd_storage_log_syncs_total",
      "fdatasyncs of the edit log (appends / syncs = the file's group-commit factor).",
      () => stats().logSyncs,
    );
    sampledCounter(registry, "pd_storage_state_writes_total", "Allocator state files written.", () => stats().stateWrites);
    sampledCounter(registry, "pd_storage_compactions_total", "Edit-log compactions into a snapshot.", () => stats().compactions);
    sampledCounter(
      registry,
      "pd_storage_compaction_failures_total",
      "Edit-log compactions that failed (each is retried with back-off; the log grows meanwhile).",
      () => stats().compactionFailures,
    );
    new Gauge({
      name: "pd_storage_log_bytes",
      help: "Size of the live edit log.",
      registers: [registry],
      collect() {
        this.set(stats().logBytes);
      },
    });
    new Gauge({
      name: "pd_storage_snapshot_bytes",
      help: "Size of the last snapshot.",
      registers: [registry],
      collect() {
        this.set(stats().snapshotBytes);
      },
    });
  }
  if (sources.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const rpcs = new Map<string, RpcMetrics>();
  const accepted = { store: heartbeats.labels("store", "accepted", "none"), region: heartbeats.labels("region", "accepted", "none") };
  const rejected = new Map<string, { inc(): void }>();
  const appendFailures = storageFailures.labels("append");
  const stateFailures = storageFailures.labels("state");
  // Exported at 0 from the start: a query or alert on failures sees a series before the first one.
  appendFailures.inc(0);
  stateFailures.inc(0);

  return {
    registry,
    rpc(method) {
      let m = rpcs.get(method);
      if (m === undefined) {
        const byCode: Array<{ inc(): void } | undefined> = [];
        const timer = latency.labels(method);
        m = {
          done(code, seconds) {
            let c = byCode[code];
            if (c === undefined) {
              c = requests.labels(method, STATUS_NAMES[code] ?? String(code));
              byCode[code] = c;
            }
            c.inc();
            timer.observe(seconds);
          },
        };
        rpcs.set(method, m);
      }
      return m;
    },
    timestamps(count) {
      tsTotal.inc(count);
      tsBatch.observe(count);
    },
    ids(count) {
      idTotal.inc(count);
      idBatch.observe(count);
    },
    heartbeat(type, rejectedWith) {
      if (rejectedWith === undefined) {
        accepted[type].inc();
        return;
      }
      const key = `${type}/${rejectedWith}`;
      let c = rejected.get(key);
      if (c === undefined) {
        c = heartbeats.labels(type, "rejected", rejectedWith.toLowerCase());
        rejected.set(key, c);
      }
      c.inc();
    },
    duplicatePeersAppeared() {
      duplicatePeers.inc();
    },
    storageAppend(seconds, edits, ok) {
      if (!ok) {
        appendFailures.inc();
        return;
      }
      appendSeconds.observe(seconds);
      appendEdits.observe(edits);
    },
    storageStateWrite(seconds, ok) {
      if (!ok) stateFailures.inc();
      else stateSeconds.observe(seconds);
    },
    close() {
      registry.clear();
    },
  };
}
