import type { DashboardCountersJson, DashboardSampleJson } from "../../api-types.js";

/** A chart's data: x in seconds (wall clock), then one array per series, null where there is no rate (the first sample, a counter reset, metrics off). */
export type Columns = [number[], ...Array<Array<number | null>>];

type Read = (c: DashboardCountersJson) => number | null;

/**
 * Per-second rates between consecutive samples, divided by PD's monotonic
 * clock (not the wall clock, which may step). A counter that went down
 * (PD restarted) gives no rate for that interval.
 */
export function rates(samples: readonly DashboardSampleJson[], reads: readonly Read[]): Columns {
  const xs: number[] = [];
  const cols: Array<Array<number | null>> = reads.map(() => []);
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    xs.push(b.wall_ms / 1000);
    const dt = (b.mono_ms - a.mono_ms) / 1000;
    reads.forEach((read, k) => {
      const va = a.counters === null ? null : read(a.counters);
      const vb = b.counters === null ? null : read(b.counters);
      cols[k]!.push(va === null || vb === null || !(dt > 0) || vb < va ? null : (vb - va) / dt);
    });
  }
  return [xs, ...cols];
}

/** Ratios of two counters' increments between consecutive samples (e.g. edits per append); null when the denominator did not move. */
export function ratios(samples: readonly DashboardSampleJson[], pairs: ReadonlyArray<readonly [Read, Read]>, scale = 1): Columns {
  const xs: number[] = [];
  const cols: Array<Array<number | null>> = pairs.map(() => []);
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!.counters;
    const b = samples[i]!.counters;
    xs.push(samples[i]!.wall_ms / 1000);
    pairs.forEach(([num, den], k) => {
      if (a === null || b === null) return cols[k]!.push(null);
      const n0 = num(a);
      const n1 = num(b);
      const d0 = den(a);
      const d1 = den(b);
      if (n0 === null || n1 === null || d0 === null || d1 === null || !(d1 > d0) || n1 < n0) return cols[k]!.push(null);
      cols[k]!.push(((n1 - n0) / (d1 - d0)) * scale);
    });
  }
  return [xs, ...cols];
}

/**
 * The q-quantile of the observations between two samples of a cumulative
 * histogram (`le` → count), interpolated linearly inside the bucket as
 * Prometheus' `histogram_quantile` does; null when nothing was observed.
 */
export function quantileBetween(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>, q: number): number | null {
  const les = Object.keys(b)
    .map((le) => ({ le, bound: le === "+Inf" ? Infinity : Number(le) }))
    .sort((x, y) => x.bound - y.bound);
  const total = (b["+Inf"] ?? 0) - (a["+Inf"] ?? 0);
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const { le, bound } of les) {
    const count = (b[le] ?? 0) - (a[le] ?? 0);
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      const inBucket = count - prevCount;
      return inBucket <= 0 ? bound : prevBound + ((bound - prevBound) * (rank - prevCount)) / inBucket;
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

/** Sum of the heartbeat counters whose `type/result/reason` key matches. */
export function heartbeats(c: DashboardCountersJson, match: (type: string, result: string, reason: string) => boolean): number {
  let n = 0;
  for (const [k, v] of Object.entries(c.heartbeats)) {
    const [type = "", result = "", reason = ""] = k.split("/");
    if (match(type, result, reason)) n += v;
  }
  return n;
}
