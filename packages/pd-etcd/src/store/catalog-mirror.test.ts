import { performance } from "node:perf_hooks";
import { RegionCatalog } from "@nokv/pd-core";
import { type Region, regionsEqual } from "@nokv/pd-model";
import { afterEach, describe, expect, it } from "vitest";
import { createEtcdClient } from "../connection/etcd-connection.js";
import { clusterKeys } from "../keys/key-layout.js";
import { CatalogMirror } from "./catalog-mirror.js";
import { readHead } from "./catalog-read.js";
import { type EtcdStore, openEtcdStore } from "./etcd-store.js";
import { freshClusterId, useSharedEtcd, waitUntil } from "@nokv/testkit";

const k = (s: string) => new TextEncoder().encode(s);
const KEYS = ["", "b", "d", "f", "h", "k", "m", "p", "s", "v"];

function region(id: bigint, lo: number, hi: number, version: bigint, confVersion = 1n): Region {
  return {
    id,
    startKey: k(KEYS[lo]!),
    endKey: hi >= KEYS.length ? new Uint8Array() : k(KEYS[hi]!),
    epoch: { version, confVersion },
    peers: [{ storeId: 1n, peerId: id * 10n + 1n }],
  };
}

/** A small deterministic random generator, so a failure replays. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function sameCatalog(a: RegionCatalog, regions: readonly Region[]): void {
  a.assertConsistent();
  expect(a.size).toBe(regions.length);
  for (const r of regions) expect(regionsEqual(a.getRegion(r.id)!, r), `region ${r.id}`).toBe(true);
}

describe("catalog mirror (a warm follower's catalog)", () => {
  const shared = useSharedEtcd();
  const closers: Array<() => Promise<unknown> | void> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function setup(maxTxnOps = 128): Promise<{ id: string; writer: EtcdStore; catalog: RegionCatalog; mirror: CatalogMirror; reports: string[] }> {
    const id = freshClusterId("mirror");
    const writer = await openEtcdStore({ endpoints: shared.etcd.endpoints, clusterId: id, maxTxnOps });
    closers.push(() => writer.close());
    await writer.load();
    // The writer's own model, as a leader would run it: its log is the etcd store.
    const catalog = new RegionCatalog({ log: writer, maxBatch: 64 });
    const client = createEtcdClient(shared.etcd.endpoints);
    closers.push(() => client.close());
    const reports: string[] = [];
    const mirror = new CatalogMirror({
      client,
      keys: clusterKeys(id),
      timeoutMs: 5000,
      description: "test mirror",
      pageSize: 7,
      report: (what, err) => {
        reports.push(what);
        if (process.env.DEBUG_MIRROR) console.log(what, err);
      },
    });
    closers.push(() => mirror.close());
    mirror.start();
    await waitUntil("the mirror to load", () => mirror.warm);
    return { id, writer, catalog, mirror, reports };
  }

  it("replays a writer's splits, merges, removals and large batches, and lends a catalog equal to a fresh load", async () => {
    // maxTxnOps 6: most group commits go through catalog/pending and are spread afterwards.
    const { id, catalog, mirror, reports } = await setup(6);
    const next = rng(20261130);
    let version = 1n;
    for (let round = 0; round < 12; round++) {
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) {
        const a = Math.floor(next() * KEYS.length);
        const b = a + 1 + (next() < 0.7 ? 0 : Math.floor(next() * 3));
        const id = BigInt(1 + Math.floor(next() * 12));
        if (next() < 0.15) ops.push(catalog.remove(id));
        else ops.push(catalog.heartbeat(region(id, a, b, (version += 1n))));
      }
      await Promise.allSettled(ops);
    }
    await catalog.flush();
    expect(catalog.size).toBeGreaterThan(3);
    const reader = await openEtcdStore({ endpoints: shared.etcd.endpoints, clusterId: id });
    closers.push(() => reader.close());
    const loaded = (await reader.load()).regions;
    sameCatalog(catalog, loaded); // the writer and etcd agree: the test's own premise

    const head = await readHead({ client: shared.raw, keys: clusterKeys(id), timeoutMs: 5000, description: "t" });
    const lent = await mirror.lend(head, 5000);
    expect(lent).toBeDefined();
    sameCatalog(lent!.catalog, loaded);
    expect(mirror.status).toMatchObject({ state: "lent", loads: 1 });
    expect(reports).toEqual([]);
  });

  it("catches up after a hand-back without reloading, and reloads only when the revision to resume from was compacted", async () => {
    const { id, writer, catalog, mirror, reports } = await setup();
    const keys = clusterKeys(id);
    const ctx = { client: shared.raw, keys, timeoutMs: 5000, description: "t" };
    await catalog.heartbeat(region(1n, 0, 3, 1n));
    let lent = await mirror.lend(await readHead(ctx), 5000);
    expect(lent?.catalog.size).toBe(1);

    // Handed back where it stood; meanwhile another writer moved on.
    mirror.reclaim(lent!.catalog, lent!);
    await catalog.heartbeat(region(1n, 0, 2, 2n));
    await catalog.heartbeat(region(2n, 2, 3, 2n));
    await catalog.flush();
    lent = await mirror.lend(await readHead(ctx), 5000);
    sameCatalog(lent!.catalog, [region(1n, 0, 2, 2n), region(2n, 2, 3, 2n)]);
    expect(mirror.status.loads).toBe(1);

    // Now the history the mirror would resume from is compacted away.
    const position = { revision: lent!.revision, commitRevision: lent!.commitRevision };
    await catalog.heartbeat(region(3n, 3, 4, 3n));
    await catalog.heartbeat(region(3n, 3, 5, 4n));
    await catalog.flush();
    const now = await readHead(ctx);
    await shared.raw.kv.compact({ revision: now.revision.toString(), physical: true });
    mirror.reclaim(lent!.catalog, position);
    await waitUntil("the mirror to reload", () => mirror.status.loads === 2 && mirror.warm);
    expect(reports.join("\n")).toMatch(/compacted/);
    lent = await mirror.lend(await readHead(ctx), 5000);
    sameCatalog(lent!.catalog, [region(1n, 0, 2, 2n), region(2n, 2, 3, 2n), region(3n, 3, 5, 4n)]);
    expect(writer.position?.revision).toBe(now.revision);
  });

  it("stops a long load between two windows when closed", async () => {
    const { id, catalog, mirror: first } = await setup();
    await Promise.all(Array.from({ length: 400 }, (_, i) => catalog.heartbeat({ ...region(BigInt(i + 1), 0, 1, 1n), startKey: k(`z${String(i).padStart(4, "0")}`), endKey: k(`z${String(i).padStart(4, "0")}~`) })));
    await catalog.flush();
    await first.close();
    const client = createEtcdClient(shared.etcd.endpoints);
    closers.push(() => client.close());
    const slow = (onLoaded?: () => void) =>
      new CatalogMirror({ client, keys: clusterKeys(id), timeoutMs: 5000, description: "slow", pageSize: 1, report: () => {}, onLoaded });
    // A whole load, one region per request, timed.
    const t0 = performance.now();
    const whole = slow();
    whole.start();
    await waitUntil("a whole load", () => whole.warm, { timeoutMs: 30_000 });
    const loadMs = performance.now() - t0;
    await whole.close();
    expect(whole.status.regions).toBe(400);
    // Closed right after starting: it does not read the rest first.
    let loaded = false;
    const closing = slow(() => (loaded = true));
    closing.start();
    const t1 = performance.now();
    await closing.close();
    expect(performance.now() - t1).toBeLessThan(loadMs / 2);
    expect(loaded).toBe(false);
    expect(closing.status.state).toBe("closed");
  });

  it("gives up a catch-up it cannot finish in time, and keeps following", async () => {
    const { id, mirror } = await setup();
    const head = await readHead({ client: shared.raw, keys: clusterKeys(id), timeoutMs: 5000, description: "t" });
    expect(await mirror.lend({ revision: head.revision + 100n, commitRevision: head.revision + 100n }, 300)).toBeUndefined();
    expect(mirror.warm).toBe(true);
    expect(await mirror.lend(head, 300, () => false)).toBeUndefined();
    expect((await mirror.lend(head, 300))?.catalog.size).toBe(0);
  });
});
