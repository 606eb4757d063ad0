import { createCluster, isPdError, type LeadershipHost } from "@nokv/pd-core";
import { afterEach, describe, expect, it } from "vitest";
import { createElectedMember, type ElectedMember } from "./elected-member.js";
import { freshClusterId, useSharedEtcd, waitUntil } from "@nokv/testkit";

// The elected member as a server drives it (open, start, serving, close),
// against a real etcd; the host builds plain cluster models.
const host: LeadershipHost = { createCluster: (snapshot, persistence) => createCluster({ snapshot, persistence }) };

describe("elected member", () => {
  const shared = useSharedEtcd();
  const members: ElectedMember[] = [];
  afterEach(async () => {
    for (const m of members.splice(0)) await m.close();
  });

  async function member(clusterId: string, extra: Partial<Parameters<typeof createElectedMember>[0]> = {}): Promise<ElectedMember> {
    const m = await createElectedMember({ endpoints: shared.etcd.endpoints, clusterId, ...extra });
    members.push(m);
    expect(await m.open(host)).toBeUndefined();
    return m;
  }

  it("serves while it leads, redirects while it follows, and hands over on close", async () => {
    const id = freshClusterId("m");
    const roles: string[] = [];
    const a = await member(id, { onRoleChange: (role, self) => roles.push(`${self.name} ${role}`) });
    await a.start("127.0.0.1:1001");
    // Named after the address it advertises, which defaults to the bound one.
    expect(a.name).toBe("127.0.0.1:1001");
    expect(a.advertiseAddr).toBe("127.0.0.1:1001");
    expect(a.leaseTtlSec).toBe(2);
    await waitUntil("a serving", () => a.isServing);
    expect(roles).toEqual(["127.0.0.1:1001 leader"]);
    const ids = await a.serving().allocId(10n);

    const b = await member(id, { name: "pd-b", advertiseAddr: "pd-b.test:2379" });
    await b.start("127.0.0.1:1002");
    expect(b.name).toBe("pd-b");
    expect(b.advertiseAddr).toBe("pd-b.test:2379");
    await waitUntil("b sees a", () => b.election.leader?.advertiseAddr === "127.0.0.1:1001");
    let redirect: unknown;
    try {
      b.serving();
    } catch (err) {
      redirect = err;
    }
    expect(isPdError(redirect, "NOT_LEADER") && redirect.leaderAddr).toBe("127.0.0.1:1001");
    // Both registered: the list is refreshed from etcd every second.
    await waitUntil("both listed", () => a.members().members.length === 2, { timeoutMs: 5000 });
    expect(a.members()).toEqual({
      members: [
        { name: "127.0.0.1:1001", advertiseAddr: "127.0.0.1:1001", isLeader: true },
        { name: "pd-b", advertiseAddr: "pd-b.test:2379", isLeader: false },
      ],
      leader: { name: "127.0.0.1:1001", advertiseAddr: "127.0.0.1:1001", isLeader: true },
    });

    // close() resigns: b takes over without waiting for the lease, above every id a handed out.
    await a.close();
    expect(a.isServing).toBe(false);
    await waitUntil("b serving", () => b.isServing, { timeoutMs: 3000 });
    expect((await b.serving().allocId(1n)).first).toBeGreaterThan(ids.first + ids.count - 1n);
  });

  it("keeps followers warm: a follower that wins serves the catalog it replayed, without reading it again, with the scheduling configuration and no operators", async () => {
    const id = freshClusterId("warm");
    const logs = new Map<string, Array<{ fields: Record<string, unknown>; msg: string }>>();
    const logOf = (name: string) => {
      const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
      logs.set(name, lines);
      const push = (fields: object, msg: string) => void lines.push({ fields: fields as Record<string, unknown>, msg });
      return { info: push, warn: push, error: push };
    };
    const a = await member(id, { name: "pd-a", log: logOf("pd-a") });
    await a.start("127.0.0.1:1101");
    await waitUntil("a serving", () => a.isServing);
    const b = await member(id, { name: "pd-b", log: logOf("pd-b") });
    await b.start("127.0.0.1:1102");
    const enc = (s: string) => new TextEncoder().encode(s);
    for (let i = 1n; i <= 40n; i++) {
      await a.serving().regionHeartbeat(
        {
          id: i,
          startKey: enc(`k${String(i).padStart(3, "0")}`),
          endKey: enc(`k${String(i).padStart(3, "0")}~`),
          epoch: { version: 1n, confVersion: 1n },
          peers: [{ storeId: 1n, peerId: 1000n + i }],
        },
        // Led by its one peer, which reports the peers' state: one replica where max-replicas wants more.
        { leaderPeerId: 1000n + i, learnerPeerIds: [], pendingPeers: [], downPeers: [] },
      );
    }
    const ids = await a.serving().allocId(5n);
    // a's scheduling: a durable configuration, and operators in flight (repairs for the one-replica regions).
    await a.serving().updateSchedulingConfig({ maxReplicas: 5 });
    await a.serving().setSchedulerPaused("balance-region", true);
    const config = a.serving().schedulingConfig;
    expect(config).toMatchObject({ maxReplicas: 5, pausedSchedulers: ["balance-region-scheduler"] });
    const kinds = ["leader-transfer", "add-peer", "add-learner", "promote-learner", "remove-peer"] as const;
    for (const storeId of [2n, 3n, 1n]) {
      a.serving().storeHeartbeat({ storeId, regionNum: 40n, leaderNum: storeId === 1n ? 40n : 0n, capacity: 1n << 40n, available: 1n << 39n, capabilities: kinds });
    }
    expect(a.serving().scheduling.operators.size).toBeGreaterThan(0);
    await waitUntil("b's copy to follow a's writes", () => b.catalogStatus.regions === 40);
    expect(b.catalogStatus).toMatchObject({ state: "following", loads: 1 });

    await a.close();
    await waitUntil("b serving", () => b.isServing, { timeoutMs: 5000 });
    const became = logs.get("pd-b")!.find((l) => l.msg === "became leader");
    expect(became?.fields).toMatchObject({ catalog: "warm", regions: 40 });
    expect(b.catalogStatus).toMatchObject({ state: "lent", loads: 1 });
    expect(b.serving().getRegionByKey(enc("k017"))?.id).toBe(17n);
    // The new term loaded a's scheduling configuration with the head, and starts with no operators.
    expect(b.serving().schedulingConfig).toEqual(config);
    expect(b.serving().scheduling.operators.size).toBe(0);
    expect(b.serving().scheduling.operators.history()).toEqual([]);
    expect((await b.serving().allocId(1n)).first).toBeGreaterThan(ids.first + ids.count - 1n);
  });

  it("refuses bad options before touching etcd, and an unreachable etcd with STORAGE", async () => {
    const endpoints = shared.etcd.endpoints;
    await expect(createElectedMember({ endpoints, leaseTtlSec: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(createElectedMember({ endpoints, clusterId: "a/b" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(createElectedMember({ endpoints: [] })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(createElectedMember({ endpoints, name: "" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(createElectedMember({ endpoints: ["http://127.0.0.1:1"], requestTimeoutMs: 500 })).rejects.toMatchObject({
      code: "STORAGE",
    });
  });
});
