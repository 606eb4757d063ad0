import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_SCHEDULING_CONFIG,
  applySchedulingPatch,
  formatGoDuration,
  operatorFromTikvJson,
  operatorToTikvJson,
  operatorToTikvString,
  type OperatorInfo,
  type TikvOperatorJson,
  resolveSchedulerName,
  schedulingConfigProblem,
  schedulingConfigToTikvJson,
  storeLimitOf,
  storeLimitsToTikvJson,
  MAX_UINT64,
  PD_ERROR_CODES,
  composeTimestamp,
  decodeTimestamp,
  formatKey,
  grpcStatusNameOf,
  isPdErrorCode,
  parseUint64,
  regionToTikvJson,
  storeToTikvJson,
  stringifyJson,
} from "./index.js";

describe("pd-model", () => {
  it("parses uint64 digits exactly and refuses everything else", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UINT64 }), (n) => {
        expect(parseUint64(n.toString())).toBe(n);
      }),
    );
    for (const bad of ["", "-1", "+1", "01", " 1", "1e3", "1.0", "18446744073709551616", "123456789012345678901"]) {
      expect(parseUint64(bad), bad).toBeUndefined();
    }
  });

  it("splits and composes timestamps at bit 18 (property, boundaries included)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UINT64 }), (ts) => {
        const { physicalMs, logical } = decodeTimestamp(ts);
        expect(logical).toBeLessThan(1n << 18n);
        expect(composeTimestamp(physicalMs, logical)).toBe(ts);
      }),
    );
    expect(decodeTimestamp(MAX_UINT64)).toEqual({ physicalMs: (1n << 46n) - 1n, logical: (1n << 18n) - 1n });
  });

  it("maps every code to a gRPC status, and knows every code it lists", () => {
    for (const code of PD_ERROR_CODES) {
      expect(isPdErrorCode(code)).toBe(true);
      expect(grpcStatusNameOf(code)).toMatch(/^[A-Z_]+$/);
    }
    expect(isPdErrorCode("SOMETHING_NEW")).toBe(false);
    expect(grpcStatusNameOf("PERMISSION_DENIED")).toBe("PERMISSION_DENIED");
  });

  it("formats large keys without overflowing the stack", () => {
    expect(formatKey(new Uint8Array(600_000).fill(0x61))).toHaveLength(600_002);
  });

  it("writes TiKV's JSON shapes with uint64s as exact decimal strings", () => {
    const region = {
      id: MAX_UINT64,
      startKey: Uint8Array.of(0xab, 0x01),
      endKey: new Uint8Array(),
      epoch: { version: 2n ** 53n + 1n, confVersion: 3n },
      peers: [{ storeId: 1n, peerId: 9007199254740993n }],
    };
    expect(regionToTikvJson(region)).toEqual({
      id: "18446744073709551615",
      start_key: "AB01",
      end_key: "",
      epoch: { conf_ver: "3", version: "9007199254740993" },
      peers: [{ id: "9007199254740993", store_id: "1" }],
    });
    const store = { storeId: 7n, regionNum: 1n, leaderNum: 0n, capacity: 10n, available: 5n, lastHeartbeatMs: 0n, liveness: "down" as const };
    expect(storeToTikvJson(store).store).toEqual({ id: "7", state_name: "Down" });
    expect(stringifyJson({ v: MAX_UINT64 })).toBe('{"v":"18446744073709551615"}');
  });
});

describe("scheduling config", () => {
  it("resolves scheduler names in full and short form, and nothing else", () => {
    expect(resolveSchedulerName("balance-region")).toBe("balance-region-scheduler");
    expect(resolveSchedulerName("balance-leader-scheduler")).toBe("balance-leader-scheduler");
    expect(resolveSchedulerName("replica")).toBe("replica-checker");
    expect(resolveSchedulerName("replica-checker")).toBe("replica-checker");
    for (const bad of ["", "balance", "hot-region-scheduler", "BALANCE-REGION"]) expect(resolveSchedulerName(bad), bad).toBeUndefined();
  });

  it("applies a patch: overrides merge per rate, 0 removes a rate, names keep their order", () => {
    let c = DEFAULT_SCHEDULING_CONFIG;
    const step = (p: Parameters<typeof applySchedulingPatch>[1]) => {
      const r = applySchedulingPatch(c, p);
      if ("problem" in r) throw new Error(r.problem);
      c = r.config;
      return c;
    };
    step({ storeLimits: [{ storeId: 9n, addPeerPerMin: 30 }, { storeId: 2n, removePeerPerMin: 5 }] });
    expect(c.storeLimits).toEqual([{ storeId: 2n, removePeerPerMin: 5 }, { storeId: 9n, addPeerPerMin: 30 }]);
    expect(storeLimitOf(c, 9n)).toEqual({ addPeerPerMin: 30, removePeerPerMin: 15 });
    expect(storeLimitOf(c, 3n)).toEqual({ addPeerPerMin: 15, removePeerPerMin: 15 });
    step({ storeLimits: [{ storeId: 9n, addPeerPerMin: 0, removePeerPerMin: 1 }, { storeId: 2n, removePeerPerMin: 0 }] });
    expect(c.storeLimits).toEqual([{ storeId: 9n, removePeerPerMin: 1 }]);
    step({ paused: new Map([["replica-checker", true], ["balance-leader-scheduler", true]] as const) });
    expect(c.pausedSchedulers).toEqual(["balance-leader-scheduler", "replica-checker"]);
    step({ paused: new Map([["replica-checker", false]] as const), maxReplicas: 5 });
    expect(c).toMatchObject({ maxReplicas: 5, pausedSchedulers: ["balance-leader-scheduler"] });
    expect(DEFAULT_SCHEDULING_CONFIG.storeLimits).toEqual([]);
  });

  it("refuses what cannot be scheduled by, naming the value", () => {
    const bad = [
      { maxReplicas: 0 },
      { maxReplicas: 2.5 },
      { maxReplicas: 16 },
      { defaultStoreLimit: { addPeerPerMin: 0, removePeerPerMin: 1 } },
      { defaultStoreLimit: { addPeerPerMin: 1, removePeerPerMin: Number.POSITIVE_INFINITY } },
      { storeLimits: [{ storeId: 0n, addPeerPerMin: 1 }] },
      { storeLimits: [{ storeId: 1n, addPeerPerMin: -1 }] },
    ];
    for (const patch of bad) {
      const r = applySchedulingPatch(DEFAULT_SCHEDULING_CONFIG, patch);
      expect("problem" in r, JSON.stringify(patch, (_k, v) => (typeof v === "bigint" ? `${v}` : v))).toBe(true);
    }
    expect(schedulingConfigProblem({ ...DEFAULT_SCHEDULING_CONFIG, pausedSchedulers: ["nope" as never] })).toMatch(/unknown scheduler "nope"/);
    expect(schedulingConfigProblem(DEFAULT_SCHEDULING_CONFIG)).toBeUndefined();
  });

  it("prints the config in TiKV's shapes, durations as Go does", () => {
    expect([formatGoDuration(30 * 60_000), formatGoDuration(20_000), formatGoDuration(3_600_000), formatGoDuration(1500), formatGoDuration(5)]).toEqual([
      "30m0s",
      "20s",
      "1h0m0s",
      "1.5s",
      "5ms",
    ]);
    const c = { ...DEFAULT_SCHEDULING_CONFIG, storeLimits: [{ storeId: 4n, addPeerPerMin: 60 }] };
    expect(schedulingConfigToTikvJson(c, { maxStoreDownTimeMs: 1_800_000, leaderScheduleLimit: 4 })).toEqual({
      schedule: {
        "max-store-down-time": "30m0s",
        "leader-schedule-limit": 4,
        "store-limit": { "4": { "add-peer": 60, "remove-peer": 15 } },
        "default-store-limit": { "add-peer": 15, "remove-peer": 15 },
        "paused-schedulers": [],
      },
      replication: { "max-replicas": 3 },
    });
    expect(storeLimitsToTikvJson(c, [1n, 4n])).toEqual({ "1": { "add-peer": 15, "remove-peer": 15 }, "4": { "add-peer": 60, "remove-peer": 15 } });
  });

  it("prints operators in TiKV's object and string shapes", () => {
    const op = {
      id: 2n ** 60n,
      regionId: 5n,
      kind: "balance-region",
      priority: "normal",
      state: "running" as const,
      steps: ["add learner 9 on store 4", "remove peer 3 on store 1"],
      currentStep: 1,
      regionEpoch: { version: 1n, confVersion: 3n },
      createdAtMs: 0n,
      ageMs: 1500n,
      reason: "",
    };
    expect(operatorToTikvJson(op)).toMatchObject({
      desc: "balance-region",
      brief: "add learner 9 on store 4, remove peer 3 on store 1",
      region_id: "5",
      region_epoch: { conf_ver: "3", version: "1" },
      kind: "region",
      status: "Started",
      id: "1152921504606846976",
      steps: [
        { desc: "add learner 9 on store 4", done: true },
        { desc: "remove peer 3 on store 1", done: false },
      ],
      current_step: 1,
      created_at_ms: "0",
      age_ms: "1500",
    });
    // In flight: no end time. Ended: created + age, every step done after a success.
    expect(operatorToTikvJson(op)).not.toHaveProperty("finished_at_ms");
    const done = operatorToTikvJson({ ...op, state: "success", currentStep: 2, createdAtMs: 1_700_000_000_000n });
    expect(done).toMatchObject({ status: "Success", finished_at_ms: "1700000001500", steps: [{ done: true }, { done: true }] });
    expect(operatorToTikvString({ ...op, state: "cancelled", reason: "epoch changed" })).toBe(
      "balance-region {add learner 9 on store 4, remove peer 3 on store 1} (kind:region, region:5(1, 3), createAt:1970-01-01T00:00:00.000Z, currentStep:1, status:Canceled, reason:epoch changed)",
    );
  });

  it("decodes its own operator JSON exactly, uint64s above 2^53 included (property)", () => {
    const u64 = fc.bigInt({ min: 0n, max: MAX_UINT64 });
    const states = ["created", "running", "success", "timeout", "cancelled", "replaced"] as const;
    fc.assert(
      fc.property(
        fc.record({
          id: u64,
          regionId: u64,
          kind: fc.constantFrom("balance-leader", "balance-region", "make-up-replica"),
          priority: fc.constantFrom("high", "normal"),
          state: fc.constantFrom(...states),
          steps: fc.array(fc.string(), { maxLength: 4 }),
          version: u64,
          confVersion: u64,
          createdAtMs: fc.bigInt({ min: 0n, max: MAX_UINT64 / 2n }),
          ageMs: fc.bigInt({ min: 0n, max: MAX_UINT64 / 2n }),
          reason: fc.string(),
          at: fc.nat(),
        }),
        (r) => {
          const op: OperatorInfo = {
            id: r.id,
            regionId: r.regionId,
            kind: r.kind,
            priority: r.priority,
            state: r.state,
            steps: r.steps,
            currentStep: r.at % (r.steps.length + 1),
            regionEpoch: { version: r.version, confVersion: r.confVersion },
            createdAtMs: r.createdAtMs,
            ageMs: r.ageMs,
            reason: r.reason,
          };
          // Through text, as a reader gets it.
          expect(operatorFromTikvJson(JSON.parse(JSON.stringify(operatorToTikvJson(op))) as TikvOperatorJson)).toEqual(op);
        },
      ),
    );
    for (const v of [0n, 2n ** 53n + 1n, MAX_UINT64]) {
      const j = operatorToTikvJson({ id: v, regionId: v, kind: "balance-leader", priority: "normal", state: "success", steps: [], currentStep: 0, regionEpoch: { version: v, confVersion: v }, createdAtMs: 0n, ageMs: v, reason: "" });
      expect(operatorFromTikvJson(j).id).toBe(v);
    }
  });

  it("refuses operator JSON it cannot read, naming the field; an unknown status is `unknown`", () => {
    const good = operatorToTikvJson({ id: 1n, regionId: 2n, kind: "balance-leader", priority: "normal", state: "running", steps: ["x"], currentStep: 0, regionEpoch: { version: 1n, confVersion: 1n }, createdAtMs: 5n, ageMs: 1n, reason: "" });
    expect(operatorFromTikvJson({ ...good, status: "Expired" }).state).toBe("unknown");
    expect(() => operatorFromTikvJson({ ...good, id: 7 as unknown as string })).toThrow(/id must be a decimal uint64 string/);
    expect(() => operatorFromTikvJson({ ...good, region_id: "18446744073709551616" })).toThrow(/region_id/);
    expect(() => operatorFromTikvJson({ ...good, current_step: 2 })).toThrow(/current_step/);
    expect(() => operatorFromTikvJson({ ...good, steps: [{ done: true } as unknown as { desc: string; done: boolean }] })).toThrow(/steps\[0\]\.desc/);
  });
});
