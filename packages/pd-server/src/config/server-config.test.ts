import { DEFAULT_CLUSTER_CONFIG } from "@nokv/pd-core";
import { describe, expect, it } from "vitest";
import { DEFAULT_REQUEST_LIMITS } from "../service/limits.js";
import { clusterConfigOf, DEFAULT_LISTEN_ADDR, resolvePdServerConfig } from "./server-config.js";

describe("resolvePdServerConfig", () => {
  it("fills every default in one object", () => {
    const c = resolvePdServerConfig();
    expect(c).toEqual({
      addr: DEFAULT_LISTEN_ADDR,
      statusAddr: undefined,
      tls: undefined,
      limits: DEFAULT_REQUEST_LIMITS,
      idStart: 1n,
      tsStart: 1n,
      tsoWindowMs: 3000,
      idWindow: 1000n,
      liveness: DEFAULT_CLUSTER_CONFIG.liveness,
      operators: DEFAULT_CLUSTER_CONFIG.operators,
      schedulePolicy: DEFAULT_CLUSTER_CONFIG.schedulePolicy,
      metrics: false,
      reflection: true,
      shutdownGraceMs: 5000,
    });
    expect(clusterConfigOf(c)).toEqual(DEFAULT_CLUSTER_CONFIG);
  });

  it("takes undefined as 'not given', down to nested fields, so flags pass through without spreads", () => {
    const c = resolvePdServerConfig({
      addr: "127.0.0.1:0",
      statusAddr: "127.0.0.1:0",
      idStart: undefined,
      limits: { maxMessageBytes: undefined, maxKeyBytes: 10 },
      liveness: { disconnectedAfterMs: 5, downAfterMs: undefined },
      operators: { transferTimeoutMs: undefined, maxInFlightPerStore: 2 },
      schedulePolicy: { checkBatch: 8, scanLimit: undefined },
    });
    expect(c.limits).toEqual({ ...DEFAULT_REQUEST_LIMITS, maxKeyBytes: 10 });
    expect(c.liveness).toEqual({ disconnectedAfterMs: 5, downAfterMs: DEFAULT_CLUSTER_CONFIG.liveness.downAfterMs });
    expect(c.operators).toEqual({ ...DEFAULT_CLUSTER_CONFIG.operators, maxInFlightPerStore: 2 });
    expect(c.operators.transferTimeoutMs).toBe(30_000);
    expect(c.schedulePolicy).toEqual({ ...DEFAULT_CLUSTER_CONFIG.schedulePolicy, checkBatch: 8 });
    expect(c.metrics).toBe(true); // on with a status address unless turned off
    expect(resolvePdServerConfig(c)).toEqual(c);
  });

  it("gives the cluster the request caps as its allocator caps", () => {
    const c = resolvePdServerConfig({ limits: { maxIdCount: 3n, maxTsoCount: 7n } });
    expect(clusterConfigOf(c)).toMatchObject({ maxIdCount: 3n, maxTsoCount: 7n });
  });

  it("refuses what cannot work, naming it", () => {
    expect(() => resolvePdServerConfig({ addr: "nohost" })).toThrow(/invalid listen address "nohost"/);
    expect(() => resolvePdServerConfig({ statusAddr: "h:99999" })).toThrow(/invalid port/);
    expect(() => resolvePdServerConfig({ tls: { cert: "c", key: "k", allowedCNs: ["a"] } })).toThrow(/need a CA \(--cacert\)/);
    expect(() => resolvePdServerConfig({ limits: { maxKeyBytes: 0 } })).toThrow(/maxKeyBytes/);
    expect(() => resolvePdServerConfig({ liveness: { disconnectedAfterMs: 10, downAfterMs: 1 } })).toThrow(/downAfterMs/);
    expect(() => resolvePdServerConfig({ shutdownGraceMs: -1 })).toThrow(/shutdownGraceMs/);
    expect(() => resolvePdServerConfig({ operators: { addPeerTimeoutMs: 0 } })).toThrow(/addPeerTimeoutMs/);
    expect(() => resolvePdServerConfig({ schedulePolicy: { highSpaceRatio: 0.9 } })).toThrow(/highSpaceRatio/);
  });
});
