import { request } from "node:http";
import { type Client, credentials, type ServiceError, status } from "@grpc/grpc-js";
import type { StoreHeartbeat } from "@nokv/pd-model";
import {
  PDClient,
  PDSchedulingClient,
  regionHeartbeatToWire,
  type SchedulerOperation,
  storeHeartbeatToWire,
} from "@nokv/pd-proto";
import { openLocalFileStore } from "@nokv/pd-storage";
import { useTempDirs } from "@nokv/testkit";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createPdServer, type PdServer, type PdServerOptions } from "./index.js";
import { call } from "./testing/grpc-call.js";

const silent = pino({ level: "silent" });
const servers: PdServer[] = [];
const clients: Client[] = [];
const tempDirs = useTempDirs("pd-sched");
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

/** A unary call of a generated client (pd-server's test helper), typed by its answer. */
const rpc = <Res>(c: Client, method: string, req: unknown): Promise<Res> => call<unknown, Res>(c, method, req);

async function start(opts: PdServerOptions = {}) {
  let now = 1_000_000;
  const server = await createPdServer({
    addr: "127.0.0.1:0",
    statusAddr: "127.0.0.1:0",
    logger: silent,
    clock: { nowMs: () => 1_700_000_000_000 + now, monotonicMs: () => now },
    liveness: { disconnectedAfterMs: 20_000, downAfterMs: 60_000 },
    ...opts,
  });
  servers.push(server);
  const pd = new PDClient(server.address, credentials.createInsecure());
  const sched = new PDSchedulingClient(server.address, credentials.createInsecure());
  clients.push(pd, sched);
  const http = (path: string, method = "GET") =>
    new Promise<{ status: number; json: any; text: string }>((resolve, reject) => {
      const req = request(`http://${server.statusAddress}${path}`, { method }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, text });
        });
      });
      req.on("error", reject);
      req.end();
    });
  return { server, pd, sched, http, advance: (ms: number) => (now += ms) };
}

const ALL = ["leader-transfer", "add-peer", "add-learner", "promote-learner", "remove-peer"] as const;
const storeHb = (pd: PDClient, storeId: bigint, extra: Partial<StoreHeartbeat> = {}) =>
  rpc<{ operations: SchedulerOperation[] }>(pd, "storeHeartbeat", storeHeartbeatToWire({ storeId, regionNum: 1n, leaderNum: 1n, capacity: 1n << 40n, available: 1n << 39n, capabilities: ALL, ...extra }));

/** Region `id` on the given stores, led by the first, reporting its peers' state. */
async function regionHb(pd: PDClient, id: bigint, stores: bigint[], start: string, end: string) {
  const peers = stores.map((s) => ({ storeId: s, peerId: id * 10n + s }));
  await rpc(pd, "regionHeartbeat", regionHeartbeatToWire({
    region: { id, startKey: Buffer.from(start), endKey: Buffer.from(end), epoch: { version: 1n, confVersion: 1n }, peers },
    leaderPeerId: peers[0]!.peerId,
    approximateSize: 96n << 20n,
    learnerPeerIds: [],
    pendingPeers: [],
    downPeers: [],
  }));
}

describe("scheduling control over gRPC (pb.PDScheduling)", () => {
  it("lists operators in flight with their steps, then in the history once they end", async () => {
    const { pd, sched, advance } = await start({ operators: { addPeerTimeoutMs: 60_000, addPeerTimeoutPerMiBMs: 1 } });
    for (const s of [1n, 2n, 3n]) await storeHb(pd, s);
    await regionHb(pd, 5n, [1n, 2n], "", "");
    const ops = (await storeHb(pd, 1n)).operations;
    expect(ops.map((o) => [o.type, o.targetStoreId])).toEqual([[3, 3n]]);
    const listed = await rpc<{ operators: any[] }>(sched, "listOperators", {});
    expect(listed.operators).toEqual([
      expect.objectContaining({
        regionId: 5n,
        kind: "make-up-replica",
        priority: "high",
        state: 2,
        steps: [`add learner ${ops[0]!.targetPeerId} on store 3`, `promote learner ${ops[0]!.targetPeerId} on store 3`],
        currentStep: 0,
      }),
    ]);
    // The add never shows up: the step times out (store 3 heartbeats first, so it is up).
    advance(60_000);
    for (const s of [3n, 2n, 1n]) await storeHb(pd, s);
    expect((await rpc<{ operators: unknown[] }>(sched, "listOperators", {})).operators.length).toBeLessThanOrEqual(1);
    const history = await rpc<{ operators: any[] }>(sched, "listOperators", { history: true });
    expect(history.operators[0]).toMatchObject({ regionId: 5n, state: 4, reason: expect.stringMatching(/did not take effect in time/) });
  });

  it("pauses and resumes schedulers by full or short name; unknown names are INVALID_ARGUMENT", async () => {
    const { sched } = await start();
    expect((await rpc<{ schedulers: unknown[] }>(sched, "listSchedulers", {})).schedulers).toEqual([
      { name: "balance-leader-scheduler", paused: false },
      { name: "balance-region-scheduler", paused: false },
      { name: "replica-checker", paused: false },
    ]);
    expect(await rpc(sched, "setSchedulerPaused", { name: "replica", paused: true })).toEqual({ scheduler: { name: "replica-checker", paused: true } });
    const bad = await rpc(sched, "setSchedulerPaused", { name: "hot-region", paused: true }).catch((e: ServiceError) => e);
    expect((bad as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((bad as ServiceError).details).toMatch(/unknown scheduler "hot-region"/);
    expect((await rpc<{ schedulers: { paused: boolean }[] }>(sched, "listSchedulers", {})).schedulers.map((s) => s.paused)).toEqual([false, false, true]);
    await rpc(sched, "setSchedulerPaused", { name: "replica-checker", paused: false });
    expect((await rpc<{ schedulers: { paused: boolean }[] }>(sched, "listSchedulers", {})).schedulers.map((s) => s.paused)).toEqual([false, false, false]);
  });

  it("changes the config, refuses a bad change, and keeps it (and paused schedulers) across a restart", async () => {
    const dir = await tempDirs.make();
    const first = await start({ store: await openLocalFileStore({ dir }) });
    const set = await rpc<{ config: any }>(first.sched, "setSchedulingConfig", {
      maxReplicas: 5,
      storeLimits: [{ storeId: 4n, addPeerPerMin: 30 }],
    });
    expect(set.config).toEqual({
      maxReplicas: 5,
      defaultStoreLimit: { addPeerPerMin: 15, removePeerPerMin: 15 },
      storeLimits: [{ storeId: 4n, limit: { addPeerPerMin: 30, removePeerPerMin: 0 } }],
      pausedSchedulers: [],
    });
    await rpc(first.sched, "setSchedulerPaused", { name: "balance-leader", paused: true });
    for (const req of [{ maxReplicas: 0, storeLimits: [] }, { defaultStoreLimit: { addPeerPerMin: -1, removePeerPerMin: 1 }, storeLimits: [] }, { storeLimits: [] }]) {
      const err = await rpc(first.sched, "setSchedulingConfig", req).catch((e: ServiceError) => e);
      expect((err as ServiceError).code, JSON.stringify(req)).toBe(status.INVALID_ARGUMENT);
    }
    await first.server.close();
    servers.splice(servers.indexOf(first.server), 1);
    const second = await start({ store: await openLocalFileStore({ dir }) });
    const got = await rpc<{ config: any }>(second.sched, "getSchedulingConfig", {});
    expect(got.config).toMatchObject({ maxReplicas: 5, pausedSchedulers: ["balance-leader-scheduler"] });
    expect(got.config.storeLimits).toEqual([{ storeId: 4n, limit: { addPeerPerMin: 30, removePeerPerMin: 0 } }]);
  });
});

describe("scheduling on the status port (read-only, TiKV's paths)", () => {
  it("serves operators, records, schedulers, checker, config and store limits; refuses writes", async () => {
    const { pd, sched, http } = await start();
    for (const s of [1n, 2n, 3n]) await storeHb(pd, s);
    await regionHb(pd, 5n, [1n, 2n], "", "");
    await storeHb(pd, 1n);
    const strings = await http("/pd/api/v1/operators");
    expect(strings.status).toBe(200);
    expect(strings.json).toEqual([expect.stringMatching(/^make-up-replica \{add learner \d+ on store 3, promote learner \d+ on store 3\} \(kind:replica, region:5\(1, 1\)/)]);
    const objects = await http("/pd/api/v1/operators?object=1");
    expect(objects.json[0]).toMatchObject({ desc: "make-up-replica", region_id: "5", kind: "replica", status: "Started", region_epoch: { conf_ver: "1", version: "1" } });
    expect((await http("/pd/api/v1/operators?kind=leader")).json).toEqual([]);
    expect((await http("/pd/api/v1/operators/5?object=1")).json).toMatchObject({ region_id: "5" });
    expect((await http("/pd/api/v1/operators/6")).status).toBe(404);
    expect((await http("/pd/api/v1/operators/records")).json).toEqual([]);
    await rpc(sched, "setSchedulerPaused", { name: "balance-region", paused: true });
    expect((await http("/pd/api/v1/schedulers")).json).toEqual(["balance-leader-scheduler", "balance-region-scheduler", "replica-checker"]);
    expect((await http("/pd/api/v1/schedulers?status=paused")).json).toEqual(["balance-region-scheduler"]);
    expect((await http("/pd/api/v1/checker/replica")).json).toEqual({ paused: false });
    expect((await http("/pd/api/v1/config/replicate")).json).toEqual({ "max-replicas": 3 });
    expect((await http("/pd/api/v1/config/schedule")).json).toMatchObject({ "max-store-down-time": "1m0s", "leader-schedule-limit": 4, "paused-schedulers": ["balance-region-scheduler"] });
    expect((await http("/pd/api/v1/config")).json).toHaveProperty("replication");
    expect((await http("/pd/api/v1/stores/limit")).json).toEqual({
      "1": { "add-peer": 15, "remove-peer": 15 },
      "2": { "add-peer": 15, "remove-peer": 15 },
      "3": { "add-peer": 15, "remove-peer": 15 },
    });
    for (const [path, method] of [["/pd/api/v1/schedulers/balance-region-scheduler", "POST"], ["/pd/api/v1/config", "POST"], ["/pd/api/v1/operators", "DELETE"]] as const) {
      expect((await http(path, method)).status, `${method} ${path}`).toBe(405);
    }
    expect((await http("/pd/api/v1/schedulers?status=disabled")).status).toBe(400);
  });

  it("exports operators by kind and event, store-limit hits and under-replicated regions", async () => {
    const { pd, sched, http } = await start();
    await rpc(sched, "setSchedulingConfig", { defaultStoreLimit: { addPeerPerMin: 1, removePeerPerMin: 1 }, storeLimits: [] });
    for (const s of [1n, 2n, 3n]) await storeHb(pd, s);
    await regionHb(pd, 5n, [1n, 2n], "", "m");
    await regionHb(pd, 6n, [1n, 2n], "m", "");
    await storeHb(pd, 1n);
    const text = (await http("/metrics")).text;
    expect(text).toMatch(/pd_schedule_operators_total\{kind="make-up-replica",event="create"\} 1/);
    expect(text).toMatch(/pd_schedule_store_limit_hits_total\{type="add-peer"\} [1-9]/);
    expect(text).toMatch(/pd_regions_under_replicated 2/);
    expect(text).toMatch(/pd_schedule_operators_in_flight\{kind="make-up-replica"\} 1/);
  });
});
