import { EXECUTABLE_OPERATION_KINDS, type SchedulerOperation } from "@nokv/pd-model";
import { describe, expect, it } from "vitest";
import { OperationDedup, toStoreOperation } from "./store-operations.js";

const ALL = new Set(EXECUTABLE_OPERATION_KINDS);
const add: SchedulerOperation = {
  kind: "add-learner",
  regionId: 7n,
  sourcePeerId: 71n,
  targetPeerId: 74n,
  operatorId: 9n,
  regionEpoch: { version: 1n, confVersion: 2n },
  targetStoreId: 4n,
};

describe("store operations", () => {
  it("types each kind, keeping what the store needs", () => {
    expect(toStoreOperation(add, ALL)).toEqual({ type: "add-learner", regionId: 7n, peerId: 74n, storeId: 4n, operatorId: 9n, epoch: { version: 1n, confVersion: 2n } });
    expect(toStoreOperation({ kind: "leader-transfer", regionId: 7n, sourcePeerId: 71n, targetPeerId: 72n }, undefined)).toEqual({
      type: "leader-transfer",
      regionId: 7n,
      sourcePeerId: 71n,
      targetPeerId: 72n,
    });
  });

  it("drops kinds the store does not list (only transfers without capabilities), zero ids and missing fields", () => {
    expect(toStoreOperation(add, undefined)).toBeUndefined();
    expect(toStoreOperation(add, new Set(["leader-transfer", "remove-peer"] as const))).toBeUndefined();
    for (const bad of [
      { ...add, regionId: 0n },
      { ...add, targetPeerId: 0n },
      { ...add, operatorId: undefined },
      { ...add, regionEpoch: undefined },
      { ...add, targetStoreId: undefined },
      { ...add, kind: "unknown" as const },
      { kind: "leader-transfer" as const, regionId: 7n, sourcePeerId: 0n, targetPeerId: 72n },
    ]) {
      expect(toStoreOperation(bad as SchedulerOperation, ALL), JSON.stringify(bad, (_k, v) => (typeof v === "bigint" ? `${v}` : v))).toBeUndefined();
    }
  });

  it("takes a step on once, and again after forgetting it; forgets the oldest beyond its bound", () => {
    const d = new OperationDedup(2);
    const a = toStoreOperation(add, ALL)!;
    const b = toStoreOperation({ ...add, kind: "promote-learner" }, ALL)!;
    const c = toStoreOperation({ ...add, operatorId: 10n }, ALL)!;
    expect([d.admit(a), d.admit(a), d.admit(b)]).toEqual([true, false, true]);
    d.forget(a);
    expect(d.admit(a)).toBe(true);
    expect(d.admit(c)).toBe(true); // a third key: b, the oldest, is forgotten
    expect(d.admit(b)).toBe(true);
  });
});
