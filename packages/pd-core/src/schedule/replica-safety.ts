import type { OperatorStep } from "./operator-step.js";
import type { RegionStats } from "./region-stats.js";

/** Votes needed to commit among `voters` voters. */
export function quorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** Whether a peer of the region is live: its store is up and its leader reports it neither down nor behind. */
export type PeerLiveness = (stats: RegionStats, storeId: bigint, peerId: bigint) => boolean;

interface Member {
  voter: boolean;
  live: boolean;
}

function membership(stats: RegionStats, isLive: PeerLiveness): Map<bigint, Member> {
  const m = new Map<bigint, Member>();
  for (const p of stats.region.peers) m.set(p.peerId, { voter: !stats.learners.has(p.peerId), live: isLive(stats, p.storeId, p.peerId) });
  return m;
}

function hasLiveMajority(m: ReadonlyMap<bigint, Member>): boolean {
  let voters = 0;
  let live = 0;
  for (const x of m.values()) {
    if (!x.voter) continue;
    voters++;
    if (x.live) live++;
  }
  return voters > 0 && live >= quorum(voters);
}

/**
 * Applies a step to a membership as it will look once the step took effect:
 * an added learner has caught up (its add step finishes only then), a voter
 * added directly has not, a promoted learner keeps its liveness.
 */
function apply(m: Map<bigint, Member>, step: OperatorStep): void {
  switch (step.type) {
    case "add-learner":
      m.set(step.peerId, { voter: false, live: true });
      return;
    case "add-peer":
      m.set(step.peerId, { voter: true, live: false });
      return;
    case "promote-learner": {
      const x = m.get(step.peerId);
      if (x !== undefined) x.voter = true;
      return;
    }
    case "remove-peer":
      m.delete(step.peerId);
      return;
    case "transfer-leader":
      return;
  }
}

/**
 * Whether carrying out `steps` in order keeps a live majority of voters at
 * every step: the region must have one now (else raft cannot commit a
 * change at all) and after each step. A leader transfer needs a live voter
 * to lead. This is the rule PD never breaks: no step it plans or sends
 * leaves a region without a live majority.
 */
export function keepsLiveMajority(stats: RegionStats, steps: readonly OperatorStep[], isLive: PeerLiveness): boolean {
  const m = membership(stats, isLive);
  if (!hasLiveMajority(m)) return false;
  for (const step of steps) {
    if (step.type === "transfer-leader") {
      const to = m.get(step.toPeerId);
      if (to === undefined || !to.voter || !to.live) return false;
    }
    apply(m, step);
    if (!hasLiveMajority(m)) return false;
  }
  return true;
}
