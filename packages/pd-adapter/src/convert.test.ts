import type { SchedulerOperation } from "@nokv/pd-client";
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

  it("gives identical operations equal keys and different ones different keys", () => {
    const a = { type: "leader-transfer" as const, regionId: 1n, sourcePeerId: 2n, targetPeerId: 3n };
    expect(operationKey(a)).toBe(operationKey({ ...a }));
    expect(operationKey(a)).not.toBe(operationKey({ ...a, targetPeerId: 4n }));
    expect(operationKey({ ...a, regionId: 12n, sourcePeerId: 3n })).not.toBe(operationKey({ ...a, regionId: 1n, sourcePeerId: 23n }));
  });
});
