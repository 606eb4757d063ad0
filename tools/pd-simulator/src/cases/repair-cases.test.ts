import { describe, expect, it } from "vitest";
import { buildReport } from "../report/report.js";
import { runCase } from "../runner.js";
import { findCase } from "./index.js";
import { expectHealthyRun } from "./testing.js";

// The repair cases at a small size (the balance cases are in balance-cases.test.ts,
// so that vitest runs the two files side by side).
describe("pd-sim repair cases at a small size", () => {
  it("store-down: every region back to 3 live replicas within 1.2× the bound of the down threshold + store limits", { timeout: 60_000 }, async () => {
    const r = buildReport(await runCase(findCase("store-down")!, { ...findCase("store-down")!.small, seed: 7 }));
    expectHealthyRun(r);
    expect(r.goals.peersLost).toBeGreaterThan(0);
    expect(r.operators["replace-down-replica"]?.success).toBe(r.goals.peersLost);
    expect(r.goals.ratioToBound).toBeLessThanOrEqual(1.2);
  });

  it("makeup-down-replicas: two stores die in turn, replicas made up, survivors balanced", { timeout: 60_000 }, async () => {
    const r = buildReport(await runCase(findCase("makeup-down-replicas")!, { ...findCase("makeup-down-replicas")!.small, seed: 7 }));
    expectHealthyRun(r);
    expect(Object.keys(r.final.regions)).toHaveLength(4);
    expect(r.final.maxMinRegionRatio).toBeLessThanOrEqual(1.1);
  });

  it("large-cluster: balanced within 10 %", { timeout: 60_000 }, async () => {
    const r = buildReport(await runCase(findCase("large-cluster")!, { ...findCase("large-cluster")!.small, seed: 7 }));
    expectHealthyRun(r);
    expect(r.final.maxMinRegionRatio).toBeLessThanOrEqual(1.1);
    expect(r.scheduling?.storeHeartbeats).toBeGreaterThan(0);
  });

  it("store-down-process: pd-cli pd in its own process, wall clock", { timeout: 60_000 }, async () => {
    const r = buildReport(await runCase(findCase("store-down-process")!, { ...findCase("store-down-process")!.small, seed: 7 }));
    expectHealthyRun(r);
    expect(r.mode).toBe("process");
    expect(r.operators["replace-down-replica"]?.success).toBeGreaterThan(0);
  });
});
