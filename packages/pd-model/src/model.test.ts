import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
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
