import { describe, expect, it } from "vitest";
import { buildReport } from "../report/report.js";
import { runCase } from "../runner.js";
import { findCase } from "./index.js";
import { expectHealthyRun } from "./testing.js";

describe("pd-sim balance cases at a small size", () => {
  it("add-nodes: within 10 %, no region moved more than twice", { timeout: 60_000 }, async () => {
    const r = buildReport(await runCase(findCase("add-nodes")!, { ...findCase("add-nodes")!.small, seed: 7 }));
    expectHealthyRun(r);
    expect(Object.keys(r.final.regions)).toHaveLength(6);
    expect(r.final.maxMinRegionRatio).toBeLessThanOrEqual(1.1);
    expect(r.final.maxAddsPerRegion).toBeLessThanOrEqual(2);
  });

  it("region-split: regions split under writes, stay replicated and balanced", { timeout: 60_000 }, async () => {
    const r = buildReport(await runCase(findCase("region-split")!, { ...findCase("region-split")!.small, seed: 7 }));
    expectHealthyRun(r);
    expect(r.simulatedStores.splits).toBeGreaterThan(0);
  });

  it("hot-write: leaders and regions end balanced", { timeout: 60_000 }, async () => {
    const r = buildReport(await runCase(findCase("hot-write")!, { ...findCase("hot-write")!.small, seed: 7 }));
    expectHealthyRun(r);
    expect(r.operators["balance-leader"]?.success).toBeGreaterThan(0);
  });

  it("leader-imbalance: leaders within one", { timeout: 60_000 }, async () => {
    const r = buildReport(await runCase(findCase("leader-imbalance")!, { ...findCase("leader-imbalance")!.small, seed: 7 }));
    expectHealthyRun(r);
    const l = Object.values(r.final.leaders);
    expect(Math.max(...l) - Math.min(...l)).toBeLessThanOrEqual(1);
  });

  it("go-stores: nothing but PD's original leader transfers, and they move leaders", { timeout: 60_000 }, async () => {
    const r = buildReport(await runCase(findCase("go-stores")!, { ...findCase("go-stores")!.small, seed: 7 }));
    expect(r.ok).toBe(true);
    expect(Object.keys(r.operators)).toEqual(["balance-leader"]);
    expect(r.goals.allPlainLeaderTransfers).toBe(true);
    expect(r.simulatedStores.operationsApplied).toBeGreaterThan(0);
    expect(r.goals.leaderSpreadEnd).toBeLessThan(r.goals.leaderSpreadStart as number);
  });

  it("is deterministic for a seed (in process, on virtual time)", { timeout: 60_000 }, async () => {
    const c = findCase("store-down")!;
    const a = buildReport(await runCase(c, { stores: 5, regions: 30, seed: 11 }));
    const b = buildReport(await runCase(c, { stores: 5, regions: 30, seed: 11 }));
    expect([b.convergedAtMs, b.final, b.operators]).toEqual([a.convergedAtMs, a.final, a.operators]);
  });
});
