/**
 * Latency and TSO batch-size histograms of one client, in the shape
 * Prometheus expects (cumulative buckets with an upper bound `le`, a sum and
 * a count), with no metrics library: a gateway either reads
 * {@link PdClient.metrics} or forwards each observation live to its own
 * prom-client histograms through a {@link PdClientMetricsObserver}.
 */

/** Receives every observation as it happens (for example, to feed prom-client histograms). */
export interface PdClientMetricsObserver {
  /**
   * One finished call: `method` is the RPC (`"Tso"`, `"GetRegionByKey"`,
   * `"HealthCheck"`, …), `result` whether it succeeded, `seconds` its latency
   * including retries and waits for a leader. Timestamps are observed once
   * per batch (the batch's first request to its answer), not per caller.
   */
  observeRequest?(method: string, result: "ok" | "error", seconds: number): void;
  /** The number of timestamps one request to PD asked for (one batch). */
  observeTsoBatch?(size: number): void;
}

/** One labelled series of a histogram. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Cumulative counts, one per bucket bound (observations `<=` that bound). */
  readonly bucketCounts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** A histogram: its bucket upper bounds (ascending; `+Inf` is implied by `count`) and its series. */
export interface HistogramSnapshot {
  readonly buckets: readonly number[];
  readonly series: readonly HistogramSeries[];
}

/** What {@link PdClient.metrics} returns. */
export interface PdClientMetrics {
  /** Call latency in seconds, labelled `method` and `result` (`ok` | `error`). */
  readonly requestDurationSeconds: HistogramSnapshot;
  /** Timestamps per request sent to PD, unlabelled (one series). */
  readonly tsoBatchSize: HistogramSnapshot;
}

/** Latency buckets in seconds: 0.5 ms to 10 s (Prometheus client defaults, widened at both ends). */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Batch-size buckets: powers of two up to 2^18, PD's cap per request. */
export const TSO_BATCH_SIZE_BUCKETS: readonly number[] = Array.from({ length: 19 }, (_, i) => 2 ** i);

class Series {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    buckets: number,
  ) {
    this.counts = new Array<number>(buckets).fill(0);
  }
}

class Histogram {
  readonly #series = new Map<string, Series>();
  constructor(readonly buckets: readonly number[]) {}

  observe(key: string, labels: () => Readonly<Record<string, string>>, value: number): void {
    let s = this.#series.get(key);
    if (s === undefined) {
      s = new Series(labels(), this.buckets.length);
      this.#series.set(key, s);
    }
    s.sum += value;
    s.count += 1;
    // Only the first bucket that holds the value; snapshot() accumulates.
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]!) {
        s.counts[i]! += 1;
        break;
      }
    }
  }

  snapshot(): HistogramSnapshot {
    const series: HistogramSeries[] = [];
    for (const s of this.#series.values()) {
      let acc = 0;
      series.push({ labels: { ...s.labels }, bucketCounts: s.counts.map((c) => (acc += c)), sum: s.sum, count: s.count });
    }
    return { buckets: [...this.buckets], series };
  }
}

/** The client's histograms, plus the caller's observer. */
export class ClientMetrics {
  readonly #duration = new Histogram(REQUEST_DURATION_BUCKETS);
  readonly #batch = new Histogram(TSO_BATCH_SIZE_BUCKETS);
  readonly #observer: PdClientMetricsObserver | undefined;

  constructor(observer: PdClientMetricsObserver | undefined) {
    this.#observer = observer;
  }

  observeRequest(method: string, result: "ok" | "error", seconds: number): void {
    this.#duration.observe(`${method}\u0000${result}`, () => ({ method, result }), seconds);
    if (this.#observer?.observeRequest !== undefined) {
      try {
        this.#observer.observeRequest(method, result, seconds);
      } catch {
        // A broken metrics sink must not fail PD calls.
      }
    }
  }

  observeTsoBatch(size: number): void {
    this.#batch.observe("", () => ({}), size);
    if (this.#observer?.observeTsoBatch !== undefined) {
      try {
        this.#observer.observeTsoBatch(size);
      } catch {
        // A broken metrics sink must not fail PD calls.
      }
    }
  }

  snapshot(): PdClientMetrics {
    return { requestDurationSeconds: this.#duration.snapshot(), tsoBatchSize: this.#batch.snapshot() };
  }
}
