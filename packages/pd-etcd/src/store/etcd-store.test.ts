import { type RegionEdit } from "@nokv/pd-core";
import { MAX_UINT64, type Region } from "@nokv/pd-model";
import { DEFAULT_SCHEDULING_CONFIG, type SchedulingConfig } from "@nokv/pd-model";
import { encodeEdits, encodeSchedulingConfig } from "@nokv/pd-storage";
import { type ContractHarness, storeContract, testRegion } from "@nokv/pd-storage/testing";
import { Etcd3 } from "etcd3";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLeaderElection, type LeaderElection } from "../election/leader-election.js";
import type { LeaderGuard } from "../election/leader-guard.js";
import { clusterKeys } from "../keys/key-layout.js";
import { type EtcdStore, openEtcdStore } from "./etcd-store.js";
import { type EtcdCluster, startEtcdCluster, freshClusterId, useSharedEtcd, waitUntil } from "@nokv/testkit";

const shared = useSharedEtcd();
const freshId = () => freshClusterId("t");
const sortById = (rs: readonly Region[]) => [...rs].sort((a, b) => (a.id < b.id ? -1 : 1));

const harness: ContractHarness = {
  name: "etcd",
  durable: true,
  async fresh() {
    const clusterId = freshId();
    return {
      open: () => openEtcdStore({ endpoints: shared.etcd.endpoints, clusterId }),
      cleanup: async () => {
        await shared.raw.delete().prefix(clusterKeys(clusterId).prefix);
      },
    };
  },
};
storeContract(harness);

describe("etcd store", () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });
  async function open(clusterId: string, extra: Partial<Parameters<typeof openEtcdStore>[0]> = {}): Promise<EtcdStore> {
    const s = await openEtcdStore({ endpoints: shared.etcd.endpoints, clusterId, ...extra } as Parameters<typeof openEtcdStore>[0]);
    closers.push(() => s.close());
    return s;
  }
  async function election(clusterId: string): Promise<LeaderElection> {
    const e = await createLeaderElection({ endpoints: shared.etcd.endpoints, clusterId });
    closers.push(() => e.close());
    return e;
  }

  it("lays keys out under /nokv/pd/<cluster-id>/ with sortable region ids and exact decimal ceilings", async () => {
    const id = freshId();
    const s = await open(id);
    await s.appendRegionEdits([
      { kind: "put", region: testRegion(7n, "a", "b") },
      { kind: "put", region: testRegion(300n, "b", "c") },
    ]);
    await s.saveAllocatorState({ idCurrent: 2n ** 53n + 1n, tsCurrent: MAX_UINT64 });
    const keys = await shared.raw.getAll().prefix(`/nokv/pd/${id}/`).keys();
    expect(keys.sort()).toEqual([
      `/nokv/pd/${id}/alloc`,
      `/nokv/pd/${id}/catalog/commit`,
      `/nokv/pd/${id}/region/00000000000000000007`,
      `/nokv/pd/${id}/region/00000000000000000300`,
    ]);
    expect(await shared.raw.get(`/nokv/pd/${id}/alloc`).string()).toBe(
      '{"id_current":9007199254740993,"ts_current":18446744073709551615}\n',
    );
  });

  it("round-trips regions and ceilings above 2^53 (property)", async () => {
    const u64 = fc.bigInt({ min: 0n, max: MAX_UINT64 });
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 1n, max: MAX_UINT64 }),
        u64,
        u64,
        fc.array(fc.record({ storeId: u64, peerId: u64 }), { maxLength: 4 }),
        fc.uint8Array({ maxLength: 16 }),
        u64,
        u64,
        async (id, version, confVersion, peers, startKey, idCurrent, tsCurrent) => {
          const s = await open(freshId());
          const region: Region = { id, startKey, endKey: new Uint8Array(), epoch: { version, confVersion }, peers };
          await s.appendRegionEdits([{ kind: "put", region }]);
          await s.saveAllocatorState({ idCurrent, tsCurrent });
          const snap = await s.load();
          expect(snap.regions).toEqual([region]);
          expect(snap.allocator).toEqual({ idCurrent, tsCurrent });
        },
      ),
      { numRuns: 15, examples: [[MAX_UINT64, MAX_UINT64, 2n ** 53n + 1n, [{ storeId: MAX_UINT64, peerId: 2n ** 53n }], Uint8Array.of(0, 255), MAX_UINT64, 2n ** 53n + 1n]] },
    );
  });

  it("never lowers a stored ceiling", async () => {
    const id = freshId();
    const s = await open(id);
    await s.saveAllocatorState({ idCurrent: 100n, tsCurrent: 2n ** 60n });
    await s.saveAllocatorState({ idCurrent: 50n, tsCurrent: 2n ** 61n });
    await s.saveAllocatorState({ idCurrent: 0n, tsCurrent: 0n });
    expect((await s.load()).allocator).toEqual({ idCurrent: 100n, tsCurrent: 2n ** 61n });
    // Also against a value another process stored meanwhile.
    await shared.raw.put(`/nokv/pd/${id}/alloc`).value('{"id_current":5000,"ts_current":7000}');
    await s.saveAllocatorState({ idCurrent: 101n, tsCurrent: 1n });
    const again = await open(id);
    expect((await again.load()).allocator).toEqual({ idCurrent: 5000n, tsCurrent: 7000n });
  });

  it("writes a batch larger than one transaction atomically through catalog/pending", async () => {
    const id = freshId();
    const s = await open(id);
    const edits: RegionEdit[] = Array.from({ length: 300 }, (_, i) => ({
      kind: "put",
      region: testRegion(BigInt(i + 1), `k${String(i).padStart(4, "0")}`, `k${String(i).padStart(4, "0")}~`),
    }));
    await s.appendRegionEdits(edits);
    // The append is committed: a reader sees all 300 at once, settled or not.
    const other = await open(id);
    expect((await other.load()).regions).toHaveLength(300);
    await s.appendRegionEdits([{ kind: "delete", regionId: 1n }]); // runs after the batch is settled
    expect(s.stats()).toMatchObject({ pendingAppends: 1, settledBatches: 1, directAppends: 1 });
    expect(await shared.raw.get(`/nokv/pd/${id}/catalog/pending`).exists()).toBe(false);
    expect(await shared.raw.getAll().prefix(`/nokv/pd/${id}/region/`).count()).toBe(299);
    const reread = await open(id);
    expect(sortById((await reread.load()).regions)).toEqual(edits.slice(1).map((e) => (e as { region: Region }).region));
  });

  it("applies a pending batch left by a crashed writer on load, and settles it before the next write", async () => {
    const id = freshId();
    const s = await open(id);
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "a", "m") }]);
    // A writer died after committing a batch, before spreading it over region keys.
    const batch: RegionEdit[] = [
      { kind: "delete", regionId: 1n },
      { kind: "put", region: testRegion(2n, "a", "g", 2n) },
      { kind: "put", region: testRegion(3n, "g", "m", 2n) },
    ];
    await shared.raw.put(`/nokv/pd/${id}/catalog/pending`).value(encodeEdits(batch));
    const next = await open(id);
    const want = [testRegion(2n, "a", "g", 2n), testRegion(3n, "g", "m", 2n)];
    expect(sortById((await next.load()).regions)).toEqual(want);
    await next.appendRegionEdits([{ kind: "put", region: testRegion(4n, "m", "") }]);
    expect(next.stats().settledBatches).toBe(1);
    expect(await shared.raw.get(`/nokv/pd/${id}/catalog/pending`).exists()).toBe(false);
    expect(await shared.raw.getAll().prefix(`/nokv/pd/${id}/region/`).keys()).toEqual([
      `/nokv/pd/${id}/region/00000000000000000002`,
      `/nokv/pd/${id}/region/00000000000000000003`,
      `/nokv/pd/${id}/region/00000000000000000004`,
    ]);
  });

  it("collapses several edits of one region in a batch to the last", async () => {
    const s = await open(freshId());
    await s.appendRegionEdits([
      { kind: "put", region: testRegion(1n, "a", "b") },
      { kind: "delete", regionId: 1n },
      { kind: "put", region: testRegion(1n, "a", "c", 3n) },
      { kind: "put", region: testRegion(2n, "c", "d") },
      { kind: "delete", regionId: 2n },
    ]);
    expect((await s.load()).regions).toEqual([testRegion(1n, "a", "c", 3n)]);
  });

  it("leaves nothing behind when etcd rejects an append (all-or-nothing)", async () => {
    const id = freshId();
    // A budget above etcd's --max-request-bytes (1.5 MiB) lets the request reach etcd, which refuses it.
    const s = await open(id, { maxTxnBytes: 8 * 1024 * 1024 });
    await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "a", "b") }]);
    const huge: Region = { ...testRegion(3n, "x", ""), startKey: new Uint8Array(2 * 1024 * 1024).fill(0x78) };
    await expect(
      s.appendRegionEdits([
        { kind: "delete", regionId: 1n },
        { kind: "put", region: testRegion(2n, "b", "c") },
        { kind: "put", region: huge },
      ]),
    ).rejects.toMatchObject({ code: "STORAGE", message: expect.stringContaining("nothing was written") });
    expect((await s.load()).regions).toEqual([testRegion(1n, "a", "b")]);
    // The store keeps working after the failure.
    await s.appendRegionEdits([{ kind: "put", region: testRegion(2n, "b", "c") }]);
    expect(sortById((await s.load()).regions)).toEqual([testRegion(1n, "a", "b"), testRegion(2n, "b", "c")]);
  });

  it("refuses a batch above the transaction budget before writing anything", async () => {
    const s = await open(freshId(), { maxTxnBytes: 64 * 1024 });
    const edits: RegionEdit[] = Array.from({ length: 200 }, (_, i) => ({
      kind: "put",
      region: { ...testRegion(BigInt(i + 1), "", ""), startKey: new Uint8Array(1024).fill(i % 256), endKey: new Uint8Array() },
    }));
    await expect(s.appendRegionEdits(edits)).rejects.toMatchObject({
      code: "STORAGE",
      message: expect.stringMatching(/transaction budget; nothing was written/),
    });
    expect((await s.load()).regions).toEqual([]);
  });

  it("fails load loudly on a malformed value, naming the key", async () => {
    const id = freshId();
    const s = await open(id);
    await shared.raw.put(`/nokv/pd/${id}/region/00000000000000000009`).value(Buffer.from([1, 2, 3]));
    await expect(s.load()).rejects.toMatchObject({
      code: "STORAGE",
      message: expect.stringContaining(`etcd key /nokv/pd/${id}/region/00000000000000000009`),
    });
    await shared.raw.delete().key(`/nokv/pd/${id}/region/00000000000000000009`);
    await shared.raw.put(`/nokv/pd/${id}/region/00000000000000000008`).value(encodeEdits([{ kind: "put", region: testRegion(7n, "a", "b") }]));
    await expect(s.load()).rejects.toThrow(/region\/00000000000000000008: malformed value: holds region 7/);
    await shared.raw.delete().key(`/nokv/pd/${id}/region/00000000000000000008`);
    await shared.raw.put(`/nokv/pd/${id}/region/12`).value(encodeEdits([{ kind: "put", region: testRegion(12n, "a", "b") }]));
    await expect(s.load()).rejects.toThrow(/etcd key \/nokv\/pd\/.*\/region\/12: not a region key/);
    await shared.raw.delete().key(`/nokv/pd/${id}/region/12`);
    await shared.raw.put(`/nokv/pd/${id}/alloc`).value('{"id_current":-1,"ts_current":1}');
    await expect(s.load()).rejects.toThrow(new RegExp(`etcd key /nokv/pd/${id}/alloc: id_current must be a non-negative integer`));
  });

  it("keeps the scheduling configuration in one key, read with the head, written on top of the revision it saw", async () => {
    const id = freshId();
    const key = `/nokv/pd/${id}/scheduling`;
    const s = await open(id);
    expect((await s.load()).schedulingConfig).toBeUndefined();
    expect((await s.loadHead()).schedulingConfig).toBeUndefined();
    const paused: SchedulingConfig = { ...DEFAULT_SCHEDULING_CONFIG, maxReplicas: 5, pausedSchedulers: ["balance-region-scheduler"] };
    await s.saveSchedulingConfig(paused);
    expect(await shared.raw.get(key).string()).toBe(encodeSchedulingConfig(paused));
    // A member that wins reads it with the head (warm) or with the whole catalog (cold).
    const other = await open(id);
    expect((await other.loadHead()).schedulingConfig).toEqual(paused);
    expect((await other.load()).schedulingConfig).toEqual(paused);

    // An earlier attempt that applied without an answer: the retry finds the value there and writes nothing more.
    const four: SchedulingConfig = { ...paused, maxReplicas: 4 };
    await shared.raw.put(key).value(encodeSchedulingConfig(four));
    const before = (await shared.raw.get(key).exec()).kvs[0]!.mod_revision;
    await s.saveSchedulingConfig(four);
    expect((await shared.raw.get(key).exec()).kvs[0]!.mod_revision).toBe(before);
    // Something else under it: the save lands on top of it.
    await shared.raw.put(key).value(encodeSchedulingConfig({ ...paused, maxReplicas: 7 }));
    await s.saveSchedulingConfig(paused);
    expect((await other.load()).schedulingConfig).toEqual(paused);

    await shared.raw.put(key).value("{");
    await expect(other.loadHead()).rejects.toMatchObject({ code: "STORAGE", message: expect.stringContaining(`etcd key ${key}`) });
    await expect(other.load()).rejects.toMatchObject({ code: "STORAGE", message: expect.stringContaining(`etcd key ${key}`) });
  });

  it("loads a catalog larger than one page at one revision", async () => {
    const id = freshId();
    const s = await open(id, { loadPageSize: 7 });
    const want = Array.from({ length: 50 }, (_, i) => testRegion(BigInt(i + 1), `r${String(i).padStart(3, "0")}`, `r${String(i).padStart(3, "0")}~`));
    await s.appendRegionEdits(want.map((region) => ({ kind: "put", region })));
    expect(sortById((await s.load()).regions)).toEqual(want);
  });

  it("loads region ids however sparse, dense runs and gaps up to 2^64-1 alike, in windows of ids", async () => {
    const id = freshId();
    const s = await open(id, { loadPageSize: 4 });
    const ids = [1n, 2n, 3n, ...Array.from({ length: 40 }, (_, i) => 1000n + BigInt(i)), 2n ** 40n, 2n ** 63n, MAX_UINT64 - 1n, MAX_UINT64];
    const want = ids.map((rid, i): Region => ({
      ...testRegion(1n, `s${String(i).padStart(3, "0")}`, `s${String(i).padStart(3, "0")}~`),
      id: rid,
      peers: [{ storeId: 1n, peerId: BigInt(i + 1) }],
    }));
    await s.appendRegionEdits(want.map((region) => ({ kind: "put", region })));
    expect(sortById((await s.load()).regions)).toEqual(sortById(want));
  });

  it("refuses to write over a catalog another writer changed since its load", async () => {
    const id = freshId();
    const a = await open(id);
    const b = await open(id);
    await a.load();
    await b.load();
    await b.appendRegionEdits([{ kind: "put", region: testRegion(1n, "a", "b") }]);
    await expect(a.appendRegionEdits([{ kind: "put", region: testRegion(2n, "b", "c") }])).rejects.toMatchObject({
      code: "STORAGE",
      message: expect.stringContaining("changed by another writer"),
    });
    expect((await a.load()).regions).toEqual([testRegion(1n, "a", "b")]);
    await a.appendRegionEdits([{ kind: "put", region: testRegion(2n, "b", "c") }]);
    expect((await b.load()).regions).toHaveLength(2);
  });

  it("rejects bad options and wraps an unreachable etcd as STORAGE", async () => {
    await expect(openEtcdStore({ endpoints: shared.etcd.endpoints, clusterId: "a/b" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(openEtcdStore({ endpoints: [], clusterId: "a" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(
      openEtcdStore({ endpoints: ["http://127.0.0.1:1"], clusterId: "a", requestTimeoutMs: 500 }),
    ).rejects.toMatchObject({ code: "STORAGE", message: expect.stringContaining("etcd does not answer") });
    const e = await election("other-cluster");
    await expect(openEtcdStore({ endpoints: shared.etcd.endpoints, clusterId: "a", leaderGuard: e })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  describe("with a leader guard", () => {
    async function leaderWithStore(clusterId: string, name: string, guard?: (e: LeaderElection) => LeaderGuard) {
      const e = await election(clusterId);
      const s = await open(clusterId, { leaderGuard: guard?.(e) ?? e });
      return { e, s, name, addr: `${name}.test:2379` };
    }
    const campaign = (m: { e: LeaderElection; name: string; addr: string }) =>
      m.e.campaign({ name: m.name, advertiseAddr: m.addr });

    it("writes while leader; after resigning gets NOT_LEADER (with the new leader's address) and writes nothing", async () => {
      const id = freshId();
      const a = await leaderWithStore(id, "pd-a");
      const b = await leaderWithStore(id, "pd-b");
      campaign(a);
      await waitUntil("pd-a elected", () => a.e.isLeader);
      campaign(b);
      await a.s.load();
      await a.s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "a", "b") }]);
      await a.s.saveAllocatorState({ idCurrent: 1000n, tsCurrent: 2000n });
      const paused = { maxReplicas: 3, defaultStoreLimit: { addPeerPerMin: 15, removePeerPerMin: 15 }, storeLimits: [], pausedSchedulers: ["replica-checker" as const] };
      await a.s.saveSchedulingConfig(paused);

      await a.e.resign();
      await waitUntil("pd-b elected", () => b.e.isLeader);
      await waitUntil("pd-a sees pd-b", () => a.e.leader?.name === "pd-b");
      await expect(a.s.appendRegionEdits([{ kind: "put", region: testRegion(2n, "b", "c") }])).rejects.toMatchObject({
        code: "NOT_LEADER",
        leaderAddr: "pd-b.test:2379",
      });
      await expect(a.s.saveAllocatorState({ idCurrent: 5000n, tsCurrent: 5000n })).rejects.toMatchObject({ code: "NOT_LEADER" });
      await expect(a.s.saveSchedulingConfig({ ...paused, pausedSchedulers: [] })).rejects.toMatchObject({ code: "NOT_LEADER" });

      // The new leader must load first; it then sees exactly what pd-a acknowledged.
      await expect(b.s.saveAllocatorState({ idCurrent: 1n, tsCurrent: 1n })).rejects.toMatchObject({ code: "UNAVAILABLE" });
      const snap = await b.s.load();
      expect(snap.regions).toEqual([testRegion(1n, "a", "b")]);
      expect(snap.allocator).toEqual({ idCurrent: 1000n, tsCurrent: 2000n });
      expect(snap.schedulingConfig).toEqual(paused);
      await b.s.saveAllocatorState({ idCurrent: 3000n, tsCurrent: 3000n });
    });

    it("fences a deposed leader that has not learned it yet: its writes fail in etcd, nothing is written", async () => {
      const id = freshId();
      const lost: string[] = [];
      // pd-a's guard keeps presenting the fence of its first term, as a leader
      // that has not heard of its deposition would.
      const a = await leaderWithStore(id, "pd-a", (e) => {
        let stale: ReturnType<LeaderGuard["fence"]>;
        return {
          leaderKey: e.leaderKey,
          fence: () => (stale ??= e.fence()),
          leaderAddr: () => e.leaderAddr(),
          fenceLost: (fence, current) => {
            lost.push(`${fence.createRevision}->${current?.name}`);
            e.fenceLost(fence, current);
          },
        };
      });
      const b = await leaderWithStore(id, "pd-b");
      campaign(a);
      await waitUntil("pd-a elected", () => a.e.isLeader);
      const termA = a.e.term!;
      await a.s.load();
      await a.s.saveAllocatorState({ idCurrent: 100n, tsCurrent: 100n });
      campaign(b);

      // The lease is revoked behind pd-a's back (as if it had expired).
      await shared.raw.leaseClient.leaseRevoke({ ID: termA.leaseId });
      // A deposed member stands again at once and could win the vacancy
      // before pd-b; it stops standing here. Its guard still presents the
      // fence of its first term, so its store has learned nothing.
      await a.e.resign();
      await waitUntil("pd-b elected", () => b.e.isLeader);
      await b.s.load();
      await b.s.appendRegionEdits([{ kind: "put", region: testRegion(9n, "x", "y") }]);

      await expect(a.s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "a", "b") }])).rejects.toMatchObject({
        code: "NOT_LEADER",
        leaderAddr: "pd-b.test:2379",
      });
      await expect(a.s.saveAllocatorState({ idCurrent: 10n ** 9n, tsCurrent: 10n ** 9n })).rejects.toMatchObject({
        code: "NOT_LEADER",
      });
      expect(lost[0]).toBe(`${termA.createRevision}->pd-b`);
      const snap = await b.s.load();
      expect(snap.regions).toEqual([testRegion(9n, "x", "y")]);
      expect(snap.allocator).toEqual({ idCurrent: 100n, tsCurrent: 100n });
    });

    it("refuses writes of a term that has not loaded (UNAVAILABLE) and of a follower (NOT_LEADER)", async () => {
      const id = freshId();
      const a = await leaderWithStore(id, "pd-a");
      const b = await leaderWithStore(id, "pd-b");
      campaign(a);
      await waitUntil("pd-a elected", () => a.e.isLeader);
      await b.s.load();
      await expect(a.s.appendRegionEdits([{ kind: "delete", regionId: 1n }])).rejects.toMatchObject({ code: "UNAVAILABLE" });
      await waitUntil("pd-b sees pd-a", () => b.e.leader?.name === "pd-a");
      await expect(b.s.appendRegionEdits([{ kind: "delete", regionId: 1n }])).rejects.toMatchObject({
        code: "NOT_LEADER",
        leaderAddr: "pd-a.test:2379",
      });
    });
  });
});

describe("etcd store on a 3-member etcd", () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster({ members: 3 });
  }, 60_000);
  afterAll(() => cluster?.stop());

  it("keeps reading and writing when a member (the raft leader) is killed", async () => {
    const client = new Etcd3({ hosts: [...cluster.endpoints] });
    const s = await openEtcdStore({ client, clusterId: freshId(), requestTimeoutMs: 3000 });
    try {
      await s.appendRegionEdits([{ kind: "put", region: testRegion(1n, "a", "b") }]);
      await s.saveAllocatorState({ idCurrent: 10n, tsCurrent: 10n });
      // Kill the raft leader: the hardest member to lose.
      const status = await client.maintenance.status();
      const members = (await client.cluster.memberList({})).members;
      const leaderName = members.find((m) => m.ID === status.leader)?.name;
      const victim = cluster.names.indexOf(leaderName ?? "m0");
      await cluster.kill(victim);
      const killedAt = performance.now();

      // Writes may fail while the other two elect a raft leader; each failure is a clean STORAGE.
      await waitUntil(
        "a write to succeed after the kill",
        async () => {
          try {
            await s.appendRegionEdits([{ kind: "put", region: testRegion(2n, "b", "c") }]);
            return true;
          } catch (err) {
            expect(err).toMatchObject({ code: "STORAGE" });
            return false;
          }
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      console.log(`[etcd 3 members] first write after killing the raft leader ${leaderName}: ${Math.round(performance.now() - killedAt)} ms`);
      await s.saveAllocatorState({ idCurrent: 20n, tsCurrent: 20n });
      const snap = await s.load();
      expect(sortById(snap.regions)).toEqual([testRegion(1n, "a", "b"), testRegion(2n, "b", "c")]);
      expect(snap.allocator).toEqual({ idCurrent: 20n, tsCurrent: 20n });
      await cluster.restart(victim);
      await s.appendRegionEdits([{ kind: "put", region: testRegion(3n, "c", "d") }]);
      expect((await s.load()).regions).toHaveLength(3);
    } finally {
      await s.close();
      client.close();
    }
  }, 60_000);
});
