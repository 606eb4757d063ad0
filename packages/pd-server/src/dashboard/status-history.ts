import type { Cluster } from "@nokv/pd-core";
import type { DashboardCountersJson, DashboardSampleJson } from "@nokv/pd-dashboard";

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

/**
 * PD's short memory for the status page: a ring of samples, one a second
 * over the last five minutes, of the stores (regions, leaders, space,
 * liveness) and of the activity counters. (What the scheduler did is not
 * kept here: the operator controller keeps its own history, with outcomes.)
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
      let operators = 0;
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
        operators = cluster.scheduling.operators.size;
      }
      this.#seq++;
      this.#ring.push({
        seq: this.#seq,
        mono_ms: Math.round(mono),
        wall_ms: Math.round(wall),
        counters,
        stores,
        regions: cluster?.regions.size ?? 0,
        operators_in_flight: operators,
      });
      if (this.#ring.length > this.capacity) this.#ring.shift();
    } finally {
      this.#busy = false;
    }
  }
}
