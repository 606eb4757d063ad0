/**
 * The adapter over a real pd-client against a real grpc-js server on
 * 127.0.0.1:0 (pd-client's in-test fake PD, shared as test code only).
 */
import { createPdClient, GrpcStatus as status, PdClientError } from "@nokv/pd-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createPdAdapter, type PdAdapter, type PdAdapterOptions } from "./adapter.js";
import { startHeartbeatLoop } from "./heartbeat-loop.js";
import type { PdAdapterCall } from "./types.js";
import { SchedulerOperationType, startFakePd, waitUntil, wireRegion, type FakePd, type WireSchedulerOperation as SchedulerOperation } from "@nokv/testkit";

const LT = SchedulerOperationType.SCHEDULER_OPERATION_TYPE_LEADER_TRANSFER;
const ADD_LEARNER = SchedulerOperationType.SCHEDULER_OPERATION_TYPE_ADD_LEARNER;
const PROMOTE = SchedulerOperationType.SCHEDULER_OPERATION_TYPE_PROMOTE_LEARNER;
const REMOVE = SchedulerOperationType.SCHEDULER_OPERATION_TYPE_REMOVE_PEER;
const ADD_PEER = SchedulerOperationType.SCHEDULER_OPERATION_TYPE_ADD_PEER;
const ALL_KINDS = ["leader-transfer", "add-peer", "add-learner", "promote-learner", "remove-peer"] as const;
/** A membership step as PD sends it to a store with capabilities: operator id, epoch, target store. */
const step = (type: SchedulerOperationType, regionId: bigint, peerId: bigint, operatorId: bigint, storeId = 4n): SchedulerOperation => ({
  type,
  regionId,
  sourcePeerId: regionId * 10n + 1n,
  targetPeerId: peerId,
  operatorId,
  regionEpoch: { version: 2n, confVer: 5n },
  targetStoreId: storeId,
});
const transfer = (regionId: bigint, sourcePeerId = 1n, targetPeerId = 2n): SchedulerOperation => ({
  type: LT,
  regionId,
  sourcePeerId,
  targetPeerId,
});

let pd: FakePd;
const open: PdAdapter[] = [];
const releases: Array<() => void> = [];

beforeEach(async () => {
  pd = await startFakePd();
});

afterEach(async () => {
  for (const r of releases.splice(0)) r();
  for (const a of open.splice(0)) a.close();
  await pd.close();
});

function adapter(options: Partial<PdAdapterOptions> = {}): { a: PdAdapter; errors: Array<[PdAdapterCall, unknown]> } {
  const errors: Array<[PdAdapterCall, unknown]> = [];
  const a = createPdAdapter({
    addr: pd.addr,
    clientOptions: { retry: { initialBackoffMs: 1, maxBackoffMs: 5 } },
    onError: (call, err) => errors.push([call, err]),
    ...options,
  });
  open.push(a);
  return { a, errors };
}

describe("pd adapter", () => {
  it("ignores zero ids without an RPC", async () => {
    const { a, errors } = adapter();
    expect(await a.submitStoreHeartbeat({ storeId: 0n, regionNum: 3n })).toBe(0);
    expect(
      await a.submitRegionHeartbeat({ id: 0n, startKey: new Uint8Array(), endKey: new Uint8Array(), epoch: { version: 1n, confVersion: 1n }, peers: [] }),
    ).toBe(false);
    expect(await a.removeRegion(0n)).toBe(false);
    expect(pd.calls).toEqual({ storeHeartbeat: 0, regionHeartbeat: 0, removeRegion: 0, getRegionByKey: 0, allocId: 0, tso: 0 });
    expect(errors).toEqual([]);
  });

  it("forwards heartbeats and removals", async () => {
    const { a } = adapter();
    const region = { id: 4n, startKey: Buffer.from("a"), endKey: Buffer.from("k"), epoch: { version: 2n, confVersion: 3n }, peers: [{ storeId: 1n, peerId: 41n }] };
    expect(await a.submitRegionHeartbeat(region)).toBe(true);
    expect(pd.regions.get(4n)?.epochConfVersion).toBe(3n);
    expect(await a.submitStoreHeartbeat({ storeId: 1n, regionNum: 1n, leaderNum: 1n, capacity: 100n, available: 50n })).toBe(0);
    expect(pd.storeHeartbeats).toEqual([{ storeId: 1n, regionNum: 1n, leaderNum: 1n, capacity: 100n, available: 50n }]);
    expect(await a.removeRegion(4n)).toBe(true);
    expect(await a.removeRegion(4n)).toBe(false);
  });

  it("queues valid leader transfers, drops unknown or malformed ones, and plan() drains", async () => {
    const { a } = adapter();
    pd.operations = [
      transfer(10n, 1n, 2n),
      { type: SchedulerOperationType.SCHEDULER_OPERATION_TYPE_NONE, regionId: 11n, sourcePeerId: 1n, targetPeerId: 2n },
      { type: 42 as SchedulerOperationType, regionId: 12n, sourcePeerId: 1n, targetPeerId: 2n },
      transfer(0n),
      transfer(13n, 0n, 2n),
      transfer(14n, 1n, 0n),
      transfer(2n ** 63n, 5n, 6n),
    ];
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(2);
    expect(a.stats()).toMatchObject({ queued: 2, invalid: 5, enqueued: 2 });
    expect(a.plan()).toEqual([
      { type: "leader-transfer", regionId: 10n, sourcePeerId: 1n, targetPeerId: 2n },
      { type: "leader-transfer", regionId: 2n ** 63n, sourcePeerId: 5n, targetPeerId: 6n },
    ]);
    expect(a.plan()).toEqual([]);
    expect(a.stats().queued).toBe(0);
  });

  it("dedupes an operation identical to one already queued", async () => {
    const { a } = adapter();
    pd.operations = [transfer(10n), transfer(10n), transfer(10n, 1n, 3n)];
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(2);
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(0);
    expect(a.stats()).toMatchObject({ queued: 2, deduplicated: 4 });
    expect(a.plan()).toHaveLength(2);
    // Once drained, the same operation may be queued again.
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(2);
  });

  it("bounds the queue, dropping the oldest and counting the drops", async () => {
    const { a } = adapter({ maxQueuedOperations: 3 });
    pd.operations = [1n, 2n, 3n, 4n, 5n].map((id) => transfer(id));
    await a.submitStoreHeartbeat({ storeId: 1n });
    pd.operations = [6n, 7n].map((id) => transfer(id));
    await a.submitStoreHeartbeat({ storeId: 1n });
    expect(a.stats()).toMatchObject({ queued: 3, dropped: 4, enqueued: 7 });
    expect(a.plan().map((op) => op.regionId)).toEqual([5n, 6n, 7n]);
    // A dropped operation is no longer "already queued".
    pd.operations = [transfer(1n)];
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(1);
  });

  it("a store that lists its capabilities: sends them on every heartbeat and gets each kind typed, with operator id and epoch", async () => {
    const { a } = adapter({ capabilities: ALL_KINDS });
    expect(a.capabilities).toEqual(ALL_KINDS);
    const big = 2n ** 63n + 7n; // ids beyond 2^53 stay exact
    pd.operations = [
      step(ADD_LEARNER, 7n, big, 900n),
      step(PROMOTE, 8n, 84n, 901n),
      step(REMOVE, 9n, 93n, 902n, 3n),
      step(ADD_PEER, 10n, 104n, 903n),
      { ...transfer(11n, 111n, 112n), operatorId: 904n, regionEpoch: { version: 1n, confVer: 1n } },
    ];
    expect(await a.submitStoreHeartbeat({ storeId: 1n, regionNum: 5n, leaderNum: 5n, capacity: 100n, available: 60n, usedSize: 40n, bytesWritten: 7n, keysWritten: 2n })).toBe(5);
    expect(pd.storeHeartbeats[0]).toMatchObject({ storeId: 1n, usedSize: 40n, bytesWritten: 7n, keysWritten: 2n, capabilities: { operationTypes: [1, 2, 3, 4, 5] } });
    const epoch = { version: 2n, confVersion: 5n };
    expect(a.plan()).toEqual([
      { type: "add-learner", regionId: 7n, peerId: big, storeId: 4n, operatorId: 900n, regionEpoch: epoch, leaderPeerId: 71n },
      { type: "promote-learner", regionId: 8n, peerId: 84n, storeId: 4n, operatorId: 901n, regionEpoch: epoch, leaderPeerId: 81n },
      { type: "remove-peer", regionId: 9n, peerId: 93n, storeId: 3n, operatorId: 902n, regionEpoch: epoch, leaderPeerId: 91n },
      { type: "add-peer", regionId: 10n, peerId: 104n, storeId: 4n, operatorId: 903n, regionEpoch: epoch, leaderPeerId: 101n },
      { type: "leader-transfer", regionId: 11n, sourcePeerId: 111n, targetPeerId: 112n, operatorId: 904n, regionEpoch: { version: 1n, confVersion: 1n } },
    ]);
  });

  it("drops membership steps it cannot act on: kinds the store does not list, no operator id, epoch or target store, zero ids", async () => {
    const { a } = adapter({ capabilities: ["leader-transfer", "remove-peer"] });
    const { operatorId: _op, ...noOperator } = step(REMOVE, 9n, 93n, 1n);
    const { regionEpoch: _e, ...noEpoch } = step(REMOVE, 9n, 93n, 2n);
    const { targetStoreId: _t, ...noStore } = step(REMOVE, 9n, 93n, 3n);
    pd.operations = [
      step(ADD_LEARNER, 7n, 74n, 900n), // not listed
      noOperator,
      noEpoch,
      noStore,
      step(REMOVE, 9n, 93n, 0n),
      step(REMOVE, 9n, 0n, 4n),
      step(REMOVE, 0n, 93n, 5n),
      step(REMOVE, 9n, 93n, 6n, 0n),
      step(REMOVE, 9n, 93n, 7n),
    ];
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(1);
    expect(a.stats()).toMatchObject({ invalid: 8, queued: 1 });
    expect(a.plan()).toEqual([expect.objectContaining({ type: "remove-peer", operatorId: 7n })]);
    expect(pd.storeHeartbeats[0]!.capabilities).toEqual({ operationTypes: [1, 5] });
  });

  it("delivers a step PD repeats once, until the store forgets it; remembers a bounded number", async () => {
    const { a } = adapter({ capabilities: ALL_KINDS, maxRememberedOperations: 2 });
    const first = step(ADD_LEARNER, 7n, 74n, 900n);
    pd.operations = [first, first];
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(1);
    const [op] = a.plan();
    // PD sends the step again (it has not seen it take effect yet): not delivered twice.
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(0);
    expect(a.plan()).toEqual([]);
    expect(a.stats().deduplicated).toBe(3);
    // The next step of the same operator is another step.
    pd.operations = [step(PROMOTE, 7n, 74n, 900n)];
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(1);
    a.plan();
    // The store could not carry out the first step: forgotten, PD's next repeat is delivered again.
    expect(a.forgetOperation(op!)).toBe(true);
    expect(a.forgetOperation(op!)).toBe(false);
    pd.operations = [first];
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(1);
    expect(a.plan()).toEqual([op]);
    // Two remembered at most (now the promote step, then the first): delivering a third forgets the oldest.
    pd.operations = [step(REMOVE, 8n, 83n, 901n)];
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(1);
    a.plan();
    pd.operations = [step(PROMOTE, 7n, 74n, 900n), first];
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(1);
    expect(a.plan()).toEqual([expect.objectContaining({ type: "promote-learner", operatorId: 900n })]);
  });

  it("a store without capabilities: the original request, leader transfers only, in their original shape", async () => {
    const { a } = adapter();
    expect(a.capabilities).toBeUndefined();
    pd.operations = [
      // Even if a PD sent an operator id and an epoch, a store without capabilities gets what it always got.
      { ...transfer(11n, 111n, 112n), operatorId: 904n, regionEpoch: { version: 1n, confVer: 1n } },
      step(ADD_LEARNER, 7n, 74n, 900n),
      step(REMOVE, 9n, 93n, 902n),
    ];
    expect(await a.submitStoreHeartbeat({ storeId: 1n, regionNum: 1n })).toBe(1);
    expect(pd.storeHeartbeats[0]!.capabilities).toBeUndefined();
    expect(a.stats().invalid).toBe(2);
    expect(a.plan()).toEqual([{ type: "leader-transfer", regionId: 11n, sourcePeerId: 111n, targetPeerId: 112n }]);
    // Transfers without operator ids are not remembered after plan(): the same one may be queued again, as before.
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(1);
  });

  it("passes what a region's leader reports beside the region through to PD", async () => {
    const { a } = adapter({ capabilities: ALL_KINDS });
    const region = { id: 4n, startKey: Buffer.from("a"), endKey: Buffer.from("k"), epoch: { version: 2n, confVersion: 3n }, peers: [41n, 42n, 43n].map((p, i) => ({ storeId: BigInt(i + 1), peerId: p })) };
    expect(
      await a.submitRegionHeartbeat(region, {
        leaderPeerId: 41n,
        approximateSize: 96n << 20n,
        approximateKeys: 1000n,
        bytesWritten: 5n,
        keysWritten: 1n,
        downPeers: [{ peer: { storeId: 3n, peerId: 43n }, downSeconds: 60n }],
        pendingPeers: [{ storeId: 2n, peerId: 42n }],
        learnerPeerIds: [],
      }),
    ).toBe(true);
    expect(pd.regionHeartbeatRequests[0]).toMatchObject({
      leaderPeerId: 41n,
      approximateSize: 96n << 20n,
      approximateKeys: 1000n,
      bytesWritten: 5n,
      keysWritten: 1n,
      peerStatus: { downPeers: [{ peer: { storeId: 3n, peerId: 43n }, downSeconds: 60n }], pendingPeers: [{ storeId: 2n, peerId: 42n }], learnerPeerIds: [] },
    });
    // A leader that is not one of the region's peers is a bug in the store: refused before any RPC.
    const errors: unknown[] = [];
    const b = createPdAdapter({ client: a.client, onError: (_c, e) => errors.push(e) });
    expect(await b.submitRegionHeartbeat(region, { leaderPeerId: 99n })).toBe(false);
    expect((errors[0] as PdClientError).code).toBe("INVALID_ARGUMENT");
    expect(pd.calls.regionHeartbeat).toBe(1);
    // Without extras: the region alone, as NoKV's Go stores send it.
    expect(await a.submitRegionHeartbeat(region)).toBe(true);
    expect(pd.regionHeartbeatRequests[1]).toMatchObject({ leaderPeerId: undefined, approximateSize: undefined, peerStatus: undefined });
  });

  it("reports failures to onError with the call name and never rejects", async () => {
    const { a, errors } = adapter();
    pd.script("storeHeartbeat", { kind: "fail", status: status.INVALID_ARGUMENT, pdCode: "INVALID_ARGUMENT" });
    pd.script("regionHeartbeat", { kind: "fail", status: status.FAILED_PRECONDITION, pdCode: "STALE_EPOCH" });
    pd.script("removeRegion", { kind: "fail", status: status.INTERNAL, pdCode: "STORAGE" });
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(0);
    expect(await a.submitRegionHeartbeat({ id: 3n, startKey: Buffer.from("a"), endKey: Buffer.from("b"), epoch: { version: 1n, confVersion: 1n }, peers: [] })).toBe(false);
    expect(await a.removeRegion(3n)).toBe(false);
    expect(errors.map(([call, err]) => [call, (err as PdClientError).code])).toEqual([
      ["StoreHeartbeat", "INVALID_ARGUMENT"],
      ["RegionHeartbeat", "STALE_EPOCH"],
      ["RemoveRegion", "STORAGE"],
    ]);
    expect(a.stats().errors).toBe(3);
  });

  it("applies its per-call timeout", async () => {
    const { a, errors } = adapter({ timeoutMs: 150 });
    releases.push(pd.hold("storeHeartbeat"));
    const started = performance.now();
    expect(await a.submitStoreHeartbeat({ storeId: 1n })).toBe(0);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(errors).toHaveLength(1);
    expect((errors[0]![1] as PdClientError).code).toBe("DEADLINE_EXCEEDED");
  });

  it("warns with one line by default, and survives a throwing onError", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const a = createPdAdapter({ addr: pd.addr });
      open.push(a);
      pd.script("removeRegion", { kind: "fail", status: status.INVALID_ARGUMENT, details: "line one\nline two" });
      await a.removeRegion(9n);
      expect(warn).toHaveBeenCalledTimes(1);
      const line = String(warn.mock.calls[0]![0]);
      expect(line).toMatch(/^pd adapter: RemoveRegion failed: /);
      expect(line).not.toContain("\n");
    } finally {
      warn.mockRestore();
    }
    const { a } = adapter({
      onError: () => {
        throw new Error("handler bug");
      },
    });
    pd.script("removeRegion", { kind: "fail", status: status.INVALID_ARGUMENT });
    expect(await a.removeRegion(9n)).toBe(false);
  });

  it("uses a given client without closing it, and ignores calls after close", async () => {
    const client = createPdClient({ addr: pd.addr });
    try {
      const a = createPdAdapter({ client, onError: () => {} });
      pd.regions.set(1n, wireRegion(1n, "a", "z"));
      a.close();
      expect(await a.removeRegion(1n)).toBe(false);
      expect(pd.calls.removeRegion).toBe(0);
      expect(await client.removeRegion(1n)).toBe(true);
    } finally {
      client.close();
    }
  });

  it("lets loop.stop() end a tick at once while PD does not answer, without reporting an error", async () => {
    const { a, errors } = adapter({ timeoutMs: 60_000 });
    releases.push(pd.hold("storeHeartbeat"));
    releases.push(pd.hold("regionHeartbeat"));
    const region = { id: 3n, startKey: Buffer.from("a"), endKey: Buffer.from("b"), epoch: { version: 1n, confVersion: 1n }, peers: [] };
    const results: unknown[] = [];
    const loop = startHeartbeatLoop({
      intervalMs: 60_000,
      tick: async (signal) => {
        results.push(await a.submitStoreHeartbeat({ storeId: 1n }, { signal }));
        results.push(await a.submitRegionHeartbeat(region, undefined, { signal }));
        results.push(await a.removeRegion(3n, { signal }));
      },
    });
    await waitUntil("the heartbeat to reach PD", () => pd.calls.storeHeartbeat === 1, 5000);
    const started = performance.now();
    await loop.stop();
    console.log(`loop.stop() with PD not answering and timeoutMs 60000: ${Math.round(performance.now() - started)} ms`);
    // The tick went on after the abort, but nothing it sent waited for PD.
    expect(results).toEqual([0, false, false]);
    expect(errors).toEqual([]);
    expect(a.stats().errors).toBe(0);
  }, 10_000);

  it("rejects contradictory or nonsense options", () => {
    const client = createPdClient({ addr: pd.addr });
    try {
      expect(() => createPdAdapter({ client, addr: pd.addr })).toThrow(TypeError);
      expect(() => createPdAdapter({ client, maxQueuedOperations: 0 })).toThrow(RangeError);
      expect(() => createPdAdapter({ client, timeoutMs: -1 })).toThrow(RangeError);
      expect(() => createPdAdapter({ client, maxRememberedOperations: 0 })).toThrow(RangeError);
      expect(() => createPdAdapter({ client, capabilities: ["add-peer", "split-region" as "add-peer"] })).toThrow(/"split-region" is not an operation kind/);
      expect(() => createPdAdapter({ client, capabilities: ["add-peer", "add-peer"] })).toThrow(/listed twice/);
      expect(() => createPdAdapter({})).toThrow(PdClientError);
      expect(() => createPdAdapter({ addr: "" })).toThrow(/empty PD address/);
    } finally {
      client.close();
    }
  });
});
