import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StoreLimiter } from "./store-limit.js";

describe("store limiter", () => {
  it("allows at most rate × minutes (+ one bucket) over any stretch, for any pattern of tries (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 300 }), (rate, gaps) => {
        let now = 0;
        const l = new StoreLimiter(() => rate, () => now);
        let taken = 0;
        for (const g of gaps) {
          now += g;
          if (l.available(1n, "add-peer")) {
            l.take(1n, "add-peer");
            taken++;
          }
        }
        expect(taken).toBeLessThanOrEqual(Math.floor((rate * now) / 60_000 + StoreLimiter.capacity(rate)) + 1e-9);
      }),
    );
  });

  it("refills at the rate, caps the burst at ten seconds' worth, keeps stores and types apart", () => {
    let now = 0;
    const l = new StoreLimiter((_s, type) => (type === "add-peer" ? 60 : 6), () => now);
    for (let i = 0; i < 10; i++) l.take(1n, "add-peer");
    expect(l.available(1n, "add-peer")).toBe(false);
    expect(l.available(2n, "add-peer")).toBe(true);
    expect(l.available(1n, "remove-peer")).toBe(true);
    now += 1_000;
    expect(l.available(1n, "add-peer")).toBe(true);
    now += 3_600_000;
    let burst = 0;
    while (l.available(1n, "add-peer")) {
      l.take(1n, "add-peer");
      burst++;
    }
    expect(burst).toBe(10);
    l.take(1n, "remove-peer");
    expect(l.available(1n, "remove-peer")).toBe(false);
    now += 9_999;
    expect(l.available(1n, "remove-peer")).toBe(false);
    now += 1;
    expect(l.available(1n, "remove-peer")).toBe(true);
  });

  it("applies a changed rate at once and counts hits by type", () => {
    let now = 0;
    let rate = 60;
    const l = new StoreLimiter(() => rate, () => now);
    for (let i = 0; i < 10; i++) l.take(1n, "add-peer");
    rate = 6;
    now += 10_000;
    expect(l.available(1n, "add-peer")).toBe(true);
    l.take(1n, "add-peer");
    expect(l.available(1n, "add-peer")).toBe(false);
    l.hit("add-peer");
    l.hit("add-peer");
    l.hit("remove-peer");
    expect(l.hits()).toEqual({ "add-peer": 2, "remove-peer": 1 });
  });
});
