import type { Cluster, InFlightTransfer } from "@nokv/pd-core";
import type { DashboardCountersJson, DashboardSampleJson, EndedLeaderTransferJson, LeaderTransferJson } from "@nokv/pd-dashboard";

/** Options of {@link StatusHistory}. */
export interface StatusHistoryOptions {
  /** The cluster being served, or undefined while this member may not. */
  readonly cluster: () => Cluster | undefined;
  /** The activity counters (undefined when metrics are off). */
  readonly counters: (() => Promise<DashboardCountersJson>) | undefined;
  /** Sampling period, ms. Default 1000. */
  readonly intervalMs?: number;
  /** Samples kept. Default 300 (five minutes at one a second). */
  readonly capacity?: number;
  /** Monotonic clock, ms. Default `performance.now`. */
  readonly monotonicMs?: () => number;
  /** Wall clock, ms. Default `Date.now`. */
  readonly nowMs?: () => number;
}

const LIVENESS_CODE = { up: 0, disconnected: 1, down: 2, unknown: 3 } as const;
const RECENT_TRANSFERS = 50;

/**
 * A leader transfer in the status API's shape; its wall-clock issue time is
 * derived from its monotonic age (the tracker stamps transfers with PD's
 * monotonic clock).
 */
export function transferToJson(t: InFlightTransfer, monoNowMs: number, wallNowMs: number): LeaderTransferJson {
  const age = Math.max(0, monoNowMs - t.issuedAtMs);
  return {
    region_id: t.op.regionId.toString(),
    source_store_id: t.sourceStoreId.toString(),
    target_store_id: t.targetStoreId.toString(),
    source_peer_id: t.op.sourcePeerId.toString(),
    target_peer_id: t.op.targetPeerId.toString(),
    epoch: { conf_ver: t.epoch.confVersion.toString(), version: t.epoch.version.toString() },
    issued_at_ms: String(Math.round(wallNowMs - age)),
    age_ms: Math.round(age),
  };
}

/**
 * PD's short memory for the status page: a ring of samples, one a second
 * over the last five minutes, of the stores (regions, leaders, space,
 * liveness) and of the activity counters, plus the leader transfers that
 * recently left the in-flight set.
 *
 * PD keeps it, not the page, so that a page opened during an incident shows
 * the last minutes at once (and a reload loses nothing); it costs one
 * sample a second of a few counters and O(stores) values, a few hundred µs
 * of CPU a minute and tens of KB. The page asks for the samples it lacks
 * (`since`), so an open page adds no sampling of its own.
 */
export class StatusHistory {
  readonly intervalMs: number;
  readonly capacity: number;
  readonly #o: StatusHistoryOptions;
  readonly #mono: () => number;
  readonly #wall: () => number;
  readonly #ring: DashboardSampleJson[] = [];
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  /** In-flight transfers at the last sample, by region id, with the counters then. */
  #lastInFlight = new Map<bigint, InFlightTransfer>();
  #lastOutcomes: { completed: number; expired: number; cancelled: number } | undefined;
  #lastCluster: Cluster | undefined;
  readonly #recent: EndedLeaderTransferJson[] = [];

  constructor(options: StatusHistoryOptions) {
    this.#o = options;
    this.intervalMs = options.intervalMs ?? 1000;
    this.capacity = options.capacity ?? 300;
    this.#mono = options.monotonicMs ?? (() => performance.now());
    this.#wall = options.nowMs ?? Date.now;
  }

  /** Starts sampling (the first sample at once). */
  start(): void {
    if (this.#timer !== undefined) return;
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The newest sample's seq (0 before the first). */
  get seq(): number {
    return this.#seq;
  }

  /** Samples after `since`, oldest first (all that the ring holds when `since` is older, or ahead: a restarted PD). */
  since(since: number): DashboardSampleJson[] {
    if (!(since >= 0) || since > this.#seq) return [...this.#ring];
    const first = this.#ring.findIndex((s) => s.seq > since);
    return first < 0 ? [] : this.#ring.slice(first);
  }

  /** Transfers that left the in-flight set, newest first. */
  recentTransfers(): readonly EndedLeaderTransferJson[] {
    return this.#recent;
  }

  /** Takes one sample now (the timer calls it; tests may too). Overlapping calls are skipped. */
  async sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const counters = this.#o.counters === undefined ? null : await this.#o.counters().catch(() => null);
      const cluster = this.#o.cluster();
      const mono = this.#mono();
      const wall = this.#wall();
      const stores: Record<string, [string, string, string, string, number]> = {};
      let transfers = 0;
      if (cluster !== undefined) {
        for (const s of cluster.storeStatuses()) {
          stores[s.storeId.toString()] = [
            s.regionNum.toString(),
            s.leaderNum.toString(),
            s.available.toString(),
            s.capacity.toString(),
            LIVENESS_CODE[s.liveness],
          ];
        }
        transfers = cluster.operators.size;
      }
      this.noteTransfers();
      this.#seq++;
      this.#ring.push({
        seq: this.#seq,
        mono_ms: Math.round(mono),
        wall_ms: Math.round(wall),
        counters,
        stores,
        regions: cluster?.regions.size ?? 0,
        transfers_in_flight: transfers,
      });
      if (this.#ring.length > this.capacity) this.#ring.shift();
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Diffs the scheduler's in-flight transfers against the last look and
   * keeps those that left as recent. The server calls it after every store
   * heartbeat (the only call that issues, completes or drops transfers) and
   * each sample. The tracker keeps counters, not per-transfer outcomes: an
   * ended transfer gets an outcome only when exactly one counter moved, by
   * exactly the number that ended.
   */
  noteTransfers(): void {
    const cluster = this.#o.cluster();
    if (cluster === undefined) {
      this.#lastCluster = undefined;
      return;
    }
    const mono = this.#mono();
    const wall = this.#wall();
    const now = new Map<bigint, InFlightTransfer>();
    for (const t of cluster.operators.list()) now.set(t.op.regionId, t);
    const c = cluster.operators.counters();
    const outcomes = { completed: c.completed, expired: c.expired, cancelled: c.cancelled };
    if (cluster === this.#lastCluster && this.#lastOutcomes !== undefined) {
      const ended: InFlightTransfer[] = [];
      for (const [id, t] of this.#lastInFlight) {
        const still = now.get(id);
        if (still === undefined || still.issuedAtMs !== t.issuedAtMs) ended.push(t);
      }
      if (ended.length > 0) {
        const moved = (Object.keys(outcomes) as Array<keyof typeof outcomes>).filter((k) => outcomes[k] !== this.#lastOutcomes![k]);
        const only = moved.length === 1 ? moved[0]! : undefined;
        const outcome = only !== undefined && outcomes[only] - this.#lastOutcomes[only] === ended.length ? only : "ended";
        for (const t of ended) {
          this.#recent.unshift({ ...transferToJson(t, mono, wall), ended_at_ms: String(Math.round(wall)), outcome });
        }
        this.#recent.length = Math.min(this.#recent.length, RECENT_TRANSFERS);
      }
    } else if (cluster !== this.#lastCluster) {
      // Another term's model: what the previous one had in flight is not this one's.
      this.#recent.length = 0;
    }
    this.#lastInFlight = now;
    this.#lastOutcomes = outcomes;
    this.#lastCluster = cluster;
  }
}
