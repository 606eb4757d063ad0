import { createPdClient, type PdClient, type PdClientOptions } from "@nokv/pd-client";
import { waitUntil } from "@nokv/testkit";
import { describe, expect, it } from "vitest";
import { type PdCluster, type PdClusterMember, percentile, tsoOnce, usePdClusters } from "./harness/pd-cluster.js";

// Failover as pd-client's callers see it, with real pd-cli processes on etcd:
// 50 callers of getTimestamp() in a loop, the leader killed with kill -9 again
// and again. What counts: no call rejected, and how long after the new leader's
// first answer the callers are served again. The times are printed, not asserted.

interface Caller {
  readonly client: PdClient;
  last: bigint;
  monotonic: boolean;
  /** performance.now() of every answer since the last reset. */
  firstOkAfter: number | undefined;
}

class Callers {
  readonly callers: Caller[] = [];
  readonly errors: string[] = [];
  served = 0;
  #stop = false;
  #loops: Promise<void>[] = [];

  constructor(endpoints: string[], n: number, options: Partial<PdClientOptions>) {
    for (let i = 0; i < n; i++) {
      this.callers.push({ client: createPdClient({ endpoints, ...options }), last: 0n, monotonic: true, firstOkAfter: undefined });
    }
  }

  start(): void {
    this.#loops = this.callers.map(async (c) => {
      while (!this.#stop) {
        try {
          const ts = await c.client.getTimestamp();
          if (ts <= c.last) c.monotonic = false;
          c.last = ts;
          c.firstOkAfter ??= performance.now();
          this.served++;
        } catch (err) {
          this.errors.push(err instanceof Error ? err.message : String(err));
          await new Promise((r) => setImmediate(r));
        }
      }
    });
  }

  /** Forget who has been served: the next answer of each caller is recorded. */
  resetServed(): void {
    for (const c of this.callers) c.firstOkAfter = undefined;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#loops);
    for (const c of this.callers) c.client.close();
  }
}

/** Polls every live member except `old` until one answers Tso; resolves with when. */
async function firstAnswerOfNewLeader(cluster: PdCluster, old: PdClusterMember): Promise<{ at: number; member: PdClusterMember }> {
  for (;;) {
    for (const m of cluster.members) {
      if (m === old || m.proc === undefined) continue;
      if (await tsoOnce(m.addr, 100).then(() => true, () => false)) return { at: performance.now(), member: m };
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}


interface KillResult {
  readonly newLeaderMs: number;
  readonly allResumedMs: number;
  readonly resumeAfterLeaderMs: number;
}

async function killLeaders(cluster: PdCluster, work: Callers, kills: number): Promise<KillResult[]> {
  const results: KillResult[] = [];
  for (let kill = 0; kill < kills; kill++) {
    const servedBefore = work.served;
    await waitUntil("traffic to flow", () => work.served > servedBefore + 500, 20_000);
    const old = await cluster.leader();
    work.resetServed();
    const killedAt = performance.now();
    await cluster.kill(old);
    work.resetServed(); // answers that raced the kill do not count
    const next = await firstAnswerOfNewLeader(cluster, old);
    await waitUntil("every caller to be served again", () => work.callers.every((c) => c.firstOkAfter !== undefined), 20_000);
    const allResumed = Math.max(...work.callers.map((c) => c.firstOkAfter!));
    results.push({
      newLeaderMs: Math.round(next.at - killedAt),
      allResumedMs: Math.round(allResumed - killedAt),
      resumeAfterLeaderMs: Math.round(allResumed - next.at),
    });
    await cluster.startMember(old); // back as a follower
  }
  return results;
}

function report(title: string, results: KillResult[], rejected: number): void {
  const gaps = results.map((r) => r.resumeAfterLeaderMs);
  console.log(
    [
      `${title}: ${results.length} leader kills (kill -9), ${rejected} rejected calls`,
      `  new leader's first answer after the kill (ms): ${results.map((r) => r.newLeaderMs).join(", ")}`,
      `  last of the callers served again after the kill (ms): ${results.map((r) => r.allResumedMs).join(", ")}`,
      `  callers resumed after the new leader's first answer (ms): ${gaps.join(", ")}`,
      `  -> p50 ${percentile(gaps, 50)} ms, max ${Math.max(...gaps)} ms`,
    ].join("\n"),
  );
}

describe("pd-client failover with default options (3 PDs on etcd)", () => {
  const clusters = usePdClusters();

  it("rejects no call across 10 leader kills; callers resume right after the new leader answers", async () => {
    const cluster = await clusters.start("client-failover");
    await cluster.leader();
    const work = new Callers(cluster.endpoints, 50, {});
    work.start();
    let results: KillResult[];
    try {
      results = await killLeaders(cluster, work, 10);
    } finally {
      await work.stop();
    }
    report("default options, 50 callers", results, work.errors.length);
    expect(work.errors.slice(0, 3)).toEqual([]);
    expect(work.callers.every((c) => c.monotonic)).toBe(true);
  }, 240_000);

  it("resumes as fast with a long timeoutMs (30 s)", async () => {
    const cluster = await clusters.start("client-failover-long");
    await cluster.leader();
    const work = new Callers(cluster.endpoints, 50, { timeoutMs: 30_000 });
    work.start();
    let results: KillResult[];
    try {
      results = await killLeaders(cluster, work, 3);
    } finally {
      await work.stop();
    }
    report("timeoutMs 30000, 50 callers", results, work.errors.length);
    expect(work.errors.slice(0, 3)).toEqual([]);
  }, 120_000);
});
