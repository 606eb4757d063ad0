import { MAX_UINT64, RegionMeta } from "@nokv/pd-proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkUint64,
  idRangeFromWire,
  regionFromWire,
  regionToWire,
  storeHeartbeatToWire,
  timestampRangeFromWire,
} from "./convert.js";
import { PdClientError } from "./errors.js";
import type { Region } from "./types.js";

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const bytes = fc.uint8Array({ maxLength: 16 });

const region: fc.Arbitrary<Region> = fc.record({
  id: u64,
  startKey: bytes,
  endKey: bytes,
  epoch: fc.record({ version: u64, confVersion: u64 }),
  peers: fc.array(fc.record({ storeId: u64, peerId: u64 }), { maxLength: 5 }),
});

describe("convert", () => {
  it("round-trips a region through the wire encoding exactly (bigint above 2^53 included)", () => {
    fc.assert(
      fc.property(region, (r) => {
        const decoded = regionFromWire(RegionMeta.decode(RegionMeta.encode(regionToWire(r)).finish()));
        expect(decoded).toEqual(r);
      }),
    );
  });

  it("copies keys out of the received buffer", () => {
    const wire = RegionMeta.decode(
      RegionMeta.encode(regionToWire({ id: 1n, startKey: Uint8Array.of(1), endKey: Uint8Array.of(9), epoch: { version: 1n, confVersion: 1n }, peers: [] })).finish(),
    );
    const r = regionFromWire(wire);
    wire.startKey[0] = 7;
    expect(r.startKey).toEqual(Uint8Array.of(1));
    expect(Buffer.isBuffer(r.startKey)).toBe(false);
  });

  it("rejects values that are not uint64 bigints before any RPC", () => {
    for (const bad of [-1n, MAX_UINT64 + 1n, 5, "5", undefined]) {
      expect(() => checkUint64("id", bad)).toThrow(PdClientError);
    }
    for (const ok of [0n, 2n ** 53n + 1n, MAX_UINT64]) expect(checkUint64("id", ok)).toBe(ok);
    expect(() => storeHeartbeatToWire({ storeId: 2n ** 64n })).toThrow(/storeId/);
    expect(storeHeartbeatToWire({ storeId: 3n })).toEqual({ storeId: 3n, regionNum: 0n, leaderNum: 0n, capacity: 0n, available: 0n });
  });

  it("checks that a run answer grants what was asked and stays in uint64", () => {
    expect(timestampRangeFromWire({ timestamp: 5n, count: 3n }, 3n)).toEqual({ first: 5n, count: 3n });
    expect(timestampRangeFromWire({ timestamp: 5n, count: 0n }, 3n)).toEqual({ first: 5n, count: 3n });
    expect(() => timestampRangeFromWire({ timestamp: 5n, count: 2n }, 3n)).toThrow(/granted 2/);
    expect(() => idRangeFromWire({ firstId: MAX_UINT64, count: 2n }, 2n)).toThrow(/overflows/);
    expect(idRangeFromWire({ firstId: MAX_UINT64, count: 1n }, 1n)).toEqual({ firstId: MAX_UINT64, count: 1n });
  });
});
