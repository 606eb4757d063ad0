/**
 * Leader tracking against several fake PDs (real grpc-js servers): an
 * unreachable endpoint costs no share of the deadline, a redirect to a dead
 * leader fails fast, GetMembers finds a leader no redirect names, and when
 * the leader dies callers wait — without an error — and resume as soon as a
 * new leader answers, whatever their deadline.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { GetMembersResponse } from "@nokv/pd-proto";
import { createPdClient, type PdClient, type PdClientOptions } from "../client.js";
import { startFakePd, unusedPort, waitUntil, type FakePd } from "@nokv/testkit";

const servers: FakePd[] = [];
const clients: PdClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function fakePd(): Promise<FakePd> {
  const pd = await startFakePd();
  servers.push(pd);
  return pd;
}

function client(options: PdClientOptions): PdClient {
  const c = createPdClient(options);
  clients.push(c);
  return c;
}

/** What every member answers to GetMembers: all of `all`, with `leader` leading. */
function membersView(all: readonly FakePd[], leader: FakePd | string | undefined): GetMembersResponse {
  const leaderAddr = typeof leader === "string" ? leader : leader?.addr;
  const members = all.map((m, i) => ({ name: `pd${i + 1}`, advertiseAddr: m.addr, isLeader: m.addr === leaderAddr }));
  const named = members.find((m) => m.advertiseAddr === leaderAddr) ?? (leaderAddr === undefined ? undefined : { name: "gone", advertiseAddr: leaderAddr, isLeader: true });
  return { members, leader: named };
}

describe("unreachable endpoints", () => {
  it("cost no share of a long deadline: the call goes on to a live endpoint at once", async () => {
    const dead = `127.0.0.1:${await unusedPort()}`;
    const pd = await fakePd();
    pd.nextTs = 77n;
    const c = client({ endpoints: [dead, pd.addr], timeoutMs: 60_000 });
    const started = performance.now();
    expect(await c.getTimestamp()).toBe(77n);
    expect((await c.allocId()).count).toBe(1n);
    console.log(`first answer with a dead first endpoint and timeoutMs 60000: ${Math.round(performance.now() - started)} ms`);
  }, 10_000);

  it("a redirect to a dead leader fails fast and the live leader is found", async () => {
    const dead = `127.0.0.1:${await unusedPort()}`;
    const follower = await fakePd();
    const leader = await fakePd();
    // The follower still names the dead leader, as a PD does until the lease runs out;
    // its member list already knows the new one.
    follower.follow(dead);
    follower.members = membersView([follower, leader], leader);
    leader.members = membersView([follower, leader], leader);
    leader.nextTs = 500n;
    const c = client({ endpoints: [follower.addr, leader.addr], timeoutMs: 60_000 });
    expect(await c.getTimestamp()).toBe(500n);
    expect(await c.getTimestamp()).toBe(501n);
  }, 10_000);
});

describe("leader discovery", () => {
  it("finds the leader through GetMembers when NOT_LEADER names none", async () => {
    const follower = await fakePd();
    const leader = await fakePd();
    follower.follow(undefined);
    follower.members = membersView([follower, leader], leader);
    leader.members = membersView([follower, leader], leader);
    leader.nextId = 4242n;
    const c = client({ addr: follower.addr });
    expect((await c.allocId()).firstId).toBe(4242n);
    expect(c.endpoints).toContain(leader.addr);
    expect(follower.getMembersCalls).toBeGreaterThan(0);
  }, 10_000);
});

describe("failover is only a delay", () => {
  it("rejects no call when the leader dies, and resumes on the new leader's stream", async () => {
    const a = await fakePd();
    const b = await fakePd();
    const cPd = await fakePd();
    const all = [a, b, cPd];
    for (const m of all) m.members = membersView(all, a);
    b.follow(a.addr);
    cPd.follow(a.addr);
    b.nextTs = 1n << 40n; // the new leader starts above the old one
    const c = client({ endpoints: all.map((m) => m.addr), timeoutMs: 60_000 });
    let stop = false;
    let errors = 0;
    let lastOk = 0;
    const loops = Array.from({ length: 50 }, async () => {
      while (!stop) {
        try {
          await c.getTimestamp();
          lastOk = performance.now();
        } catch {
          errors += 1;
          // A call that fails at once must not starve the event loop.
          await new Promise((r) => setImmediate(r));
        }
      }
    });
    await waitUntil("traffic on the first leader", () => a.calls.tso > 20, 5000);
    await a.close(); // kill: connections reset, nothing answers at this address
    // The followers still name the dead leader for a while (the lease), then one takes over.
    await waitUntil("the client to probe the members", () => b.getMembersCalls + cPd.getMembersCalls > 3, 5000);
    for (const m of [b, cPd]) m.members = membersView(all, b);
    cPd.follow(b.addr);
    b.lead();
    const tookOver = performance.now();
    await waitUntil("callers to resume on the new leader", () => lastOk > tookOver && b.calls.tso > 5, 10_000);
    const resumedMs = lastOk - tookOver;
    stop = true;
    await Promise.all(loops);
    console.log(`fake failover: callers resumed ${Math.round(resumedMs)} ms after the new leader took over; ${errors} rejected calls`);
    expect(errors).toBe(0);
    expect(b.tsoStreamsOpened).toBe(1);
  }, 30_000);
});
