import { Metadata, status } from "@grpc/grpc-js";
import { MAX_UINT64, PD_ERROR_CODES, type Region, type StoreStatus } from "@nokv/pd-model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RegionMeta } from "../gen/metapb.js";
import { SchedulerOperationType, StoreStatus as WireStoreStatus } from "../gen/pdpb.js";
import {
  membersFromWire,
  membersToWire,
  operationFromWire,
  operationToWire,
  regionFromWire,
  regionToWire,
  storeStatusFromWire,
  storeStatusToWire,
} from "./convert.js";
import { decodePdError, encodePdError } from "./status.js";

const u64 = fc.bigInt({ min: 0n, max: MAX_UINT64 });

describe("wire ↔ domain conversion", () => {
  it("round-trips regions through the encoded bytes, uint64s above 2^53 exactly (property)", () => {
    const region: fc.Arbitrary<Region> = fc.record({
      id: u64,
      startKey: fc.uint8Array({ maxLength: 16 }),
      endKey: fc.uint8Array({ maxLength: 16 }),
      epoch: fc.record({ version: u64, confVersion: u64 }),
      peers: fc.array(fc.record({ storeId: u64, peerId: u64 }), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(region, (r) => {
        const back = regionFromWire(RegionMeta.decode(RegionMeta.encode(regionToWire(r)).finish()));
        expect({ ...back, startKey: [...back.startKey], endKey: [...back.endKey] }).toEqual({
          ...r,
          startKey: [...r.startKey],
          endKey: [...r.endKey],
        });
      }),
    );
  });

  it("round-trips store statuses, and reads a liveness it does not know as unknown", () => {
    for (const liveness of ["up", "disconnected", "down"] as const) {
      const s: StoreStatus = { storeId: MAX_UINT64, regionNum: 1n, leaderNum: 2n, capacity: 3n, available: 4n, lastHeartbeatMs: 5n, liveness };
      expect(storeStatusFromWire(WireStoreStatus.decode(WireStoreStatus.encode(storeStatusToWire(s)).finish()))).toEqual(s);
    }
    const wire = storeStatusToWire({ storeId: 1n, regionNum: 0n, leaderNum: 0n, capacity: 0n, available: 0n, lastHeartbeatMs: 0n, liveness: "up" });
    expect(storeStatusFromWire({ ...wire, liveness: 9 as WireStoreStatus["liveness"] }).liveness).toBe("unknown");
  });

  it("maps operation kinds both ways, and a type it does not know to unknown", () => {
    const op = { regionId: 1n, sourcePeerId: 2n, targetPeerId: 3n };
    for (const kind of ["none", "leader-transfer"] as const) expect(operationFromWire(operationToWire({ ...op, kind })).kind).toBe(kind);
    expect(operationToWire({ ...op, kind: "leader-transfer" }).type).toBe(SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER);
    expect(operationFromWire({ ...op, type: 7 as SchedulerOperationType }).kind).toBe("unknown");
    expect(() => operationToWire({ ...op, kind: "unknown" })).toThrow(RangeError);
  });

  it("round-trips members with and without a leader", () => {
    const a = { name: "pd-1", advertiseAddr: "127.0.0.1:2379", isLeader: true };
    const b = { name: "pd-2", advertiseAddr: "127.0.0.1:3379", isLeader: false };
    expect(membersFromWire(membersToWire({ members: [a, b], leader: a }))).toEqual({ members: [a, b], leader: a });
    expect(membersFromWire(membersToWire({ members: [b], leader: undefined }))).toEqual({ members: [b], leader: undefined });
  });
});

describe("PD error encoding", () => {
  it("decodes every code the server can send, with its status and (for NOT_LEADER) the leader", () => {
    for (const code of PD_ERROR_CODES) {
      const sent = encodePdError(code, "why", "10.0.0.1:2379");
      const got = decodePdError({ code: sent.code, metadata: sent.metadata });
      expect(got.code, code).toBe(code);
      expect(got.status, code).toBe(sent.code);
      expect(got.leaderAddr, code).toBe(code === "NOT_LEADER" ? "10.0.0.1:2379" : undefined);
    }
    expect(encodePdError("PERMISSION_DENIED", "cn").code).toBe(status.PERMISSION_DENIED);
    expect(encodePdError("STALE_EPOCH", "x").code).toBe(status.FAILED_PRECONDITION);
  });

  it("reads a code it does not know (a newer PD), or none, as no code", () => {
    const md = new Metadata();
    md.set("pd-error-code", "SOMETHING_NEW");
    expect(decodePdError({ code: status.INTERNAL, metadata: md }).code).toBeUndefined();
    expect(decodePdError({ code: status.UNAVAILABLE, metadata: new Metadata() })).toEqual({
      status: status.UNAVAILABLE,
      code: undefined,
      leaderAddr: undefined,
    });
  });
});
