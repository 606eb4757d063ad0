import { EXECUTABLE_OPERATION_KINDS, type ExecutableOperationKind, type SchedulerOperation } from "@nokv/pd-client";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { operationFromPd, operationKey } from "./convert.js";

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

describe("operationFromPd", () => {
  it("keeps exactly the leader transfers with non-zero region, source and target", () => {
    fc.assert(
      fc.property(fc.constantFrom("none", "leader-transfer", "unknown" as const), u64, u64, u64, (kind, r, s, t) => {
        const op: SchedulerOperation = { kind, regionId: r, sourcePeerId: s, targetPeerId: t };
        const valid = kind === "leader-transfer" && r !== 0n && s !== 0n && t !== 0n;
        const got = operationFromPd(op);
        if (valid) expect(got).toEqual({ type: "leader-transfer", regionId: r, sourcePeerId: s, targetPeerId: t });
        else expect(got).toBeUndefined();
      }),
    );
  });

  it("for a store with capabilities, keeps a listed kind exactly when every id it needs is there (property)", () => {
    const kinds = fc.constantFrom("none", "unknown", ...EXECUTABLE_OPERATION_KINDS);
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    fc.assert(
      fc.property(
        kinds,
        fc.subarray([...EXECUTABLE_OPERATION_KINDS]),
        u64,
        u64,
        u64,
        maybe(u64),
        maybe(fc.record({ version: u64, confVersion: u64 })),
        maybe(u64),
        (kind, listed, r, s, t, operatorId, regionEpoch, targetStoreId) => {
          const op: SchedulerOperation = {
            kind,
            regionId: r,
            sourcePeerId: s,
            targetPeerId: t,
            ...(operatorId !== undefined && { operatorId }),
            ...(regionEpoch !== undefined && { regionEpoch }),
            ...(targetStoreId !== undefined && { targetStoreId }),
          };
          const got = operationFromPd(op, new Set<ExecutableOperationKind>(listed));
          const known = kind !== "none" && kind !== "unknown" && listed.includes(kind);
          const ids = r !== 0n && t !== 0n;
          if (kind === "leader-transfer") {
            const valid = known && ids && s !== 0n;
            if (!valid) expect(got).toBeUndefined();
            else
              expect(got).toEqual({
              type: "leader-transfer",
              regionId: r,
              sourcePeerId: s,
              targetPeerId: t,
              ...(operatorId !== undefined && operatorId !== 0n && { operatorId }),
              ...(regionEpoch !== undefined && { regionEpoch }),
              });
            return;
          }
          const valid = known && ids && operatorId !== undefined && operatorId !== 0n && regionEpoch !== undefined && targetStoreId !== undefined && targetStoreId !== 0n;
          if (!valid) expect(got).toBeUndefined();
          else expect(got).toEqual({ type: kind, regionId: r, peerId: t, storeId: targetStoreId, operatorId, regionEpoch, leaderPeerId: s });
        },
      ),
    );
  });

  it("gives identical operations equal keys and different ones different keys", () => {
    const a = { type: "leader-transfer" as const, regionId: 1n, sourcePeerId: 2n, targetPeerId: 3n };
    expect(operationKey(a)).toBe(operationKey({ ...a }));
    expect(operationKey(a)).not.toBe(operationKey({ ...a, targetPeerId: 4n }));
    expect(operationKey({ ...a, regionId: 12n, sourcePeerId: 3n })).not.toBe(operationKey({ ...a, regionId: 1n, sourcePeerId: 23n }));
    // A step with an operator id: the same step sent again has the same key; another step of the operator another.
    const add = { type: "add-learner" as const, regionId: 7n, peerId: 74n, storeId: 4n, operatorId: 9n, regionEpoch: { version: 1n, confVersion: 2n }, leaderPeerId: 71n };
    expect(operationKey(add)).toBe(operationKey({ ...add, regionEpoch: { version: 1n, confVersion: 2n } }));
    expect(operationKey(add)).not.toBe(operationKey({ ...add, type: "promote-learner" }));
    expect(operationKey(add)).not.toBe(operationKey({ ...add, operatorId: 10n }));
    expect(operationKey({ ...a, operatorId: 9n })).not.toBe(operationKey(a));
  });
});
