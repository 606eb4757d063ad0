import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AllocIDResponse,
  SchedulerOperation,
  StoreHeartbeatRequest,
  GetMembersResponse,
  GetRegionByKeyResponse,
  MAX_UINT64,
  PDSchedulingService,
  PDService,
  RegionHeartbeatRequest,
  RegionMeta,
  StoreHeartbeatResponse,
  SchedulerOperationType,
  TsoRequest,
  TsoResponse,
} from "./index.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => Buffer.from(h.replace(/\s+/g, ""), "hex");

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
    expect(Object.values(PDSchedulingService).map((m) => m.path)).toEqual([
      "/pb.PDScheduling/ListOperators",
      "/pb.PDScheduling/ListSchedulers",
      "/pb.PDScheduling/SetSchedulerPaused",
      "/pb.PDScheduling/GetSchedulingConfig",
      "/pb.PDScheduling/SetSchedulingConfig",
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

  it("leaves the fields added to SchedulerOperation off the wire when unset: a Go store gets the old bytes", () => {
    const old = { type: SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER, regionId: 2n, sourcePeerId: 3n, targetPeerId: 4n };
    expect(hex(SchedulerOperation.encode(old).finish())).toBe("0801100218032004");
    expect(SchedulerOperation.decode(bytes("0801100218032004"))).toEqual(old);
  });

  it("numbers the fields added to SchedulerOperation 5-7 and the new types 2-5", () => {
    const wire = SchedulerOperation.encode({
      type: SchedulerOperationType.SCHEDULER_OPERATION_TYPE_ADD_LEARNER,
      regionId: 2n,
      sourcePeerId: 3n,
      targetPeerId: 4n,
      operatorId: 5n,
      regionEpoch: { confVer: 6n, version: 7n },
      targetStoreId: 8n,
    }).finish();
    // 28=f5 varint, 32=f6 message {08 conf_ver, 10 version}, 38=f7 varint
    expect(hex(wire)).toBe("0803" + "1002" + "1803" + "2004" + "2805" + "3204" + "0806" + "1007" + "3808");
    expect([
      SchedulerOperationType.SCHEDULER_OPERATION_TYPE_ADD_PEER,
      SchedulerOperationType.SCHEDULER_OPERATION_TYPE_ADD_LEARNER,
      SchedulerOperationType.SCHEDULER_OPERATION_TYPE_PROMOTE_LEARNER,
      SchedulerOperationType.SCHEDULER_OPERATION_TYPE_REMOVE_PEER,
    ]).toEqual([2, 3, 4, 5]);
  });

  it("numbers the store heartbeat additions 6-9: capabilities in one optional message, the stats optional", () => {
    const base = { storeId: 1n, regionNum: 0n, leaderNum: 0n, capacity: 0n, available: 0n };
    // A Go store's heartbeat: fields 1-5 only on the wire, and nothing of 6-9 decoded.
    expect(hex(StoreHeartbeatRequest.encode(base).finish())).toBe("0801");
    const go = StoreHeartbeatRequest.decode(bytes("0801 1002 1803 2004 2805"));
    expect(go).toEqual({ storeId: 1n, regionNum: 2n, leaderNum: 3n, capacity: 4n, available: 5n });
    expect(go.capabilities).toBeUndefined();
    const wire = StoreHeartbeatRequest.encode({
      ...base,
      capabilities: {
        operationTypes: [SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER, SchedulerOperationType.SCHEDULER_OPERATION_TYPE_REMOVE_PEER],
      },
      usedSize: 0n,
      bytesWritten: 9n,
      keysWritten: 10n,
    }).finish();
    // 32=f6 message {0a=f1 packed {01 05}}; optional fields are written when set, zero included: 38=f7 00
    expect(hex(wire)).toBe("0801" + "3204" + "0a020105" + "3800" + "4009" + "480a");
    // An unpacked repeated enum (as some encoders write it) decodes the same; an empty list is present.
    expect(StoreHeartbeatRequest.decode(bytes("0801 3204 0801 0805")).capabilities).toEqual({ operationTypes: [1, 5] });
    expect(StoreHeartbeatRequest.decode(bytes("0801 3200")).capabilities).toEqual({ operationTypes: [] });
  });

  it("numbers the region heartbeat additions 2-7, RegionPeerStatus 1-3 and DownPeer 1-2", () => {
    const region = { id: 7n, startKey: Buffer.alloc(0), endKey: Buffer.alloc(0), epochVersion: 0n, epochConfVersion: 0n, peers: [] };
    // What pd-client and NoKV's Go stores send: the region alone.
    expect(hex(RegionHeartbeatRequest.encode({ region }).finish())).toBe("0a020807");
    const wire = RegionHeartbeatRequest.encode({
      region,
      leaderPeerId: 0n,
      approximateSize: 2n,
      approximateKeys: 3n,
      bytesWritten: 4n,
      keysWritten: 5n,
      peerStatus: { downPeers: [{ peer: { storeId: 1n, peerId: 6n }, downSeconds: 7n }], pendingPeers: [{ storeId: 2n, peerId: 8n }], learnerPeerIds: [8n, 9n] },
    }).finish();
    expect(hex(wire)).toBe(
      "0a020807" + "1000" + "1802" + "2003" + "2804" + "3005" + "3a14" + "0a08" + "0a0408011006" + "1007" + "1204" + "08021008" + "1a020809",
    );
    const decoded = RegionHeartbeatRequest.decode(bytes("0a020807"));
    expect(decoded.leaderPeerId).toBeUndefined();
    expect(decoded.approximateSize).toBeUndefined();
    expect(decoded.peerStatus).toBeUndefined();
    // Reported with no down, pending or learner peer: present and empty.
    expect(RegionHeartbeatRequest.decode(bytes("0a020807 3a00")).peerStatus).toEqual({ downPeers: [], pendingPeers: [], learnerPeerIds: [] });
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

describe("decoding as protobuf specifies", () => {
  // RegionHeartbeatRequest.region (field 1, wire type 2) sent twice, hand-built:
  //   0a 0b | 08 07 (id 7) 12 01 61 (start "a") 32 04 08 01 10 46 (peer 1:70)
  //   0a 0d | 1a 01 6d (end "m") 20 02 (version 2) 08 08 (id 8) 32 04 08 02 10 47 (peer 2:71)
  const TWICE = bytes("0a0b 0807 120161 3204 0801 1046" + "0a0d 1a016d 2002 0808 3204 0802 1047");

  it("merges a repeated singular message field: later scalars win, repeated fields append, absent fields stay", () => {
    expect(RegionHeartbeatRequest.decode(TWICE).region).toEqual({
      id: 8n,
      startKey: Buffer.from("a"),
      endKey: Buffer.from("m"),
      epochVersion: 2n,
      epochConfVersion: 0n,
      peers: [
        { storeId: 1n, peerId: 70n },
        { storeId: 2n, peerId: 71n },
      ],
    });
    // GetMembersResponse.leader (field 2) twice: the name of the first, the address of the second.
    const leader = GetMembersResponse.decode(bytes("1203 0a0161" + "1203 120162")).leader;
    expect(leader).toEqual({ name: "a", advertiseAddr: "b", isLeader: false });
  });

  it("decodes two concatenated encodings as their protobuf merge (property)", () => {
    const id = fc.bigInt({ min: 0n, max: MAX_UINT64 });
    const key = fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.from(b));
    const meta = fc.record({
      id,
      startKey: key,
      endKey: key,
      epochVersion: id,
      epochConfVersion: id,
      peers: fc.array(fc.record({ storeId: id, peerId: id }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(meta, meta, (a, b) => {
        const wire = Buffer.concat([RegionHeartbeatRequest.encode({ region: a }).finish(), RegionHeartbeatRequest.encode({ region: b }).finish()]);
        // proto3 leaves zero scalars and empty bytes off the wire, so "present in b" means "not the default".
        const pick = <T>(x: T, y: T, isDefault: (v: T) => boolean) => (isDefault(y) ? x : y);
        const zero = (v: bigint) => v === 0n;
        const empty = (v: Buffer) => v.length === 0;
        expect(RegionHeartbeatRequest.decode(wire).region).toEqual({
          id: pick(a.id, b.id, zero),
          startKey: pick(a.startKey, b.startKey, empty),
          endKey: pick(a.endKey, b.endKey, empty),
          epochVersion: pick(a.epochVersion, b.epochVersion, zero),
          epochConfVersion: pick(a.epochConfVersion, b.epochConfVersion, zero),
          peers: [...a.peers, ...b.peers],
        });
      }),
    );
  });

  it.each([
    ["field tag 0 at the top", "00"],
    ["field tag 0 after a field", "0a020801 00"],
    ["field tag 0 inside the sub-message", "0a03 0801 00"],
    ["field number 0 with another wire type", "0201 00"],
    ["an end-group tag at the top", "0c"],
    ["an end-group tag inside the sub-message", "0a03 0801 0c"],
    ["an end-group tag that closes another field's group", "4b 54"],
    ["a group that is never closed", "4b 0801"],
    ["a sub-message whose last field runs past its length", "0a02 1205 6162636465"],
    ["wire type 6", "0e"],
  ])("refuses %s", (_name, h) => {
    expect(() => RegionHeartbeatRequest.decode(bytes(h))).toThrow();
  });

  it("still skips unknown fields, unknown groups and known fields of another wire type, as Go does", () => {
    // field 9 as a group (4b … 4c), field 10 as a varint, field 1 (count) as bytes: all unknown to TsoRequest.
    expect(TsoRequest.decode(bytes("4b 0801 4c 5005 0a0100 0803"))).toEqual({ count: 3n });
    expect(RegionHeartbeatRequest.decode(bytes("0a02 0807")).region?.id).toBe(7n);
  });
});

