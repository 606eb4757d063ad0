/**
 * The scheduling calls (`pb.PDScheduling`) and the heartbeat additions
 * against the fake PD: typed answers, exact uint64s, argument checks before
 * any RPC, errors by code, and the leader followed as for `pb.PD`.
 */
import { OperatorState } from "@nokv/pd-proto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPdClient, type PdClient } from "./client.js";
import { startFakePd, type FakePd } from "@nokv/testkit";
import { rejection } from "./testing/rejection.js";

let pd: FakePd;
const fakes: FakePd[] = [];
const open: PdClient[] = [];

beforeEach(async () => {
  pd = await startFakePd();
  fakes.push(pd);
});

afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  for (const f of fakes.splice(0)) await f.close();
});

function client(addr = pd.addr): PdClient {
  const c = createPdClient({ addr, retry: { initialBackoffMs: 1, maxBackoffMs: 5 } });
  open.push(c);
  return c;
}

const big = 2n ** 63n + 1n; // a JSON number or a double would round it

describe("scheduling calls", () => {
  it("lists operators in flight or ended, typed, with exact ids", async () => {
    const op = {
      id: big,
      regionId: big + 1n,
      kind: "replace-down-replica",
      priority: "high",
      state: OperatorState.OPERATOR_STATE_RUNNING,
      steps: ["add learner 9 on store 4", "promote learner 9 on store 4", "remove peer 3 on store 1"],
      currentStep: 1,
      regionEpoch: { version: 2n, confVer: 5n },
      createdAtMs: 1_700_000_000_000n,
      ageMs: 2500n,
      reason: "",
    };
    pd.scheduling.operators = [op];
    pd.scheduling.history = [{ ...op, id: 7n, state: OperatorState.OPERATOR_STATE_TIMEOUT, reason: "step 2 did not take effect in time" }];
    const c = client();
    expect(await c.listOperators()).toEqual([
      {
        id: big,
        regionId: big + 1n,
        kind: "replace-down-replica",
        priority: "high",
        state: "running",
        steps: op.steps,
        currentStep: 1,
        regionEpoch: { version: 2n, confVersion: 5n },
        createdAtMs: 1_700_000_000_000n,
        ageMs: 2500n,
        reason: "",
      },
    ]);
    expect(await c.listOperators({ history: true })).toEqual([expect.objectContaining({ id: 7n, state: "timeout", reason: "step 2 did not take effect in time" })]);
    expect(pd.schedulingCalls.listOperators).toBe(2);
  });

  it("lists, pauses and resumes schedulers; an unknown name is INVALID_ARGUMENT and not retried", async () => {
    const c = client();
    expect((await c.listSchedulers()).map((s) => s.name)).toEqual(["balance-leader-scheduler", "balance-region-scheduler", "replica-checker"]);
    expect(await c.setSchedulerPaused("replica-checker", true)).toEqual({ name: "replica-checker", paused: true });
    expect(pd.scheduling.schedulers[2]!.paused).toBe(true);
    const err = await rejection(c.setSchedulerPaused("hot-region", true));
    expect(err).toMatchObject({ code: "INVALID_ARGUMENT", method: "SetSchedulerPaused" });
    expect(err.message).toMatch(/unknown scheduler "hot-region"/);
    expect(pd.schedulingCalls.setSchedulerPaused).toBe(2);
    expect((await rejection(c.setSchedulerPaused(7 as unknown as string, true))).code).toBe("INVALID_ARGUMENT");
    expect(pd.schedulingCalls.setSchedulerPaused).toBe(2);
  });

  it("reads and changes the configuration; checks the change's types before any RPC", async () => {
    const c = client();
    expect(await c.getSchedulingConfig()).toEqual({ maxReplicas: 3, defaultStoreLimit: { addPeerPerMin: 15, removePeerPerMin: 15 }, storeLimits: [], pausedSchedulers: [] });
    const next = await c.setSchedulingConfig({ maxReplicas: 5, defaultStoreLimit: { addPeerPerMin: 30, removePeerPerMin: 15 }, storeLimits: [{ storeId: big, addPeerPerMin: 0 }] });
    expect(next).toMatchObject({ maxReplicas: 5, defaultStoreLimit: { addPeerPerMin: 30, removePeerPerMin: 15 } });
    expect(pd.schedulingChanges).toEqual([
      { maxReplicas: 5, defaultStoreLimit: { addPeerPerMin: 30, removePeerPerMin: 15 }, storeLimits: [{ storeId: big, addPeerPerMin: 0 }] },
    ]);
    for (const bad of [{ maxReplicas: Number.NaN }, { storeLimits: [{ storeId: -1n }] }, { storeLimits: [{ storeId: 1n, addPeerPerMin: Infinity }] }, { defaultStoreLimit: { addPeerPerMin: 1, removePeerPerMin: "2" as unknown as number } }]) {
      expect((await rejection(c.setSchedulingConfig(bad))).code, JSON.stringify(bad, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))).toBe("INVALID_ARGUMENT");
    }
    expect(pd.schedulingCalls.setSchedulingConfig).toBe(1);
  });

  it("follows a NOT_LEADER redirect to the leader, as for pb.PD", async () => {
    const leader = await startFakePd();
    fakes.push(leader);
    pd.follow(leader.addr);
    const c = client(pd.addr);
    expect(await c.setSchedulerPaused("balance-region-scheduler", true)).toEqual({ name: "balance-region-scheduler", paused: true });
    expect(pd.schedulingCalls.setSchedulerPaused).toBe(1);
    expect(leader.schedulingCalls.setSchedulerPaused).toBe(1);
    expect(leader.scheduling.schedulers[1]!.paused).toBe(true);
    expect(c.stats().leaderRedirects).toBe(1);
  });
});

describe("heartbeat additions", () => {
  it("sends a store's capabilities and extra stats only when given, and refuses bad ones before any RPC", async () => {
    const c = client();
    await c.storeHeartbeat({ storeId: 1n, capabilities: ["leader-transfer", "remove-peer"], usedSize: big, bytesWritten: 5n, keysWritten: 1n });
    expect(pd.storeHeartbeats[0]).toMatchObject({ storeId: 1n, capabilities: { operationTypes: [1, 5] }, usedSize: big, bytesWritten: 5n, keysWritten: 1n });
    await c.storeHeartbeat({ storeId: 1n, capabilities: [] });
    expect(pd.storeHeartbeats[1]!.capabilities).toEqual({ operationTypes: [] });
    await c.storeHeartbeat({ storeId: 1n });
    expect(pd.storeHeartbeats[2]).toMatchObject({ capabilities: undefined, usedSize: undefined, bytesWritten: undefined, keysWritten: undefined });
    for (const bad of [
      { storeId: 1n, capabilities: ["split-region"] },
      { storeId: 1n, capabilities: ["add-peer", "add-peer"] },
      { storeId: 1n, usedSize: -1n },
      { storeId: 1n, keysWritten: 1 },
    ]) {
      expect((await rejection(c.storeHeartbeat(bad as never))).code).toBe("INVALID_ARGUMENT");
    }
    expect(pd.calls.storeHeartbeat).toBe(3);
  });

  it("sends what a region's leader reports, each peer one of the region's", async () => {
    const c = client();
    const region = { id: 4n, startKey: Buffer.from("a"), endKey: Buffer.from("k"), epoch: { version: 2n, confVersion: 3n }, peers: [41n, 42n, 43n].map((p, i) => ({ storeId: BigInt(i + 1), peerId: p })) };
    expect(await c.regionHeartbeat(region, { leaderPeerId: 41n, approximateSize: big, learnerPeerIds: [43n] })).toBe(true);
    expect(pd.regionHeartbeatRequests[0]).toMatchObject({ leaderPeerId: 41n, approximateSize: big, peerStatus: { downPeers: [], pendingPeers: [], learnerPeerIds: [43n] } });
    for (const bad of [
      { leaderPeerId: 99n },
      { learnerPeerIds: [44n] },
      { pendingPeers: [{ storeId: 2n, peerId: 99n }] },
      { downPeers: [{ peer: { storeId: 3n, peerId: 43n }, downSeconds: -1n }] },
      { approximateKeys: 2n ** 64n },
    ]) {
      expect((await rejection(c.regionHeartbeat(region, bad))).code, Object.keys(bad)[0]).toBe("INVALID_ARGUMENT");
    }
    expect(pd.calls.regionHeartbeat).toBe(1);
  });
});
