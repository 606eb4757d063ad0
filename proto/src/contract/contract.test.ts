import { Metadata, status } from "@grpc/grpc-js";
import {
  EXECUTABLE_OPERATION_KINDS,
  MAX_UINT64,
  PD_ERROR_CODES,
  type Region,
  type RegionHeartbeat,
  type SchedulerOperation,
  type StoreHeartbeat,
  type StoreStatus,
} from "@nokv/pd-model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RegionMeta } from "../gen/metapb.js";
import {
  OperatorInfo as WireOperatorInfo,
  RegionHeartbeatRequest,
  SchedulerOperation as WireSchedulerOperation,
  SchedulerOperationType,
  SchedulingConfig as WireSchedulingConfig,
  SetSchedulingConfigRequest,
  StoreHeartbeatRequest,
  StoreStatus as WireStoreStatus,
} from "../gen/pdpb.js";
import {
  membersFromWire,
  membersToWire,
  operationFromWire,
  operationToWire,
  operatorInfoFromWire,
  operatorInfoToWire,
  regionFromWire,
  regionHeartbeatFromWire,
  regionHeartbeatToWire,
  regionToWire,
  schedulingConfigFromWire,
  schedulingConfigToWire,
  schedulingPatchFromWire,
  schedulingPatchToWire,
  storeHeartbeatFromWire,
  storeHeartbeatToWire,
  storeStatsFromWire,
  storeStatsToWire,
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

  it("maps the added kinds both ways, and writes operator id, epoch and target store only when set", () => {
    const op = { regionId: 1n, sourcePeerId: 2n, targetPeerId: 3n };
    for (const kind of EXECUTABLE_OPERATION_KINDS) {
      const full: SchedulerOperation = { ...op, kind, operatorId: MAX_UINT64, regionEpoch: { version: 2n ** 53n + 1n, confVersion: 4n }, targetStoreId: 5n };
      const back = operationFromWire(WireSchedulerOperation.decode(WireSchedulerOperation.encode(operationToWire(full)).finish()));
      expect(back).toEqual(full);
    }
    const legacy: SchedulerOperation = { ...op, kind: "leader-transfer" };
    const wire = WireSchedulerOperation.encode(operationToWire(legacy)).finish();
    expect(Buffer.from(wire).toString("hex")).toBe("0801" + "1001" + "1802" + "2003");
    expect(operationFromWire(WireSchedulerOperation.decode(wire))).toEqual(legacy);
  });

  it("round-trips store heartbeats: capabilities deduplicated, unknown types and NONE dropped, absent stats absent (property)", () => {
    const hb: fc.Arbitrary<StoreHeartbeat> = fc.record(
      {
        storeId: u64,
        regionNum: u64,
        leaderNum: u64,
        capacity: u64,
        available: u64,
        usedSize: u64,
        bytesWritten: u64,
        keysWritten: u64,
        capabilities: fc.uniqueArray(fc.constantFrom(...EXECUTABLE_OPERATION_KINDS), { minLength: 1 }),
      },
      { requiredKeys: ["storeId", "regionNum", "leaderNum", "capacity", "available"] },
    );
    fc.assert(
      fc.property(hb, (h) => {
        expect(storeHeartbeatFromWire(StoreHeartbeatRequest.decode(StoreHeartbeatRequest.encode(storeHeartbeatToWire(h)).finish()))).toEqual(h);
      }),
    );
    const wire = storeHeartbeatToWire({ storeId: 1n, regionNum: 0n, leaderNum: 0n, capacity: 0n, available: 0n, capabilities: ["remove-peer"] });
    wire.capabilities!.operationTypes.push(
      SchedulerOperationType.SCHEDULER_OPERATION_TYPE_NONE,
      99 as SchedulerOperationType,
      SchedulerOperationType.SCHEDULER_OPERATION_TYPE_REMOVE_PEER,
    );
    expect(storeHeartbeatFromWire(wire).capabilities).toEqual(["remove-peer"]);
    // Given and empty: a store that executes nothing. Not given: a Go store, no key at all.
    const none = { storeId: 1n, regionNum: 0n, leaderNum: 0n, capacity: 0n, available: 0n, capabilities: [] };
    expect(storeHeartbeatFromWire(StoreHeartbeatRequest.decode(StoreHeartbeatRequest.encode(storeHeartbeatToWire(none)).finish()))).toEqual(none);
    const go = storeHeartbeatFromWire(StoreHeartbeatRequest.decode(Buffer.from("08011002", "hex")));
    expect(go).toStrictEqual({ storeId: 1n, regionNum: 2n, leaderNum: 0n, capacity: 0n, available: 0n });
    // The stats alone encode as fields 1-5 (what pd-client sends for a Go-style store).
    expect(storeStatsToWire(storeStatsFromWire(StoreHeartbeatRequest.decode(Buffer.from("0801", "hex"))))).toStrictEqual({
      storeId: 1n,
      regionNum: 0n,
      leaderNum: 0n,
      capacity: 0n,
      available: 0n,
    });
  });

  it("round-trips region heartbeat extras; the peer lists travel together, absent means unknown (property)", () => {
    const peer = fc.record({ storeId: u64, peerId: u64 });
    const extras = fc.record(
      {
        leaderPeerId: u64,
        approximateSize: u64,
        approximateKeys: u64,
        bytesWritten: u64,
        keysWritten: u64,
      },
      { requiredKeys: [] },
    );
    const lists = fc.option(
      fc.record({
        downPeers: fc.array(fc.record({ peer, downSeconds: u64 }), { maxLength: 3 }),
        pendingPeers: fc.array(peer, { maxLength: 3 }),
        learnerPeerIds: fc.array(u64, { maxLength: 3 }),
      }),
      { nil: undefined },
    );
    const region: Region = { id: 7n, startKey: new Uint8Array(), endKey: new Uint8Array(), epoch: { version: 1n, confVersion: 1n }, peers: [] };
    fc.assert(
      fc.property(extras, lists, (e, l) => {
        const hb: RegionHeartbeat = { region, ...e, ...l };
        const back = regionHeartbeatFromWire(RegionHeartbeatRequest.decode(RegionHeartbeatRequest.encode(regionHeartbeatToWire(hb)).finish()))!;
        expect({ ...back, region: regionToWire(back.region) }).toEqual({ ...hb, region: regionToWire(region) });
      }),
    );
    const one = regionHeartbeatToWire({ region, learnerPeerIds: [9n] }).peerStatus;
    expect(one).toEqual({ downPeers: [], pendingPeers: [], learnerPeerIds: [9n] });
    expect(regionHeartbeatFromWire({ region: undefined })).toBeUndefined();
  });

  it("round-trips operators, scheduling configs and patches", () => {
    const info = {
      id: MAX_UINT64,
      regionId: 7n,
      kind: "replace-down-replica",
      priority: "high",
      state: "running" as const,
      steps: ["add learner 9 on store 4", "promote learner 9 on store 4", "remove peer 3 on store 1"],
      currentStep: 1,
      regionEpoch: { version: 3n, confVersion: 5n },
      createdAtMs: 1_700_000_000_000n,
      ageMs: 1234n,
      reason: "",
    };
    expect(operatorInfoFromWire(WireOperatorInfo.decode(WireOperatorInfo.encode(operatorInfoToWire(info)).finish()))).toEqual(info);
    for (const state of ["created", "success", "timeout", "cancelled", "replaced"] as const) {
      expect(operatorInfoFromWire(operatorInfoToWire({ ...info, state })).state).toBe(state);
    }
    expect(operatorInfoFromWire({ ...operatorInfoToWire(info), state: 42 as never }).state).toBe("unknown");
    const config = {
      maxReplicas: 5,
      defaultStoreLimit: { addPeerPerMin: 15, removePeerPerMin: 20.5 },
      storeLimits: [{ storeId: 2n, addPeerPerMin: 30 }, { storeId: 2n ** 60n, removePeerPerMin: 1 }],
      pausedSchedulers: ["balance-region-scheduler" as const],
    };
    expect(schedulingConfigFromWire(WireSchedulingConfig.decode(WireSchedulingConfig.encode(schedulingConfigToWire(config)).finish()))).toEqual(config);
    const patch = { maxReplicas: 1, defaultStoreLimit: { addPeerPerMin: 1, removePeerPerMin: 2 }, storeLimits: [{ storeId: 3n, addPeerPerMin: 0 }, { storeId: 4n, removePeerPerMin: 9 }] };
    expect(schedulingPatchFromWire(SetSchedulingConfigRequest.decode(SetSchedulingConfigRequest.encode(schedulingPatchToWire(patch)).finish()))).toEqual(patch);
    expect(schedulingPatchFromWire(SetSchedulingConfigRequest.decode(new Uint8Array()))).toEqual({});
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
