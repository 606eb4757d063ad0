import { createCluster, PdError } from "@nokv/pd-core";
import { type Region } from "@nokv/pd-model";
import { createMemoryStore, type Store } from "@nokv/pd-storage";
import { describe, expect, it } from "vitest";
import type { CampaignOptions, LeaderTerm } from "../election/leader-election.js";
import type { PdMember } from "../election/leader-guard.js";
import { type Election, type MemberLog, TermLoop, type TermLoopOptions } from "./term-loop.js";

/** An election whose outcome the test decides (the real one is tested against etcd in election/ and e2e). */
class ScriptedElection implements Election {
  campaigns: CampaignOptions[] = [];
  resigns = 0;
  #term: LeaderTerm | undefined;
  leader: PdMember | undefined;
  get isLeader(): boolean {
    return this.#term !== undefined;
  }
  get term(): LeaderTerm | undefined {
    return this.#term;
  }
  leaderAddr(): string | undefined {
    return this.leader?.advertiseAddr;
  }
  campaign(options: CampaignOptions): void {
    this.campaigns.push(options);
  }
  win(revision: string): LeaderTerm {
    const c = this.campaigns.at(-1)!;
    this.#term = { key: "/nokv/pd/t/leader", createRevision: revision, member: { name: c.name, advertiseAddr: c.advertiseAddr }, leaseId: "1", leaseTtlSec: 2 };
    this.leader = this.#term.member;
    c.onElected?.(this.#term);
    return this.#term;
  }
  async resign(): Promise<void> {
    this.resigns++;
    const c = this.campaigns.at(-1);
    this.#term = undefined;
    this.leader = undefined;
    c?.onDeposed?.("resigned");
  }
  async close(): Promise<void> {}
}

const region = (id: bigint): Region => ({
  id,
  startKey: new TextEncoder().encode(`k${id}`),
  endKey: new TextEncoder().encode(`k${id}~`),
  epoch: { version: 1n, confVersion: 1n },
  peers: [{ storeId: 1n, peerId: id }],
});

const silent: MemberLog = { info: () => {}, warn: () => {}, error: () => {} };

function termLoop(election: Election, openStore: () => Promise<Store>, extra: Partial<TermLoopOptions> = {}): TermLoop {
  return new TermLoop({
    election,
    self: { name: "pd1", advertiseAddr: "127.0.0.1:1" },
    leaseTtlSec: 2,
    openStore,
    createCluster: (snapshot, persistence) => createCluster({ snapshot, persistence }),
    peers: () => [],
    log: silent,
    ...extra,
  });
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setImmediate(r));
  if (!cond()) throw new Error(`never happened: ${what}`);
}

describe("TermLoop", () => {
  it("serves only after loading the term's state, and redirects while following", async () => {
    const election = new ScriptedElection();
    const inner = createMemoryStore();
    await inner.saveAllocatorState({ idCurrent: 500n, tsCurrent: 900n });
    const lead = termLoop(election, async () => inner);
    lead.start();
    election.leader = { name: "pd2", advertiseAddr: "127.0.0.1:2" };
    expect(() => lead.serving()).toThrow(expect.objectContaining({ code: "NOT_LEADER", leaderAddr: "127.0.0.1:2" }));
    election.win("10");
    await until("serving", () => lead.isServing);
    const run = await lead.serving().allocId(1n);
    expect(run.first).toBe(501n);
    expect((await lead.serving().allocTimestamps(1n)).first).toBeGreaterThan(900n);
  });

  it("starts each term from the stored scheduling configuration and with no operators", async () => {
    const election = new ScriptedElection();
    const inner = createMemoryStore();
    // Each term opens the store anew and closes it when it ends; the data stays (as in etcd).
    const openTerm = async (): Promise<Store> => ({
      description: "memory",
      load: () => inner.load(),
      appendRegionEdits: (e) => inner.appendRegionEdits(e),
      saveAllocatorState: (st) => inner.saveAllocatorState(st),
      saveSchedulingConfig: (c) => inner.saveSchedulingConfig(c),
      close: async () => {},
    });
    const lead = termLoop(election, openTerm);
    lead.start();
    election.win("10");
    await until("serving", () => lead.isServing);
    const first = lead.serving();
    await first.updateSchedulingConfig({ maxReplicas: 4 });
    await first.regionHeartbeat(region(1n), { leaderPeerId: 1n, learnerPeerIds: [], pendingPeers: [], downPeers: [] });
    const kinds = ["leader-transfer", "add-peer", "add-learner", "promote-learner", "remove-peer"] as const;
    for (const storeId of [2n, 3n, 1n]) first.storeHeartbeat({ storeId, regionNum: 1n, leaderNum: storeId === 1n ? 1n : 0n, capacity: 1n << 40n, available: 1n << 39n, capabilities: kinds });
    expect(first.scheduling.operators.size).toBe(1);

    await election.resign();
    await until("stepped down", () => !lead.isServing);
    lead.start();
    election.win("11");
    await until("serving again", () => lead.isServing);
    const second = lead.serving();
    expect(second).not.toBe(first);
    expect(second.schedulingConfig.maxReplicas).toBe(4);
    expect(second.scheduling.operators.size).toBe(0);
  });

  it("gives up its term and campaigns again after an uncertain catalog write", async () => {
    const election = new ScriptedElection();
    const inner = createMemoryStore();
    let failWrites = false;
    const store: Store = {
      description: "flaky",
      load: () => inner.load(),
      appendRegionEdits: (e) => (failWrites ? Promise.reject(new PdError("STORAGE", "etcd: request timed out")) : inner.appendRegionEdits(e)),
      saveAllocatorState: (s) => inner.saveAllocatorState(s),
      saveSchedulingConfig: (c) => inner.saveSchedulingConfig(c),
      close: async () => {},
    };
    const lead = termLoop(election, async () => store);
    lead.start();
    election.win("10");
    await until("serving", () => lead.isServing);
    await lead.serving().regionHeartbeat(region(1n));
    failWrites = true;
    await expect(lead.serving().regionHeartbeat(region(2n))).rejects.toMatchObject({ code: "STORAGE" });
    await until("a new campaign", () => election.campaigns.length === 2);
    expect(election.resigns).toBe(1);
    expect(lead.isServing).toBe(false);
    expect(() => lead.serving()).toThrow(PdError);
    // The next term reloads from the store.
    failWrites = false;
    election.win("11");
    await until("serving again", () => lead.isServing);
    expect(lead.serving().getRegionByKey(new TextEncoder().encode("k1"))?.id).toBe(1n);
  });
});
