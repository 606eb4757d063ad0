import { setTimeout as sleep } from "node:timers/promises";
import type { HaCluster } from "./ha-cluster.js";
import type { History } from "./history.js";

/** How long each fault lasts; the small run in `npm test` and the long run differ. */
export interface NemesisTimings {
  /** How long a paused leader stays paused beyond its lease TTL, in ms. */
  readonly pauseBeyondLeaseMs: number;
  /** How long one etcd member stays paused, in ms. */
  readonly etcdPauseMs: number;
  /** How long the leader stays cut from etcd beyond its lease TTL, in ms. */
  readonly cutBeyondLeaseMs: number;
  /** How long each wall-clock step is held, in ms. */
  readonly clockHoldMs: number;
}

/** One fault: injects it, records it in the history, heals it. */
export interface Nemesis {
  readonly name: string;
  run(cluster: HaCluster, history: History, timings: NemesisTimings, round: number): Promise<void>;
}

// Faults are held for fixed times: that is what they are (a pause of 10 s),
// not a way to wait for something. Everything waited for — a leader, a
// restarted process, a clock step taking effect — is a condition with a
// deadline.

/** kill -9 of the leader; it comes back as a follower (cold: it must load its catalog again). */
export const killLeader: Nemesis = {
  name: "kill-leader",
  async run(cluster, history) {
    const leader = await cluster.leader();
    const e = history.nemesis(this.name, leader.name);
    await cluster.kill(leader);
    await cluster.leader(20_000);
    e.healMs = history.now();
    await cluster.startPd(leader);
  },
};

/** SIGSTOP of the leader for longer than its lease, then SIGCONT: it must hand out nothing stale. */
export const pauseLeader: Nemesis = {
  name: "pause-leader",
  async run(cluster, history, t) {
    const leader = await cluster.leader();
    const e = history.nemesis(this.name, `${leader.name} for ${cluster.leaseTtlSec * 1000 + t.pauseBeyondLeaseMs} ms`);
    cluster.pause(leader);
    await sleep(cluster.leaseTtlSec * 1000 + t.pauseBeyondLeaseMs);
    cluster.resume(leader);
    e.healMs = history.now();
  },
};

/** SIGSTOP of one etcd member of three (a different one each round): PD must keep serving. */
export const pauseEtcdMember: Nemesis = {
  name: "pause-etcd-member",
  async run(cluster, history, t, round) {
    const i = round % cluster.etcd.endpoints.length;
    const e = history.nemesis(this.name, `etcd ${cluster.etcd.names[i]} for ${t.etcdPauseMs} ms`);
    cluster.etcd.pause(i);
    await sleep(t.etcdPauseMs);
    cluster.etcd.resume(i);
    e.healMs = history.now();
  },
};

/** A black-hole cut between the leader and every etcd member, longer than the lease, then healed. */
export const cutLeaderFromEtcd: Nemesis = {
  name: "cut-leader-etcd",
  async run(cluster, history, t) {
    const leader = await cluster.leader();
    const e = history.nemesis(this.name, `${leader.name} for ${cluster.leaseTtlSec * 1000 + t.cutBeyondLeaseMs} ms`);
    cluster.cutFromEtcd(leader);
    await sleep(cluster.leaseTtlSec * 1000 + t.cutBeyondLeaseMs);
    cluster.healFromEtcd(leader);
    e.healMs = history.now();
  },
};

/** Wall-clock steps in the leader: 10 minutes back, then an hour forward, then back to true time. */
export const stepLeaderClock: Nemesis = {
  name: "clock-step",
  async run(cluster, history, t) {
    const leader = await cluster.leader();
    const e = history.nemesis(this.name, `${leader.name}: -10 min, +1 h, back`);
    await cluster.setClockOffset(leader, -600_000);
    await sleep(t.clockHoldMs);
    await cluster.setClockOffset(leader, 3_600_000);
    await sleep(t.clockHoldMs);
    await cluster.setClockOffset(leader, 0);
    e.healMs = history.now();
  },
};

/** kill -9 of every PD, then all started again: every acknowledged write and ceiling must survive. */
export const restartAll: Nemesis = {
  name: "restart-all",
  async run(cluster, history) {
    const e = history.nemesis(this.name, `${cluster.pds.length} PDs`);
    await Promise.all(cluster.pds.map((n) => cluster.kill(n)));
    await Promise.all(cluster.pds.map((n) => cluster.startPd(n)));
    await cluster.leader(30_000);
    e.healMs = history.now();
  },
};

/** Every nemesis, in the order a run applies them. */
export const ALL_NEMESES: readonly Nemesis[] = [killLeader, pauseLeader, pauseEtcdMember, cutLeaderFromEtcd, stepLeaderClock, restartAll];
