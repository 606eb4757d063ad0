import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkLivenessThresholds, DEFAULT_LIVENESS_THRESHOLDS, storeLiveness } from "./liveness.js";

describe("store liveness", () => {
  const t = { disconnectedAfterMs: 20_000, downAfterMs: 1_800_000 };

  it("uses TiKV's thresholds by default: disconnected after 20 s, down after 30 min", () => {
    expect(DEFAULT_LIVENESS_THRESHOLDS).toEqual(t);
    expect(storeLiveness(1_000, 1_000)).toBe("up");
    expect(storeLiveness(1_000, 20_999)).toBe("up");
    expect(storeLiveness(1_000, 21_000)).toBe("disconnected");
    expect(storeLiveness(1_000, 1_800_999)).toBe("disconnected");
    expect(storeLiveness(1_000, 1_801_000)).toBe("down");
  });

  it("honours custom thresholds and treats a heartbeat from the future as up", () => {
    const fast = { disconnectedAfterMs: 50, downAfterMs: 200 };
    expect(storeLiveness(0, 49, fast)).toBe("up");
    expect(storeLiveness(0, 50, fast)).toBe("disconnected");
    expect(storeLiveness(0, 200, fast)).toBe("down");
    expect(storeLiveness(5_000, 1_000, fast)).toBe("up");
  });

  it("never goes back to a livelier state as silence grows", () => {
    const rank = { up: 0, disconnected: 1, down: 2 } as const;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.nat(1e8), fc.nat(1e8), (last, a, b) => {
        const [early, late] = a <= b ? [a, b] : [b, a];
        expect(rank[storeLiveness(last, last + early, t)]).toBeLessThanOrEqual(rank[storeLiveness(last, last + late, t)]);
      }),
    );
  });

  it("refuses thresholds that are not positive or out of order", () => {
    expect(() => checkLivenessThresholds({ disconnectedAfterMs: 0, downAfterMs: 10 })).toThrow(RangeError);
    expect(() => checkLivenessThresholds({ disconnectedAfterMs: 10, downAfterMs: 5 })).toThrow(/downAfterMs/);
    expect(() => checkLivenessThresholds({ disconnectedAfterMs: Number.NaN, downAfterMs: 5 })).toThrow(RangeError);
    expect(checkLivenessThresholds({ disconnectedAfterMs: 10, downAfterMs: 10 })).toEqual({ disconnectedAfterMs: 10, downAfterMs: 10 });
  });
});
