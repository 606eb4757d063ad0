import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PdError } from "../errors.js";
import { MAX_UINT64, type Region, type RegionPeer } from "@nokv/pd-model";
import { hasDuplicatePeers, validateRegion } from "./region.js";

const peer = (storeId: bigint, peerId: bigint): RegionPeer => ({ storeId, peerId });
const region = (peers: RegionPeer[], start = "a", end = "b", id = 1n): Region => ({
  id,
  startKey: new TextEncoder().encode(start),
  endKey: new TextEncoder().encode(end),
  epoch: { version: 1n, confVersion: 1n },
  peers,
});

function invalid(r: Region): string {
  try {
    validateRegion(r);
  } catch (err) {
    expect(err).toBeInstanceOf(PdError);
    expect((err as PdError).code).toBe("INVALID_ARGUMENT");
    return (err as PdError).message;
  }
  throw new Error("expected validateRegion to throw");
}

describe("validateRegion", () => {
  it("refuses only what is malformed: id 0, an inverted or empty range, a zero store or peer id", () => {
    expect(invalid(region([peer(1n, 1n)], "a", "b", 0n))).toBe("region id must be non-zero");
    expect(invalid(region([peer(1n, 1n)], "b", "a"))).toMatch(/^region 1: start key must be below end key/);
    expect(invalid(region([peer(1n, 1n)], "b", "b"))).toMatch(/^region 1: start key must be below end key/);
    expect(invalid(region([peer(0n, 5n)]))).toBe("region 1: peer {store:0 peer:5} needs non-zero ids");
    expect(invalid(region([peer(5n, 0n)]))).toBe("region 1: peer {store:5 peer:0} needs non-zero ids");
  });

  it("accepts the peers a store reports, duplicates included", () => {
    for (const peers of [
      [peer(1n, 10n), peer(1n, 11n)],
      [peer(1n, 10n), peer(1n, 10n)],
      [peer(1n, 10n), peer(2n, 10n)],
      [],
    ]) {
      expect(() => validateRegion(region(peers))).not.toThrow();
    }
  });
});

describe("hasDuplicatePeers", () => {
  it("is true for two peers on one store, the same peer twice, or one peer id on two stores", () => {
    expect(hasDuplicatePeers(region([peer(1n, 10n), peer(2n, 11n), peer(3n, 12n)]))).toBe(false);
    expect(hasDuplicatePeers(region([]))).toBe(false);
    expect(hasDuplicatePeers(region([peer(1n, 10n), peer(2n, 11n), peer(1n, 12n)]))).toBe(true);
    expect(hasDuplicatePeers(region([peer(1n, 10n), peer(1n, 10n)]))).toBe(true);
    expect(hasDuplicatePeers(region([peer(1n, 10n), peer(2n, 10n)]))).toBe(true);
    expect(hasDuplicatePeers(region([peer(MAX_UINT64, 1n), peer(MAX_UINT64 - 1n, 2n)]))).toBe(false);
  });

  it("agrees with a set-based reference, for short and long peer lists (property)", () => {
    const ids = fc.bigInt({ min: 1n, max: 40n });
    fc.assert(
      fc.property(fc.array(fc.record({ storeId: ids, peerId: ids }), { maxLength: 60 }), (peers) => {
        const want = new Set(peers.map((p) => p.storeId)).size < peers.length || new Set(peers.map((p) => p.peerId)).size < peers.length;
        expect(hasDuplicatePeers(region(peers))).toBe(want);
      }),
    );
  });
});
