import type { OperatorKind } from "@nokv/pd-model";
import type { OperatorPlan } from "./operator.js";
import type { OperatorStep } from "./operator-step.js";
import type { RegionStats } from "./region-stats.js";
import { keepsLiveMajority } from "./replica-safety.js";
import { isActionable, leadersCanExecute, type SchedulingContext, takeTokens } from "./scheduling-context.js";

/** How a region stands against `max-replicas`. */
export interface ReplicaHealth {
  /** Voters that are not lost. */
  readonly healthyVoters: number;
  /** Fewer voters that are not lost than `max-replicas`. */
  readonly underReplicated: boolean;
  /** Something the replica checker would fix: a lost voter, too few or too many voters, or a learner no operator owns. */
  readonly needsRepair: boolean;
}

/** Classifies a region for the under-replicated gauge and the checker's queue. Pure; O(peers). */
export function replicaHealth(stats: RegionStats, ctx: SchedulingContext): ReplicaHealth {
  let voters = 0;
  let healthy = 0;
  let dead = 0;
  for (const p of stats.region.peers) {
    if (stats.learners.has(p.peerId)) continue;
    voters++;
    if (ctx.isPeerDead(stats, p.storeId, p.peerId)) dead++;
    else healthy++;
  }
  const max = ctx.config.maxReplicas;
  return {
    healthyVoters: healthy,
    underReplicated: healthy < max,
    needsRepair: dead > 0 || healthy !== max || voters > max || stats.learners.size > 0,
  };
}

/** Why the checker planned nothing for a region that needs repair. */
export type CheckDeferral = "store-limit" | "no-target" | "unsafe" | "waiting" | "no-peer-id";

/** What the replica checker made of a region. */
export type CheckOutcome = { readonly plan: OperatorPlan } | { readonly deferred: CheckDeferral } | undefined;

/**
 * The best store to place a new peer of the region on: up, lists
 * add-learner or add-peer, not low on space, holds no peer of the region;
 * most bytes available (less what is already on its way to it), lowest id
 * on a tie. Undefined when there is none.
 */
export function pickTargetStore(stats: RegionStats, ctx: SchedulingContext): bigint | undefined {
  let best: bigint | undefined;
  let bestAvail = -1n;
  for (const s of ctx.storeIds()) {
    if (!ctx.canHost(s) || stats.region.peers.some((p) => p.storeId === s)) continue;
    const avail = ctx.effectiveAvailable(s);
    if (avail > bestAvail) {
      best = s;
      bestAvail = avail;
    }
  }
  return best;
}

/**
 * The steps that add a peer on `storeId`: a learner then its promotion when
 * the leader executes both (the safe way: the new peer votes only once it
 * caught up), else a voter directly.
 */
export function addPeerSteps(stats: RegionStats, storeId: bigint, peerId: bigint, ctx: SchedulingContext): OperatorStep[] {
  const leader = stats.leaderStoreId!;
  if (ctx.canExecute(leader, "add-learner") && ctx.canExecute(leader, "promote-learner")) {
    return [
      { type: "add-learner", storeId, peerId },
      { type: "promote-learner", storeId, peerId },
    ];
  }
  return [{ type: "add-peer", storeId, peerId }];
}

/**
 * TiKV's replica checker, for one region with no operator. In order:
 *
 * 1. a learner no operator owns: promoted when voters are short and it is
 *    live and caught up, else removed (a learner still catching up is left be);
 * 2. a lost voter (store down, or reported down for the down threshold):
 *    removed when there are more voters than `max-replicas`, else replaced —
 *    a new peer on the best store, then the lost one removed (with stores
 *    that cannot add learners, the lost one first: a voter that has not
 *    caught up must not join while a peer is lost);
 * 3. too few voters: a new peer on the best store;
 * 4. too many voters: the worst one removed — on a store that is not up, or
 *    else on the store with the most region weight; the leader hands its
 *    leadership away first when it is the one.
 *
 * Every plan keeps a live majority at each step ({@link keepsLiveMajority})
 * and takes its store-limit tokens; without them nothing is planned and the
 * region waits (`deferred`).
 */
export function checkReplicas(stats: RegionStats, ctx: SchedulingContext): CheckOutcome {
  if (!isActionable(stats, ctx)) return undefined;
  const max = ctx.config.maxReplicas;
  const voters = stats.region.peers.filter((p) => !stats.learners.has(p.peerId));
  const learners = stats.region.peers.filter((p) => stats.learners.has(p.peerId));
  const dead = voters.filter((p) => ctx.isPeerDead(stats, p.storeId, p.peerId));
  const healthy = voters.length - dead.length;

  const finish = (kind: OperatorKind, steps: OperatorStep[]): CheckOutcome => {
    if (!leadersCanExecute(stats, steps, ctx)) return { deferred: "unsafe" };
    if (!keepsLiveMajority(stats, steps, ctx.isPeerLive)) return { deferred: "unsafe" };
    if (!takeTokens(steps, ctx)) return { deferred: "store-limit" };
    return { plan: { kind, priority: "high", steps } };
  };
  const addOn = (kind: OperatorKind, lost?: OperatorStep): CheckOutcome => {
    const target = pickTargetStore(stats, ctx);
    if (target === undefined) return { deferred: "no-target" };
    if (!ctx.limiter.available(target, "add-peer")) {
      ctx.limiter.hit("add-peer");
      return { deferred: "store-limit" };
    }
    const peerId = ctx.allocPeerId();
    if (peerId === undefined) return { deferred: "no-peer-id" };
    const add = addPeerSteps(stats, target, peerId, ctx);
    if (lost === undefined) return finish(kind, add);
    // A learner catches up before it votes: add it first, remove the lost peer last. A voter
    // added directly has not caught up: with a peer lost that would leave no live majority, so
    // the lost peer goes first (the majority check picks whichever order is safe).
    const learnerFirst = [...add, lost];
    return finish(kind, add[0]!.type === "add-learner" || keepsLiveMajority(stats, learnerFirst, ctx.isPeerLive) ? learnerFirst : [lost, ...add]);
  };

  for (const l of learners) {
    if (stats.pending.has(l.peerId) && ctx.isUp(l.storeId)) return { deferred: "waiting" };
    if (healthy < max && ctx.isPeerLive(stats, l.storeId, l.peerId)) {
      return finish("promote-learner", [{ type: "promote-learner", storeId: l.storeId, peerId: l.peerId }]);
    }
    return finish("remove-learner", [{ type: "remove-peer", storeId: l.storeId, peerId: l.peerId }]);
  }
  const lost = dead[0];
  if (lost !== undefined) {
    const remove: OperatorStep = { type: "remove-peer", storeId: lost.storeId, peerId: lost.peerId };
    if (voters.length > max) return finish("remove-extra-replica", [remove]);
    return addOn("replace-down-replica", remove);
  }
  if (healthy < max) return addOn("make-up-replica");
  if (voters.length > max) return finish("remove-extra-replica", removeWorstSteps(stats, voters, ctx));
  return undefined;
}

/** Steps removing the worst voter: not up first, then the heaviest store; leadership handed away first if needed. */
function removeWorstSteps(stats: RegionStats, voters: readonly { storeId: bigint; peerId: bigint }[], ctx: SchedulingContext): OperatorStep[] {
  const rank = (p: { storeId: bigint }) => (ctx.isUp(p.storeId) ? 0 : 1);
  let worst = voters[0]!;
  for (const p of voters) {
    const a = rank(p);
    const b = rank(worst);
    const heavier = ctx.index.weight(p.storeId) + ctx.operators.pendingWeightDelta(p.storeId);
    const wWorst = ctx.index.weight(worst.storeId) + ctx.operators.pendingWeightDelta(worst.storeId);
    if (a > b || (a === b && (heavier > wWorst || (heavier === wWorst && p.storeId > worst.storeId)))) worst = p;
  }
  const remove: OperatorStep = { type: "remove-peer", storeId: worst.storeId, peerId: worst.peerId };
  if (stats.leaderPeerId !== worst.peerId) return [remove];
  const to = voters.find((p) => p.peerId !== worst.peerId && ctx.isPeerLive(stats, p.storeId, p.peerId));
  if (to === undefined) return [remove]; // refused by the majority check
  return [{ type: "transfer-leader", fromStoreId: worst.storeId, fromPeerId: worst.peerId, toStoreId: to.storeId, toPeerId: to.peerId }, remove];
}
