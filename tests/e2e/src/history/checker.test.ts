import { describe, expect, it } from "vitest";
import { checkHistory } from "./checker.js";
import { type Epoch, History, type Op } from "./history.js";

// The checker against histories built by hand: each broken promise must be
// found, and a clean history must pass. (The e2e runs feed it real ones.)

function clocked(): { h: History; at: (ms: number) => void } {
  let now = 0;
  return { h: new History(() => now), at: (ms) => (now = ms) };
}

const e = (version: bigint, confVersion: bigint): Epoch => ({ version, confVersion });

function tso(h: History, at: (ms: number) => void, client: number, from: number, to: number, first: bigint, count = 1n, pd = "pd1"): Op {
  at(from);
  const op = h.invoke(client, { kind: "tso", count });
  at(to);
  h.ok(op, { kind: "tso", first, count }, pd);
  return op;
}

describe("history checker", () => {
  it("passes a clean history with a leader change, unknown outcomes and reads on both leaders", () => {
    const { h, at } = clocked();
    tso(h, at, 0, 0, 1, 100n);
    tso(h, at, 1, 0.5, 2, 101n, 5n);
    at(3);
    const hb = h.invoke(0, { kind: "regionHeartbeat", regionId: 7n, key: "k7", epoch: e(1n, 1n) });
    at(4);
    h.ok(hb, { kind: "regionHeartbeat", accepted: true }, "pd1");
    at(5);
    const lost = h.invoke(1, { kind: "regionHeartbeat", regionId: 7n, key: "k7", epoch: e(1n, 2n) });
    at(9);
    h.info(lost, "deadline exceeded");
    at(10);
    const ids = h.invoke(2, { kind: "allocId", count: 10n });
    at(11);
    h.ok(ids, { kind: "allocId", first: 500n, count: 10n }, "pd2");
    tso(h, at, 0, 12, 13, 2_000n, 1n, "pd2");
    at(14);
    // The unknown write may or may not be visible: both are fine.
    const r1 = h.invoke(2, { kind: "getRegionByKey", key: "k7", regionId: 7n });
    at(15);
    h.ok(r1, { kind: "getRegionByKey", found: { regionId: 7n, epoch: e(1n, 2n) } }, "pd2");
    const r2 = h.invoke(1, { kind: "getRegionByKey", key: "k7", regionId: 7n });
    at(16);
    h.ok(r2, { kind: "getRegionByKey", found: { regionId: 7n, epoch: e(1n, 1n) } }, "pd2");
    at(17);
    const refused = h.invoke(1, { kind: "tso", count: 1n });
    at(18);
    h.fail(refused, "NOT_LEADER", "pd1");
    const r = checkHistory(h.ops);
    expect(r.violations).toEqual([]);
    expect(r.counts).toMatchObject({ "tso ok": 3, "tso fail": 1, "regionHeartbeat info": 1 });
    expect(r.verifiedReadsByPd).toEqual({ pd2: 2 });
  });

  it("finds a timestamp or an id handed out twice", () => {
    const { h, at } = clocked();
    tso(h, at, 0, 0, 1, 100n, 10n);
    tso(h, at, 1, 5, 6, 109n, 1n, "pd2");
    at(7);
    const a = h.invoke(0, { kind: "allocId", count: 3n });
    h.ok(a, { kind: "allocId", first: 10n, count: 3n }, "pd1");
    const b = h.invoke(1, { kind: "allocId", count: 1n });
    h.ok(b, { kind: "allocId", first: 12n, count: 1n }, "pd2");
    const kinds = checkHistory(h.ops).violations.map((v) => v.kind);
    expect(kinds.filter((k) => k === "duplicate")).toHaveLength(2);
    expect(checkHistory(h.ops).violations[0]!.message).toMatch(/timestamp 109 handed out twice/);
  });

  it("finds a client whose timestamps go back, and a real-time order violation across clients", () => {
    const { h, at } = clocked();
    tso(h, at, 0, 0, 1, 200n);
    tso(h, at, 0, 2, 3, 150n);
    const r = checkHistory(h.ops).violations;
    expect(r.map((v) => v.kind)).toEqual(["client-order", "real-time"]);

    const other = clocked();
    tso(other.h, other.at, 0, 0, 1, 300n);
    // Invoked after the first completed, by another client, on another PD: must be larger.
    tso(other.h, other.at, 1, 2, 3, 250n, 1n, "pd2");
    // Concurrent with the first: any order is fine.
    tso(other.h, other.at, 2, 0.5, 4, 299n, 1n, "pd2");
    expect(checkHistory(other.h.ops).violations.map((v) => v.kind)).toEqual(["real-time"]);
  });

  it("finds an acknowledged write that a later leader lost or shows older, and an epoch nobody wrote", () => {
    const { h, at } = clocked();
    const w1 = h.invoke(0, { kind: "regionHeartbeat", regionId: 7n, key: "k7", epoch: e(1n, 1n) });
    at(1);
    h.ok(w1, { kind: "regionHeartbeat", accepted: true }, "pd1");
    const w2 = h.invoke(0, { kind: "regionHeartbeat", regionId: 7n, key: "k7", epoch: e(1n, 2n) });
    at(2);
    h.ok(w2, { kind: "regionHeartbeat", accepted: true }, "pd1");
    at(3);
    const missing = h.invoke(1, { kind: "getRegionByKey", key: "k7", regionId: 7n });
    h.ok(missing, { kind: "getRegionByKey", found: undefined }, "pd2");
    const stale = h.invoke(1, { kind: "getRegionByKey", key: "k7", regionId: 7n });
    h.ok(stale, { kind: "getRegionByKey", found: { regionId: 7n, epoch: e(1n, 1n) } }, "pd2");
    const invented = h.invoke(1, { kind: "getRegionByKey", key: "k7", regionId: 7n });
    h.ok(invented, { kind: "getRegionByKey", found: { regionId: 7n, epoch: e(1n, 9n) } }, "pd2");
    const elsewhere = h.invoke(1, { kind: "getRegionByKey", key: "k7", regionId: 7n });
    h.ok(elsewhere, { kind: "getRegionByKey", found: { regionId: 8n, epoch: e(1n, 2n) } }, "pd2");
    // A read that started before the acknowledgement may miss it.
    const { h: h2, at: at2 } = clocked();
    const r = h2.invoke(1, { kind: "getRegionByKey", key: "k7", regionId: 7n });
    const w = h2.invoke(0, { kind: "regionHeartbeat", regionId: 7n, key: "k7", epoch: e(1n, 1n) });
    at2(1);
    h2.ok(w, { kind: "regionHeartbeat", accepted: true }, "pd1");
    at2(2);
    h2.ok(r, { kind: "getRegionByKey", found: undefined }, "pd1");
    expect(checkHistory(h.ops).violations.map((v) => v.kind)).toEqual(["lost-write", "stale-read", "invented-read", "wrong-region"]);
    expect(checkHistory(h2.ops).violations).toEqual([]);
  });

  it("checks a long run's history (hundreds of thousands of operations) in one pass", () => {
    // Found by the first long run: spreading every operation into Math.min overflowed the stack.
    const { h, at } = clocked();
    for (let i = 0; i < 300_000; i++) tso(h, at, i % 8, i, i + 0.5, BigInt(i + 1));
    const r = checkHistory(h.ops);
    expect(r.violations).toEqual([]);
    expect(r.counts["tso ok"]).toBe(300_000);
  });

  it("measures the longest stretch without a successful Tso, overall and around each nemesis step", () => {
    const { h, at } = clocked();
    for (let t = 0; t < 1000; t += 10) tso(h, at, 0, t, t + 1, BigInt(t + 1));
    at(1000);
    const kill = h.nemesis("kill-leader", "pd1");
    for (let t = 1000; t < 3500; t += 100) {
      at(t);
      const op = h.invoke(1, { kind: "tso", count: 1n });
      at(t + 50);
      h.info(op, "deadline");
    }
    kill.healMs = 1200;
    tso(h, at, 0, 3500, 3600, 5000n, 1n, "pd2");
    for (let t = 3600; t < 20_000; t += 10) tso(h, at, 0, t, t + 1, BigInt(5000 + t));
    // A second step whose stretch begins a moment before it (the last success came just before).
    at(20_000);
    const pause = h.nemesis("pause-leader", "pd2");
    pause.healMs = 23_000;
    tso(h, at, 0, 23_000, 23_100, 100_000n, 1n, "pd3");
    for (let t = 23_100; t < 25_000; t += 10) tso(h, at, 0, t, t + 1, BigInt(100_000 + t));
    const r = checkHistory(h.ops, h.nemeses, { settleMs: 5000 });
    expect(r.violations).toEqual([]);
    expect(r.longestTsoGapMs).toBe(3109); // 19991 → 23100
    expect(r.windows).toEqual([
      { name: "kill-leader", detail: "pd1", windowMs: 2609 }, // 991 → 3600
      { name: "pause-leader", detail: "pd2", windowMs: 3109 },
    ]);
    // Only the Tso-only clients measure availability, when named.
    expect(checkHistory(h.ops, h.nemeses, { availabilityClients: new Set([7]) }).longestTsoGapMs).toBeGreaterThan(20_000);
  });
});
