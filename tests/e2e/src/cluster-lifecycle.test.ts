import { join } from "node:path";
import { loadConfig, type RaftConfig } from "@nokv/nokv-config";
import { createPdAdapter, type PdAdapter, type PdAdapterCall } from "@nokv/pd-adapter";
import { createPdClient, GrpcStatus, PdClientError, type PdClient, type PdClientOptions, type StoreStats } from "@nokv/pd-client";
import { afterEach, describe, expect, it } from "vitest";
import { createCleanup } from "./harness/cleanup.js";
import { type PdProcess, REPO_ROOT, startPdProcess, tempWorkdir } from "./harness/pd-process.js";
import { key, region, regionFromConfig, show } from "./harness/regions.js";

// Bootstrap ids of raft_config.example.json are small (regions 1-2, peers
// 101-203): PD hands out ids above them, as a deployment would configure it.
const ID_START = 1000n;

const cleanup = createCleanup();
afterEach(() => cleanup.run());

/** A simulated NoKV store: its adapter and the PD failures the adapter reported. */
interface SimStore {
  readonly storeId: bigint;
  readonly adapter: PdAdapter;
  readonly errors: Array<{ call: PdAdapterCall; err: unknown }>;
}

async function startPd(workdir: string): Promise<PdProcess> {
  const pd = await startPdProcess(["--addr", "127.0.0.1:0", "--workdir", workdir, "--id-start", ID_START.toString(), "--log-level", "warn"]);
  cleanup.add(() => pd.stop("SIGKILL"));
  return pd;
}

function newClient(pd: PdProcess, extra: Omit<PdClientOptions, "addr"> = {}): PdClient {
  const client = createPdClient({ addr: pd.addr, timeoutMs: 5000, ...extra });
  cleanup.add(() => client.close());
  return client;
}

function newStore(pd: PdProcess, storeId: bigint): SimStore {
  const errors: SimStore["errors"] = [];
  const adapter = createPdAdapter({ addr: pd.addr, timeoutMs: 5000, onError: (call, err) => errors.push({ call, err }) });
  cleanup.add(() => adapter.close());
  return { storeId, adapter, errors };
}

/** What a store reports about itself, derived from the config's bootstrap layout. */
function bootstrapStats(cfg: RaftConfig, storeId: bigint): StoreStats {
  return {
    storeId,
    regionNum: BigInt(cfg.regions.filter((r) => r.peers.some((p) => p.storeId === storeId)).length),
    leaderNum: BigInt(cfg.regions.filter((r) => r.leaderStoreId === storeId).length),
    capacity: 64n << 30n,
    available: 48n << 30n,
  };
}

function codeOf(err: unknown): unknown {
  return err instanceof PdClientError ? { code: err.code, status: err.status } : err;
}

describe("a three-store cluster driven through pd-client and pd-adapter", () => {
  it("bootstraps from raft_config, routes, splits, rebalances leaders and survives kill -9", async () => {
    const { dir: workdir, cleanup: removeWorkdir } = await tempWorkdir();
    cleanup.add(removeWorkdir);
    let pd = await startPd(workdir);
    expect(pd.stdout.find((l) => l.startsWith("PD-lite restored "))).toMatch(
      new RegExp(`^PD-lite restored 0 region\\(s\\); allocator starts: id=${ID_START} ts=\\d+$`),
    );

    // --- bootstrap: each store heartbeats itself, the leader of each region reports it.
    const cfg = await loadConfig(join(REPO_ROOT, "raft_config.example.json"));
    expect(cfg.stores.map((s) => s.storeId)).toEqual([1n, 2n, 3n]);
    expect(cfg.regions.map((r) => r.id)).toEqual([1n, 2n]);
    const stores = new Map(cfg.stores.map((s) => [s.storeId, newStore(pd, s.storeId)]));
    const store = (id: bigint): SimStore => stores.get(id)!;
    for (const s of stores.values()) {
      // No region is known yet, so no store can be asked to give up a leader.
      expect(await s.adapter.submitStoreHeartbeat(bootstrapStats(cfg, s.storeId))).toBe(0);
    }
    for (const rc of cfg.regions) {
      expect(await store(rc.leaderStoreId).adapter.submitRegionHeartbeat(regionFromConfig(rc))).toBe(true);
    }

    // --- routing through the client's route cache.
    const gateway = newClient(pd);
    const r1 = regionFromConfig(cfg.regions[0]!);
    const r2 = regionFromConfig(cfg.regions[1]!);
    expect(show(await gateway.getRegionByKey(key("a")))).toEqual(show(r1));
    expect(show(await gateway.getRegionByKey(key("")))).toEqual(show(r1));
    expect(show(await gateway.getRegionByKey(key("m")))).toEqual(show(r2));
    expect(show(await gateway.getRegionByKey(key("x")))).toEqual(show(r2));
    const before = gateway.stats();
    expect((await gateway.getRegionByKey(key("zzz")))?.id).toBe(2n); // same range as "x": a cache hit
    expect((await gateway.getRegionByKey(key("b")))?.id).toBe(1n);
    expect(gateway.stats().regionRpcs).toBe(before.regionRpcs);
    expect(gateway.stats().routeCacheHits).toBe(before.routeCacheHits + 2);

    // Gateways that cached region 2 before the split, one per way of getting un-stale.
    let clockMs = 0;
    const TTL_MS = 60_000;
    const byRegion = newClient(pd);
    const byKey = newClient(pd);
    const byExpiry = newClient(pd, { routeCache: { ttlMs: TTL_MS, ttlJitterMs: 0 }, nowMs: () => clockMs });
    const byBypass = newClient(pd);
    for (const gw of [byRegion, byKey, byExpiry, byBypass]) expect((await gw.getRegionByKey(key("x")))?.id).toBe(2n);

    // --- split region 2 ["m", "") at "t": the child's heartbeat arrives first.
    const ids = await gateway.allocId(4n);
    expect(ids.firstId).toBeGreaterThanOrEqual(ID_START);
    expect(ids.count).toBe(4n);
    const childId = ids.firstId;
    const childPeers = [1n, 2n, 3n].map((storeId, i) => ({ storeId, peerId: ids.firstId + 1n + BigInt(i) }));
    const child = region({ id: childId, start: "t", end: "", version: r2.epoch.version + 1n, peers: childPeers });
    const parent = region({ id: 2n, start: "m", end: "t", version: r2.epoch.version + 1n, peers: r2.peers });

    expect(await store(1n).adapter.submitRegionHeartbeat(child)).toBe(true);
    // The child replaced the parent it overlaps: until the parent reports, "n" has no region.
    expect(show(await gateway.getRegionByKey(key("x"), { bypassCache: true }))).toEqual(show(child));
    expect(await gateway.getRegionByKey(key("n"), { bypassCache: true })).toBeUndefined();
    expect(await store(1n).adapter.submitRegionHeartbeat(parent)).toBe(true);
    expect(show(await gateway.getRegionByKey(key("n"), { bypassCache: true }))).toEqual(show(parent));
    expect(show(await gateway.getRegionByKey(key("s"), { bypassCache: true }))).toEqual(show(parent));
    expect(show(await gateway.getRegionByKey(key("t"), { bypassCache: true }))).toEqual(show(child));

    // A late heartbeat of the pre-split parent is stale, for the client and for the adapter.
    await expect(gateway.regionHeartbeat(r2)).rejects.toSatisfy(
      (err) => err instanceof PdClientError && err.code === "STALE_EPOCH" && err.status === GrpcStatus.FAILED_PRECONDITION,
    );
    expect(await store(1n).adapter.submitRegionHeartbeat(r2)).toBe(false);
    expect(store(1n).errors.map((e) => [e.call, codeOf(e.err)])).toEqual([
      ["RegionHeartbeat", { code: "STALE_EPOCH", status: GrpcStatus.FAILED_PRECONDITION }],
    ]);
    store(1n).errors.length = 0;
    // ...and a region overlapping the newer child with an older version is refused as an overlap.
    await expect(
      gateway.regionHeartbeat(region({ id: 999_999n, start: "u", end: "v", version: 1n, peers: [{ storeId: 1n, peerId: 999_998n }] })),
    ).rejects.toSatisfy((err) => err instanceof PdClientError && err.code === "RANGE_OVERLAP");
    expect(show(await gateway.getRegionByKey(key("u"), { bypassCache: true }))).toEqual(show(child));

    // --- the cached route for "x" is stale until invalidated or expired.
    for (const gw of [byRegion, byKey, byExpiry, byBypass]) {
      const rpcs = gw.stats().regionRpcs;
      expect(show(await gw.getRegionByKey(key("x")))).toEqual(show(r2)); // stale, from the cache
      expect(gw.stats().regionRpcs).toBe(rpcs);
    }
    expect(byRegion.invalidateRegion(2n)).toBe(true);
    expect(show(await byRegion.getRegionByKey(key("x")))).toEqual(show(child));
    expect(show(await byRegion.getRegionByKey(key("n")))).toEqual(show(parent));

    expect(byKey.invalidateKey(key("x"))).toBe(true);
    expect(show(await byKey.getRegionByKey(key("x")))).toEqual(show(child));

    clockMs += TTL_MS - 1;
    expect(show(await byExpiry.getRegionByKey(key("x")))).toEqual(show(r2)); // not yet expired (and the read slides the TTL)
    clockMs += TTL_MS - 1;
    expect(show(await byExpiry.getRegionByKey(key("x")))).toEqual(show(r2)); // read a TTL ago: still cached
    clockMs += TTL_MS;
    expect(show(await byExpiry.getRegionByKey(key("x")))).toEqual(show(child)); // unread for a TTL: expired

    expect(show(await byBypass.getRegionByKey(key("x"), { bypassCache: true }))).toEqual(show(child));
    const rpcs = byBypass.stats().regionRpcs;
    expect(show(await byBypass.getRegionByKey(key("x")))).toEqual(show(child)); // the bypass refreshed the cache
    expect(byBypass.stats().regionRpcs).toBe(rpcs);

    // --- leader rebalance: store 1 leads far more regions than store 3.
    const load: Record<string, bigint> = { "1": 12n, "2": 2n, "3": 1n };
    expect(await store(2n).adapter.submitStoreHeartbeat({ storeId: 2n, regionNum: 3n, leaderNum: load["2"]! })).toBe(0);
    expect(await store(3n).adapter.submitStoreHeartbeat({ storeId: 3n, regionNum: 3n, leaderNum: load["3"]! })).toBe(0);
    expect(await store(1n).adapter.submitStoreHeartbeat({ storeId: 1n, regionNum: 3n, leaderNum: load["1"]! })).toBe(1);
    // Region 1 (first in key order, first peer on store 1) moves from store 1's peer to store 3's.
    expect(store(1n).adapter.plan()).toEqual([{ type: "leader-transfer", regionId: 1n, sourcePeerId: 101n, targetPeerId: 103n }]);
    expect(store(1n).adapter.plan()).toEqual([]);
    expect(store(2n).adapter.plan()).toEqual([]);
    expect(store(3n).adapter.plan()).toEqual([]);
    for (const s of stores.values()) expect(s.errors).toEqual([]);

    // Everything handed out before the crash.
    const tsBefore = await Promise.all(Array.from({ length: 20 }, () => gateway.getTimestamp()));
    const tsRun = await gateway.getTimestamps(100n);
    const maxTsBefore = tsRun.first + tsRun.count - 1n;
    for (const ts of tsBefore) expect(ts).toBeLessThan(tsRun.first);
    const lastIds = await gateway.allocId(50n);
    const maxIdBefore = lastIds.firstId + lastIds.count - 1n;
    expect(lastIds.firstId).toBeGreaterThan(ids.firstId + 3n);

    // --- kill -9 and restart on the same workdir.
    expect(await pd.stop("SIGKILL")).toBe("SIGKILL");
    for (const s of stores.values()) s.adapter.close();
    pd = await startPd(workdir);
    expect(pd.stdout.find((l) => l.startsWith("PD-lite restored "))).toMatch(/^PD-lite restored 3 region\(s\); /);

    const after = newClient(pd, { routeCache: false });
    expect(show(await after.getRegionByKey(key("a")))).toEqual(show(r1));
    expect(show(await after.getRegionByKey(key("n")))).toEqual(show(parent));
    expect(show(await after.getRegionByKey(key("x")))).toEqual(show(child));
    // The epochs survived too: the pre-split parent is still stale.
    await expect(after.regionHeartbeat(r2)).rejects.toSatisfy((err) => err instanceof PdClientError && err.code === "STALE_EPOCH");

    const nextIds = await after.allocId(3n);
    expect(nextIds.firstId).toBeGreaterThan(maxIdBefore);
    const nextTs = await after.getTimestamp();
    expect(nextTs).toBeGreaterThan(maxTsBefore);

    // --- and carry on: split the child again at "w" with fresh stores.
    const restarted = new Map([1n, 2n, 3n].map((id) => [id, newStore(pd, id)]));
    const grandchild = region({
      id: nextIds.firstId,
      start: "w",
      end: "",
      version: child.epoch.version + 1n,
      peers: [{ storeId: 1n, peerId: nextIds.firstId + 1n }, { storeId: 2n, peerId: nextIds.firstId + 2n }],
    });
    const shrunk = region({ id: childId, start: "t", end: "w", version: child.epoch.version + 1n, peers: childPeers });
    expect(await restarted.get(1n)!.adapter.submitRegionHeartbeat(grandchild)).toBe(true);
    expect(await restarted.get(1n)!.adapter.submitRegionHeartbeat(shrunk)).toBe(true);
    expect(show(await after.getRegionByKey(key("x")))).toEqual(show(grandchild));
    expect(show(await after.getRegionByKey(key("u")))).toEqual(show(shrunk));
    for (const s of restarted.values()) expect(s.errors).toEqual([]);
  });
});
