import { describe, expect, it } from "vitest";
import type { DashboardCountersJson, DashboardSampleJson } from "../../api-types.js";
import { quantileBetween, rates, ratios } from "./rates.js";

const counters = (tso: number, edits = 0, appends = 0): DashboardCountersJson => ({
  tso_requests: tso,
  tso_timestamps: tso * 10,
  id_requests: 0,
  ids: 0,
  heartbeats: {},
  append_edits_sum: edits,
  append_count: appends,
  append_seconds_sum: 0,
  append_seconds_buckets: {},
  log_appends: null,
  log_syncs: null,
  grpc_requests: 0,
});
const sample = (seq: number, mono: number, c: DashboardCountersJson | null): DashboardSampleJson => ({
  seq,
  mono_ms: mono,
  wall_ms: 1_700_000_000_000 + mono,
  counters: c,
  stores: {},
  regions: 0,
  operators_in_flight: 0,
});

describe("activity rates", () => {
  it("divides by PD's monotonic clock and gives no rate across a counter reset or a gap in the metrics", () => {
    const s = [sample(1, 0, counters(0)), sample(2, 2000, counters(100)), sample(3, 3000, counters(5)), sample(4, 4000, null), sample(5, 5000, counters(50))];
    const [xs, tso, ts] = rates(s, [(c) => c.tso_requests, (c) => c.tso_timestamps]);
    expect(xs).toHaveLength(4);
    expect(tso).toEqual([50, null, null, null]);
    expect(ts).toEqual([500, null, null, null]);
  });

  it("edits per append is the ratio of the increments", () => {
    const s = [sample(1, 0, counters(0, 10, 5)), sample(2, 1000, counters(0, 40, 8)), sample(3, 2000, counters(0, 40, 8))];
    expect(ratios(s, [[(c) => c.append_edits_sum, (c) => c.append_count]])[1]).toEqual([10, null]);
  });

  it("interpolates a quantile inside its bucket, as histogram_quantile does", () => {
    const a = { "0.001": 0, "0.01": 0, "+Inf": 0 };
    const b = { "0.001": 50, "0.01": 100, "+Inf": 100 };
    expect(quantileBetween(a, b, 0.5)).toBeCloseTo(0.001);
    expect(quantileBetween(a, b, 0.99)).toBeCloseTo(0.001 + 0.009 * (49 / 50));
    expect(quantileBetween(b, b, 0.99)).toBeNull();
  });
});
