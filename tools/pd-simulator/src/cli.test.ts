import { readFileSync } from "node:fs";
import { join } from "node:path";
import { useTempDirs } from "@nokv/testkit";
import { describe, expect, it } from "vitest";
import { main } from "./cli.js";

const dirs = useTempDirs("pd-sim");

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

describe("pd-sim", () => {
  it("lists the cases", async () => {
    const r = await run("list");
    expect(r.code).toBe(0);
    expect(r.out.map((l) => l.split(/\s+/)[0])).toEqual([
      "add-nodes",
      "store-down",
      "makeup-down-replicas",
      "region-split",
      "leader-imbalance",
      "go-stores",
      "hot-write",
      "large-cluster",
      "store-down-process",
    ]);
  });

  it("run --json prints one object with the contract's fields; --svg writes the chart; exit 0 when ok", async () => {
    const svg = join(await dirs.make(), "chart.svg");
    const r = await run("run", "leader-imbalance", "--stores", "3", "--regions", "30", "--seed", "2", "--json", "--svg", svg);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    const j = JSON.parse(r.out[0]!);
    for (const key of ["case", "ok", "simulatedMs", "wallMs", "operators", "invariantViolations", "final"]) expect(j).toHaveProperty(key);
    expect(j).toMatchObject({ case: "leader-imbalance", ok: true, invariantViolations: 0, params: { stores: 3, regions: 30, seed: 2 } });
    expect(Object.keys(j.final.regions)).toEqual(["1", "2", "3"]);
    expect(Object.keys(j.final.leaders)).toEqual(["1", "2", "3"]);
    expect(j.operators["balance-leader"].create).toBeGreaterThan(0);
    expect(j.operators["balance-leader"].timeout ?? 0).toBe(0);
    const chart = readFileSync(svg, "utf8");
    expect(chart).toMatch(/^<svg /);
    expect(chart).toContain("store 3");
  });

  it("exits 1 when the predicate does not hold in time, 2 for a usage error", async () => {
    // Go-style stores cannot repair: a store down is never made good again.
    const bad = await run("run", "store-down", "--regions", "20", "--stores", "3", "--time-limit", "40");
    expect(bad.code).toBe(1);
    expect(bad.out[0]).toMatch(/FAILED/);
    expect((await run("run", "no-such-case")).code).toBe(2);
    expect((await run("run", "store-down", "--stores", "zero")).code).toBe(2);
  });
});
