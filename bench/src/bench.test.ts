/**
 * Smoke test of the benchmarks: each one runs at a tiny size (real
 * processes, real sockets, a temp workdir) and returns well-formed tables.
 * Nothing here asserts a timing: numbers on a shared machine prove nothing.
 */
import { describe, expect, it } from "vitest";
import { runCatalogBench } from "./catalog.js";
import { BENCHMARKS, parseArgs } from "./cli.js";
import { runDurabilityBench } from "./durability.js";
import { runEtcdWritesBench } from "./etcd-writes.js";
import { runFailoverBench } from "./failover.js";
import { LatencyHistogram } from "./histogram.js";
import type { BenchResult } from "./report.js";
import { renderResult } from "./report.js";
import { runStormBench } from "./storm.js";
import { runTransportBench } from "./transport.js";
import { runTsoBench } from "./tso.js";

const SLOW = 120_000;

function expectWellFormed(result: BenchResult, rowsAtLeast: number): void {
  expect(result.tables.length).toBeGreaterThan(0);
  let rows = 0;
  for (const t of result.tables) {
    expect(t.columns.length).toBeGreaterThan(1);
    for (const row of t.rows) {
      expect(row.length, `${t.title}: ${JSON.stringify(row)}`).toBe(t.columns.length);
      for (const cell of row) expect(String(cell)).not.toMatch(/NaN|undefined|Infinity/);
    }
    rows += t.rows.length;
  }
  expect(rows).toBeGreaterThanOrEqual(rowsAtLeast);
  expect(renderResult(result)).toContain(`### ${result.name}`);
}

describe("bench command line", () => {
  it("defaults to every benchmark at full size", () => {
    expect(parseArgs([], {})).toEqual({ quick: false, only: Object.keys(BENCHMARKS) });
  });

  it("takes --quick and --only from argv (with pnpm's --) or the environment", () => {
    expect(parseArgs(["--", "--quick", "--only", "tso,catalog"], {})).toEqual({ quick: true, only: ["tso", "catalog"] });
    expect(parseArgs(["--only=storm"], { BENCH_QUICK: "1" })).toEqual({ quick: true, only: ["storm"] });
    expect(parseArgs([], { BENCH_ONLY: "durability" })).toEqual({ quick: false, only: ["durability"] });
  });

  it("rejects unknown benchmarks and flags", () => {
    expect(() => parseArgs(["--only", "nope"], {})).toThrow(/unknown benchmark/);
    expect(() => parseArgs(["--fast"], {})).toThrow(/unknown argument/);
  });
});

describe("latency histogram", () => {
  it("answers quantiles within its bucket resolution", () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 100); // 0.01 .. 10 ms
    expect(h.count).toBe(1000);
    expect(h.quantile(0.5)).toBeGreaterThan(4.5);
    expect(h.quantile(0.5)).toBeLessThan(5.5);
    expect(h.quantile(0.99)).toBeLessThanOrEqual(10);
    expect(h.maxMs).toBe(10);
  });
});

describe("benchmarks at a tiny size", () => {
  it("1. transport ceiling", { timeout: SLOW }, async () => {
    expectWellFormed(await runTransportBench({ inFlight: [1, 4], rounds: 1, roundMs: 100 }), 6);
  });

  it("2. timestamps to many callers", { timeout: SLOW }, async () => {
    expectWellFormed(await runTsoBench({ callers: 20, durationMs: 200, runs: 1 }), 2);
  });

  it("3. allocator durability", { timeout: SLOW }, async () => {
    const r = await runDurabilityBench({ values: 3000, naiveCalls: 10 });
    expectWellFormed(r, 3);
    // Naive: every call is a durable write.
    expect(r.tables[0]!.rows[2]![2]).toBe("10");
  });

  it("4. region catalog scaling", { timeout: SLOW }, async () => {
    const r = await runCatalogBench({ sizes: [20, 60], ops: 200, serverOps: 40, inFlight: 4 });
    expectWellFormed(r, 6);
    expect(r.notes.join("\n")).toContain("zero disk writes: met");
  });

  it("6. failover at catalog scale", { timeout: SLOW }, async () => {
    const r = await runFailoverBench({ sizes: [200], kills: 1, pdsFor: () => 2 });
    expectWellFormed(r, 1);
    expect(r.tables[0]!.rows[0]![0]).toBe("200");
  });

  it("7. durable heartbeats in etcd mode vs raw etcd puts", { timeout: SLOW }, async () => {
    expectWellFormed(await runEtcdWritesBench({ inFlight: 4, durationMs: 200, runs: 1, pds: 2 }), 2);
  });

  it("5. heartbeat storm", { timeout: SLOW }, async () => {
    const r = await runStormBench({ stores: 3, regionsPerStore: 10, durationMs: 200, inFlightPerStore: 2 });
    expectWellFormed(r, 3);
    // Every phase ran without a failed heartbeat and PD holds every region.
    for (const row of r.tables[0]!.rows) {
      expect(row[3]).toBe(0);
      expect(row[7]).toBe("30");
    }
  });
});
