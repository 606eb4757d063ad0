import { describe, expect, it } from "vitest";
import { MAX_UINT64 } from "@nokv/pd-model";
import { createCluster } from "./cluster.js";
import { DEFAULT_CLUSTER_CONFIG, resolveClusterConfig } from "./cluster-config.js";

const persistence = { appendRegionEdits: async () => {}, saveAllocatorState: async () => {} };

describe("resolveClusterConfig", () => {
  it("fills every default, also for fields given as undefined (no conditional spreads needed)", () => {
    expect(resolveClusterConfig()).toEqual(DEFAULT_CLUSTER_CONFIG);
    expect(
      resolveClusterConfig({
        idStart: undefined,
        tsoWindowMs: undefined,
        liveness: { disconnectedAfterMs: undefined, downAfterMs: 60_000 },
        operators: { maxInFlightPerStore: undefined },
      }),
    ).toEqual({ ...DEFAULT_CLUSTER_CONFIG, liveness: { disconnectedAfterMs: 20_000, downAfterMs: 60_000 } });
    expect(DEFAULT_CLUSTER_CONFIG).toMatchObject({ idWindow: 1000n, maxIdCount: 2n ** 20n, maxTsoCount: 2n ** 18n, tsoWindowMs: 3000 });
  });

  it("returns an equal configuration for a complete one", () => {
    const once = resolveClusterConfig({ idStart: MAX_UINT64, tsStart: 0n, idWindow: 1n, operators: { transferTimeoutMs: 5 } });
    expect(resolveClusterConfig(once)).toEqual(once);
  });

  it("refuses bad values with a RangeError naming them", () => {
    expect(() => resolveClusterConfig({ idStart: -1n })).toThrow(/idStart/);
    expect(() => resolveClusterConfig({ tsStart: MAX_UINT64 + 1n })).toThrow(/tsStart/);
    expect(() => resolveClusterConfig({ idWindow: 0n })).toThrow(/idWindow/);
    expect(() => resolveClusterConfig({ maxTsoCount: 0n })).toThrow(/maxTsoCount/);
    expect(() => resolveClusterConfig({ tsoWindowMs: 0.5 })).toThrow(/tsoWindowMs/);
    expect(() => resolveClusterConfig({ liveness: { disconnectedAfterMs: 10, downAfterMs: 5 } })).toThrow(/downAfterMs/);
    expect(() => resolveClusterConfig({ operators: { maxInFlightPerStore: 0 } })).toThrow(/maxInFlightPerStore/);
  });

  it("is what a cluster runs with", async () => {
    const cluster = createCluster({ persistence, idStart: 700n, maxIdCount: 5n, liveness: { downAfterMs: undefined } });
    expect(cluster.config).toMatchObject({ idStart: 700n, maxIdCount: 5n });
    expect(cluster.liveness).toEqual(DEFAULT_CLUSTER_CONFIG.liveness);
    expect((await cluster.allocId(1n)).first).toBe(700n);
    expect(() => cluster.allocId(6n)).toThrow(/count 6/);
  });
});
