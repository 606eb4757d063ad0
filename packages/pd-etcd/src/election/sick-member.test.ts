import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEtcdClient, etcdRequest } from "../connection/etcd-connection.js";
import { openWatch } from "../connection/watch-stream.js";
import { createLeaderElection } from "./leader-election.js";
import { type EtcdCluster, startEtcdCluster, freshClusterId, waitUntil } from "@nokv/testkit";

// A member that hangs (SIGSTOP) neither refuses nor answers: the case where
// a client pinned to it waits out every deadline. Each member of three is
// paused in turn, so that the keepalive stream, the watch stream and the
// requests meet a paused member whichever one they were on.

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(500) });
    return ((await res.json()) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}

describe("one hung etcd member of three", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcdCluster({ members: 3 });
  }, 60_000);
  afterAll(async () => {
    for (let i = 0; i < 3; i++) etcd?.resume(i);
    await etcd?.stop();
  });

  it("keeps the leader's lease, answers requests elsewhere and moves a silent watch", async () => {
    const id = freshClusterId("sick");
    const client = createEtcdClient(etcd.endpoints, { attemptTimeoutMs: 600 });
    const e = await createLeaderElection({ client, clusterId: id, requestTimeoutMs: 5000 });
    try {
      const deposed: string[] = [];
      e.campaign({ name: "pd-a", advertiseAddr: "pd-a.test:2379", leaseTtlSec: 2, onDeposed: (r) => deposed.push(r) });
      await waitUntil("elected", () => e.isLeader);
      let term = e.term!.createRevision;
      const key = Buffer.from(`/nokv/pd/${id}/probe`);
      const report: string[] = [];
      for (let paused = 0; paused < 3; paused++) {
        let seen = 0n;
        let silentEnds = 0;
        let stopWatching = false;
        const watching = (async () => {
          let from = 1n;
          while (!stopWatching) {
            const w = openWatch(client, {
              key,
              startRevision: from,
              onEvents: (events) => {
                for (const ev of events) {
                  seen = BigInt(ev.kv.mod_revision);
                  from = seen + 1n;
                }
              },
            });
            const stopper = setInterval(() => stopWatching && w.stop(), 20);
            const end = await w.ended;
            clearInterval(stopper);
            if (end.kind === "silent") silentEnds++;
          }
        })();

        const status = await etcdRequest(client, 5000, (o) => client.maintenance.status(o));
        const members = await etcdRequest(client, 5000, (o) => client.cluster.memberList({}, o));
        const raftLeader = members.members.find((m) => m.ID === status.leader)?.name;
        const deposedBefore = deposed.length;
        etcd.pause(paused);
        const t0 = performance.now();
        let notLeaderSince: number | undefined;
        let longestNotLeaderMs = 0;
        let slowestPutMs = 0;
        let written = 0n;
        while (performance.now() - t0 < 3000) {
          const p0 = performance.now();
          const res = await etcdRequest(client, 5000, (o) => client.kv.put({ key, value: Buffer.from(String(p0)) }, o));
          written = BigInt(res.header.revision);
          slowestPutMs = Math.max(slowestPutMs, performance.now() - p0);
          const now = performance.now();
          if (!e.isLeader) notLeaderSince ??= now;
          else if (notLeaderSince !== undefined) {
            longestNotLeaderMs = Math.max(longestNotLeaderMs, now - notLeaderSince);
            notLeaderSince = undefined;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        if (notLeaderSince !== undefined) longestNotLeaderMs = Math.max(longestNotLeaderMs, performance.now() - notLeaderSince);
        // The watch has every write, wherever its stream ended up.
        await waitUntil("the watch to see the last write", () => seen >= written, { timeoutMs: 5000 });
        stopWatching = true;
        etcd.resume(paused);
        await watching;
        await waitUntil("the member to be healthy again", () => healthy(etcd.endpoints[paused]!), { timeoutMs: 10_000 });
        const wasRaftLeader = raftLeader === etcd.names[paused];
        report.push(
          `member ${paused}${wasRaftLeader ? " (raft leader)" : ""}: not leader for ${Math.round(longestNotLeaderMs)} ms at most, ` +
            `slowest put ${Math.round(slowestPutMs)} ms, silent watch ends ${silentEnds}`,
        );
        // Sanity bounds; the printed numbers are the measurement.
        expect(slowestPutMs).toBeLessThan(5000);
        await waitUntil("the member to lead again", () => e.isLeader, { timeoutMs: 10_000 });
        if (!wasRaftLeader) {
          // The term survives the pause of a follower member: nothing in etcd stalls for long.
          expect(deposed.slice(deposedBefore)).toEqual([]);
          expect(e.term?.createRevision).toBe(term);
        } else {
          // etcd 3.4 (before etcd-io/etcd#16822): a raft leader resuming from a pause may revoke
          // leases it believes expired; the term may end ("the leader key was deleted"), and the
          // member, the only candidate, wins the next one.
          term = e.term!.createRevision;
        }
      }
      console.log(`[one etcd member of three paused 3 s each, lease 2 s, attempt 600 ms]\n  ${report.join("\n  ")}`);
    } finally {
      await e.close();
      client.close();
    }
  }, 90_000);
});
