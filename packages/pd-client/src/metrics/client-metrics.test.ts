/**
 * Latency per method and TSO batch sizes: kept by the client as
 * Prometheus-shaped histograms, and forwarded live to an observer — here a
 * real prom-client registry, which pd-client itself does not depend on.
 */
import { Histogram, Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPdClient, type PdClient, type PdClientOptions } from "../client.js";
import { status } from "@grpc/grpc-js";
import { wireRegion, type FakePd } from "@nokv/testkit";
import { rejection } from "../testing/rejection.js";
import { useFakePd } from "../testing/fake-pd-fixture.js";

const fixture = useFakePd((pd) => {
  pd.regions.set(1n, wireRegion(1n, "", ""));
});
const client = (options: Partial<PdClientOptions> = {}): PdClient => fixture.client(options);
let pd: FakePd;
beforeEach(() => {
  pd = fixture.pd;
});

describe("client metrics", () => {
  it("keeps a latency histogram per method and result, and the TSO batch sizes", async () => {
    const c = client();
    await Promise.all(Array.from({ length: 2000 }, () => c.getTimestamp()));
    await c.allocId(3n);
    await c.getRegionByKey(new Uint8Array([1]));
    pd.script("allocId", { kind: "fail", status: status.INVALID_ARGUMENT });
    await rejection(c.allocId(1n));
    const m = c.metrics();
    const series = (method: string, result: string) => m.requestDurationSeconds.series.find((s) => s.labels.method === method && s.labels.result === result);
    expect(series("AllocID", "ok")?.count).toBe(1);
    expect(series("AllocID", "error")?.count).toBe(1);
    expect(series("GetRegionByKey", "ok")?.count).toBe(1);
    // Timestamps: one observation per batch, not per caller.
    expect(series("Tso", "ok")?.count).toBe(1);
    for (const s of m.requestDurationSeconds.series) {
      expect(s.bucketCounts).toHaveLength(m.requestDurationSeconds.buckets.length);
      expect(s.bucketCounts.at(-1)).toBeLessThanOrEqual(s.count);
      expect(s.sum).toBeGreaterThanOrEqual(0);
    }
    const batches = m.tsoBatchSize.series[0]!;
    expect(batches.count).toBe(1);
    expect(batches.sum).toBe(2000);
    const le2048 = m.tsoBatchSize.buckets.indexOf(2048);
    expect(batches.bucketCounts[le2048]).toBe(1);
    expect(batches.bucketCounts[le2048 - 1]).toBe(0);
  });

  it("forwards every observation to an observer a gateway wires to prom-client", async () => {
    const registry = new Registry();
    const duration = new Histogram({
      name: "pd_client_request_duration_seconds",
      help: "PD calls, by method and result",
      labelNames: ["method", "result"],
      registers: [registry],
    });
    const batch = new Histogram({
      name: "pd_client_tso_batch_size",
      help: "Timestamps per TSO request",
      buckets: [1, 16, 256, 4096, 65536, 262144],
      registers: [registry],
    });
    const c = client({
      metricsObserver: {
        observeRequest: (method, result, seconds) => duration.observe({ method, result }, seconds),
        observeTsoBatch: (size) => batch.observe(size),
      },
    });
    await Promise.all(Array.from({ length: 100 }, () => c.getTimestamp()));
    await c.getRegionByKey(new Uint8Array([7]));
    const text = await registry.metrics();
    expect(text).toContain('pd_client_request_duration_seconds_count{method="GetRegionByKey",result="ok"} 1');
    expect(text).toContain('pd_client_request_duration_seconds_count{method="Tso",result="ok"} 1');
    expect(text).toContain('pd_client_tso_batch_size_bucket{le="256"} 1');
    expect(text).toContain("pd_client_tso_batch_size_sum 100");
  });
});
