import type { OperatorPlan } from "./operator.js";
import type { OperatorStep } from "./operator-step.js";
import type { RegionStats } from "./region-stats.js";
import { keepsLiveMajority } from "./replica-safety.js";
import { addPeerSteps } from "./replica-checker.js";
import { isActionable, leadersCanExecute, type SchedulingContext, takeTokens } from "./scheduling-context.js";

/**
 * A store's region score (TiKV's region score, simplified): the total
 * weight of its peers (approximate size in MiB, one per region whose size
 * is unknown) plus what operators in flight will move onto or off it,
 * amplified as the store fills beyond the high-space ratio — a store at
 * 80 % used scores 1.5×, at 90 % 3× — so that fuller stores give peers away.
 */
export function regionScore(storeId: bigint, ctx: SchedulingContext): number {
  const weight = ctx.index.weight(storeId) + ctx.operators.pendingWeightDelta(storeId);
  return weight * spaceAmplification(ctx.usedRatio(storeId), ctx.policy.highSpaceRatio);
}

/** 1 up to the high-space ratio, then `1 + (used − high) / (1 − used)`. */
export function spaceAmplification(used: number | undefined, high: number): number {
  if (used === undefined || used <= high) return 1;
  return 1 + (used - high) / Math.max(1 - used, 0.01);
}

/** Whether balance-region may move one of the region's peers now. */
function movable(stats: RegionStats, ctx: SchedulingContext): boolean {
  if (!isActionable(stats, ctx) || ctx.operators.has(stats.region.id)) return false;
  if (stats.learners.size > 0 || stats.pending.size > 0 || stats.down.size > 0) return false;
  if (stats.region.peers.length !== ctx.config.maxReplicas) return false;
  return stats.region.peers.every((p) => ctx.isPeerLive(stats, p.storeId, p.peerId));
}

/** The steps moving the region's peer on `from` to a new peer on `to`. */
export function movePeerSteps(stats: RegionStats, from: { storeId: bigint; peerId: bigint }, to: bigint, newPeerId: bigint, ctx: SchedulingContext): OperatorStep[] {
  const steps = addPeerSteps(stats, to, newPeerId, ctx);
  if (stats.leaderPeerId === from.peerId) {
    steps.push({ type: "transfer-leader", fromStoreId: from.storeId, fromPeerId: from.peerId, toStoreId: to, toPeerId: newPeerId });
  }
  steps.push({ type: "remove-peer", storeId: from.storeId, peerId: from.peerId });
  return steps;
}

/** What balance-region did in one pass. */
export interface BalanceRegionResult {
  readonly planned: ReadonlyArray<{ readonly stats: RegionStats; readonly plan: OperatorPlan }>;
}

/**
 * TiKV's balance-region: moves peers from the highest-scoring stores to the
 * lowest. A peer of weight `w` moves from `s` to `t` only while
 * `score(s) − score(t) ≥ 2w + tolerance` (tolerance = `tolerantRegions`
 * average region weights): after the move the source still scores at least
 * the target, so a move can never be undone by the next one (no ping-pong),
 * and the cluster stops moving once every difference is within it.
 *
 * Work per call is bounded — at most `scanLimit` regions tried per source,
 * `balanceRegionBatch` operators planned — and never walks every region.
 * `cursor` keeps each store's round-robin position between calls.
 */
export function planBalanceRegion(ctx: SchedulingContext, cursor: Map<bigint, number>, plan: (stats: RegionStats, p: OperatorPlan) => boolean): number {
  const ids = ctx.storeIds();
  const sources = ids.filter((s) => ctx.isUp(s) && ctx.index.regionCount(s) > 0);
  const targets = ids.filter((s) => ctx.canHost(s));
  if (sources.length === 0 || targets.length === 0) return 0;
  let totalWeight = 0;
  let totalPeers = 0;
  for (const s of ids) {
    totalWeight += ctx.index.weight(s);
    totalPeers += ctx.index.regionCount(s);
  }
  const tolerance = ctx.policy.tolerantRegions * (totalPeers === 0 ? 1 : totalWeight / totalPeers);
  const byScore = (a: bigint, b: bigint) => regionScore(a, ctx) - regionScore(b, ctx) || (a < b ? -1 : a > b ? 1 : 0);
  let planned = 0;
  // A move blocked by a spent limit is counted once per pass and type, not once per region tried.
  const hit = { "add-peer": false, "remove-peer": false };
  const limited = (type: "add-peer" | "remove-peer") => {
    if (!hit[type]) ctx.limiter.hit(type);
    hit[type] = true;
  };
  // Sources from the highest score down; a source with nothing to give hands over to the next.
  for (const src of [...sources].sort((a, b) => byScore(b, a))) {
    if (planned >= ctx.policy.balanceRegionBatch) break;
    const peers = ctx.index.peerRegions(src);
    if (peers === undefined || peers.size === 0) continue;
    let dsts = targets.filter((t) => t !== src).sort(byScore);
    const lowest = dsts[0];
    if (lowest === undefined || regionScore(src, ctx) - regionScore(lowest, ctx) < 2 + tolerance) continue;
    if (!ctx.limiter.available(src, "remove-peer")) {
      limited("remove-peer");
      continue;
    }
    let pos = cursor.get(src) ?? 0;
    const tries = Math.min(ctx.policy.scanLimit, peers.size);
    for (let i = 0; i < tries && planned < ctx.policy.balanceRegionBatch; i++) {
      const regionId = peers.at(pos++)!;
      const stats = ctx.index.get(regionId);
      if (stats === undefined || !movable(stats, ctx)) continue;
      const from = stats.region.peers.find((p) => p.storeId === src)!;
      const w = stats.weight;
      for (const dst of dsts) {
        if (stats.region.peers.some((p) => p.storeId === dst)) continue;
        if (regionScore(src, ctx) - regionScore(dst, ctx) < 2 * w + tolerance) break;
        if (!ctx.limiter.available(dst, "add-peer")) {
          limited("add-peer");
          continue;
        }
        const peerId = ctx.allocPeerId();
        if (peerId === undefined) return planned;
        const steps = movePeerSteps(stats, from, dst, peerId, ctx);
        if (!leadersCanExecute(stats, steps, ctx) || !keepsLiveMajority(stats, steps, ctx.isPeerLive)) break;
        if (!takeTokens(steps, ctx)) break;
        if (plan(stats, { kind: "balance-region", priority: "normal", steps })) planned++;
        dsts = targets.filter((t) => t !== src).sort(byScore);
        break;
      }
      if (!ctx.limiter.available(src, "remove-peer")) break;
    }
    cursor.set(src, pos);
  }
  return planned;
}
