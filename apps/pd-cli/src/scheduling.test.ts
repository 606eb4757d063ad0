import { createPdServer, type PdServer } from "@nokv/pd-server";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "./cli.js";
import { formatAge } from "./commands/scheduling.js";

const silent = pino({ level: "silent" });
const servers: PdServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

/** A PD with one operator in flight: region 5 on stores 1 and 2 (led by 1), made up onto store 3. */
async function withOperator(): Promise<PdServer> {
  const server = await createPdServer({ addr: "127.0.0.1:0", logger: silent });
  servers.push(server);
  const c = server.cluster;
  const caps = ["leader-transfer", "add-learner", "promote-learner", "remove-peer"] as const;
  for (const storeId of [1n, 2n, 3n]) c.storeHeartbeat({ storeId, regionNum: 1n, leaderNum: 0n, capacity: 1n << 40n, available: 1n << 39n, capabilities: caps });
  const peers = [{ storeId: 1n, peerId: 51n }, { storeId: 2n, peerId: 52n }];
  await c.regionHeartbeat(
    { id: 5n, startKey: new Uint8Array(), endKey: new Uint8Array(), epoch: { version: 1n, confVersion: 1n }, peers },
    { leaderPeerId: 51n, learnerPeerIds: [], pendingPeers: [], downPeers: [] },
  );
  c.storeHeartbeat({ storeId: 1n, regionNum: 1n, leaderNum: 1n, capacity: 1n << 40n, available: 1n << 39n, capabilities: caps });
  return server;
}

describe("pd-cli scheduling verbs", () => {
  it("operators: in flight with step and age; --history once they end; JSON in TiKV's object shape", async () => {
    const server = await withOperator();
    const t = await run("operators", "--pd", server.address);
    expect(t.code).toBe(0);
    expect(t.out[0]).toMatch(/^ID\s+REGION\s+KIND\s+PRIORITY\s+STATE\s+STEP\s+AGE\s+STEPS$/);
    expect(t.out[1]).toMatch(/^\d+\s+5\s+make-up-replica\s+high\s+running\s+1\/2\s+\d+s\s+\[add learner \d+ on store 3\] → promote learner \d+ on store 3$/);
    const j = JSON.parse((await run("operators", "--pd", server.address, "--format", "json")).out[0]!);
    expect(j).toEqual([expect.objectContaining({ desc: "make-up-replica", region_id: "5", status: "Started", kind: "replica" })]);
    expect((await run("operators", "--history", "--pd", server.address)).out).toEqual(["(no operator has ended yet)"]);
    server.cluster.scheduling.operators.cancel(5n, "admin stop");
    const h = await run("operators", "--history", "--pd", server.address);
    expect(h.out[0]).toMatch(/REASON/);
    expect(h.out[1]).toMatch(/cancelled\s+1\/2\s+\d+s\s+admin stop\s+add learner/);
    expect((await run("operators", "--pd", server.address)).out).toEqual(["(no operator in flight)"]);
  });

  it("scheduler list / pause / resume, by short or full name; an unknown one exits 1 with one line", async () => {
    const server = await withOperator();
    expect((await run("scheduler", "pause", "balance-region", "--pd", server.address)).out).toEqual(["balance-region-scheduler paused"]);
    expect((await run("scheduler", "list", "--pd", server.address)).out).toEqual([
      "NAME                      PAUSED",
      "balance-leader-scheduler  no",
      "balance-region-scheduler  yes",
      "replica-checker           no",
    ]);
    expect((await run("scheduler", "resume", "balance-region-scheduler", "--pd", server.address)).out).toEqual(["balance-region-scheduler resumed"]);
    const bad = await run("scheduler", "pause", "hot-region", "--pd", server.address);
    expect(bad.code).toBe(1);
    expect(bad.err).toEqual([expect.stringMatching(/^pd-cli: .*unknown scheduler "hot-region"/)]);
    expect(JSON.parse((await run("scheduler", "list", "--pd", server.address, "--format", "json")).out[0]!)).toEqual([
      { name: "balance-leader-scheduler", paused: false },
      { name: "balance-region-scheduler", paused: false },
      { name: "replica-checker", paused: false },
    ]);
  });

  it("config show / set max-replicas / set store-limit (default, one store, one type, removal)", async () => {
    const server = await withOperator();
    expect((await run("config", "show", "--pd", server.address)).out).toEqual([
      "KEY                    VALUE",
      "max-replicas           3",
      "store-limit (default)  add-peer 15/min, remove-peer 15/min",
      "paused-schedulers      -",
    ]);
    expect((await run("config", "set", "max-replicas", "5", "--pd", server.address)).code).toBe(0);
    expect((await run("config", "set", "store-limit", "30", "--type", "add-peer", "--pd", server.address)).code).toBe(0);
    expect((await run("config", "set", "store-limit", "4", "--store", "2", "--pd", server.address)).code).toBe(0);
    expect((await run("config", "set", "store-limit", "9", "--store", "3", "--type", "remove-peer", "--pd", server.address)).code).toBe(0);
    expect((await run("config", "set", "store-limit", "0", "--store", "2", "--pd", server.address)).code).toBe(0);
    const shown = await run("config", "show", "--pd", server.address, "--format", "json");
    expect(JSON.parse(shown.out[0]!)).toEqual({
      schedule: { "default-store-limit": { "add-peer": 30, "remove-peer": 15 }, "store-limit": { "3": { "remove-peer": 9 } }, "paused-schedulers": [] },
      replication: { "max-replicas": 5 },
    });
    expect(server.cluster.schedulingConfig.maxReplicas).toBe(5);
    for (const argv of [
      ["config", "set", "max-replicas", "0"],
      ["config", "set", "max-replicas", "99"],
      ["config", "set", "store-limit", "fast"],
      ["config", "set", "store-limit", "0"],
      ["config", "set", "replicas", "3"],
      ["config", "set", "max-replicas", "3", "--store", "1"],
    ]) {
      const r = await run(...argv, "--pd", server.address);
      expect(r.code, argv.join(" ")).not.toBe(0);
      expect(r.err, argv.join(" ")).toHaveLength(1);
    }
  });

  it("fails with one line when PD is unreachable", async () => {
    const r = await run("operators", "--pd", "127.0.0.1:1", "--timeout", "500");
    expect(r.code).toBe(1);
    expect(r.err).toEqual([expect.stringMatching(/^pd-cli: /)]);
  });

  it("formats ages", () => {
    expect([0n, 59_999n, 60_000n, 3_599_000n, 3_660_000n].map(formatAge)).toEqual(["0s", "59s", "1m0s", "59m59s", "1h1m"]);
  });
});
