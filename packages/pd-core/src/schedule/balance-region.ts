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

/** Movable regions of a source that may find no target before its turn ends. */
const MAX_MISSES = 4;

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
 * Work per call is bounded — at most `balanceSourcesPerPass` sources, each
 * until `scanLimit` regions were looked at or four movable ones in a row
 * found no target, `balanceRegionBatch` operators planned — and never walks
 * every region.
 * Within a source's turn, regions balance-region has moved least go first,
 * so the moves of a rebalance spread over regions instead of copying some
 * regions again and again.
 * `cursor` keeps each store's round-robin position between calls.
 */
export function planBalanceRegion(ctx: SchedulingContext, cursor: Map<bigint, number>, plan: (stats: RegionStats, p: OperatorPlan) => boolean): number {
  const ids = ctx.storeIds();
  // Scores are computed once per pass and again only for the two stores a planned move touches.
  const scores = new Map<bigint, number>();
  const score = (s: bigint): number => {
    let v = scores.get(s);
    if (v === undefined) {
      v = regionScore(s, ctx);
      scores.set(s, v);
    }
    return v;
  };
  const byScore = (a: bigint, b: bigint) => score(a) - score(b) || (a < b ? -1 : a > b ? 1 : 0);
  const sources = ids.filter((s) => ctx.isUp(s) && ctx.index.regionCount(s) > 0).sort((a, b) => byScore(b, a));
  let targets = ids.filter((s) => ctx.canHost(s)).sort(byScore);
  if (sources.length === 0 || targets.length === 0) return 0;
  let totalWeight = 0;
  let totalPeers = 0;
  for (const s of ids) {
    totalWeight += ctx.index.weight(s);
    totalPeers += ctx.index.regionCount(s);
  }
  const tolerance = ctx.policy.tolerantRegions * (totalPeers === 0 ? 1 : totalWeight / totalPeers);
  let planned = 0;
  let tried = 0;
  // A move blocked by a spent limit is counted once per pass and type, not once per region tried.
  const hit = { "add-peer": false, "remove-peer": false };
  const limited = (type: "add-peer" | "remove-peer") => {
    if (!hit[type]) ctx.limiter.hit(type);
    hit[type] = true;
  };
  // Sources from the highest score down; a source with nothing to give hands over to the next.
  for (const src of sources) {
    if (planned >= ctx.policy.balanceRegionBatch || tried >= ctx.policy.balanceSourcesPerPass) break;
    const lowest = targets.find((t) => t !== src);
    // Sources come highest first and the lowest target is the same for all: none further down could give either.
    if (lowest === undefined || score(src) - score(lowest) < 2 + tolerance) break;
    const peers = ctx.index.peerRegions(src);
    if (peers === undefined || peers.size === 0) continue;
    tried++;
    if (!ctx.limiter.available(src, "remove-peer")) {
      limited("remove-peer");
      continue;
    }
    // Only targets with an add-peer token can take a peer now; with none, no source can give one
    // (the rest of the pass would only look at regions to find that out).
    let open = new Set(targets.filter((t) => t !== src && ctx.limiter.available(t, "add-peer")));
    // Not even the lowest-scoring target that still has a token could take the lightest peer
    // (weight 1) from this source, nor from any source further down: the stores that need peers
    // have spent their limit, and looking at regions would only find that out region by region.
    const bestOpen = targets.find((t) => open.has(t));
    if (bestOpen === undefined || score(src) - score(bestOpen) < 2 + tolerance) {
      limited("add-peer");
      break;
    }
    let pos = cursor.get(src) ?? 0;
    const tries = Math.min(ctx.policy.scanLimit, peers.size);
    // The regions of this turn, those moved least first: spreading the moves keeps any one
    // region from being copied again and again while the cluster rebalances.
    const window: Array<readonly [bigint, number]> = [];
    for (let i = 0; i < tries; i++) {
      const id = peers.at(pos++)!;
      window.push([id, ctx.balanceMovesOf(id)]);
    }
    window.sort((a, b) => a[1] - b[1]);
    // Movable regions that found no target in a row: a store's regions are alike, so after a few
    // the next ones would not find one either (the gap to the stores with tokens is too small).
    let misses = 0;
    for (const [regionId] of window) {
      if (open.size === 0 || misses >= MAX_MISSES) break;
      if (planned >= ctx.policy.balanceRegionBatch) break;
      const stats = ctx.index.get(regionId);
      if (stats === undefined || !movable(stats, ctx)) continue;
      const from = stats.region.peers.find((p) => p.storeId === src)!;
      const w = stats.weight;
      const before = planned;
      misses++;
      for (const dst of targets) {
        if (dst === src || stats.region.peers.some((p) => p.storeId === dst)) continue;
        if (score(src) - score(dst) < 2 * w + tolerance) break;
        if (!open.has(dst)) {
          limited("add-peer");
          continue;
        }
        const peerId = ctx.allocPeerId();
        if (peerId === undefined) return planned;
        const steps = movePeerSteps(stats, from, dst, peerId, ctx);
        if (!leadersCanExecute(stats, steps, ctx) || !keepsLiveMajority(stats, steps, ctx.isPeerLive)) break;
        if (!takeTokens(steps, ctx)) break;
        if (plan(stats, { kind: "balance-region", priority: "normal", steps })) {
          planned++;
          scores.delete(src);
          scores.delete(dst);
          targets = targets.sort(byScore);
          open = new Set(targets.filter((t) => t !== src && ctx.limiter.available(t, "add-peer")));
        }
        break;
      }
      if (planned > before) misses = 0;
      if (!ctx.limiter.available(src, "remove-peer")) break;
    }
    cursor.set(src, pos);
  }
  return planned;
}
