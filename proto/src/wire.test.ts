import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AllocIDResponse,
  GetRegionByKeyResponse,
  MAX_UINT64,
  PDService,
  RegionMeta,
  StoreHeartbeatResponse,
  SchedulerOperationType,
  TsoResponse,
} from "./index.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("wire contract", () => {
  it("uses the method paths of service pb.PD", () => {
    expect(Object.values(PDService).map((m) => m.path)).toEqual([
      "/pb.PD/StoreHeartbeat",
      "/pb.PD/RegionHeartbeat",
      "/pb.PD/RemoveRegion",
      "/pb.PD/GetRegionByKey",
      "/pb.PD/AllocID",
      "/pb.PD/Tso",
      "/pb.PD/TsoStream",
      "/pb.PD/GetMembers",
      "/pb.PD/ListStores",
      "/pb.PD/ListRegions",
      "/pb.PD/GetRegionById",
    ]);
    expect(PDService.tsoStream.requestStream && PDService.tsoStream.responseStream).toBe(true);
  });

  it("encodes RegionMeta with the contract's field numbers and wire types", () => {
    const bytes = RegionMeta.encode({
      id: 1n,
      startKey: Buffer.of(0x61),
      endKey: Buffer.of(0x6d),
      epochVersion: 2n,
      epochConfVersion: 3n,
      peers: [{ storeId: 4n, peerId: 5n }],
    }).finish();
    // 08=f1 varint, 12=f2 bytes, 1a=f3 bytes, 20=f4 varint, 28=f5 varint, 32=f6 message{08 f1, 10 f2}
    expect(hex(bytes)).toBe("0801" + "120161" + "1a016d" + "2002" + "2803" + "3204" + "0804" + "1005");
  });

  it("encodes the allocator and scheduler responses with the contract's numbers", () => {
    expect(hex(AllocIDResponse.encode({ firstId: 7n, count: 2n }).finish())).toBe("08071002");
    expect(hex(TsoResponse.encode({ timestamp: 9n, count: 1n }).finish())).toBe("08091001");
    expect(hex(GetRegionByKeyResponse.encode({ region: undefined, notFound: true }).finish())).toBe("1001");
    const op = {
      type: SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER,
      regionId: 2n,
      sourcePeerId: 3n,
      targetPeerId: 4n,
    };
    expect(hex(StoreHeartbeatResponse.encode({ accepted: true, operations: [op] }).finish())).toBe(
      "0801" + "1208" + "0801100218032004",
    );
  });

  it("round-trips every uint64 exactly, including values above 2^53", () => {
    for (const v of [0n, 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, MAX_UINT64]) {
      const got = TsoResponse.decode(TsoResponse.encode({ timestamp: v, count: v }).finish());
      expect(got.timestamp).toBe(v);
      expect(got.count).toBe(v);
    }
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UINT64 }), (v) => {
        const got = AllocIDResponse.decode(AllocIDResponse.encode({ firstId: v, count: v }).finish());
        return got.firstId === v && got.count === v;
      }),
    );
  });
});
