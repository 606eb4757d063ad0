import type { OperatorPlan } from "./operator.js";
import type { RegionStats } from "./region-stats.js";
import type { SchedulingContext } from "./scheduling-context.js";

/** A store's leader score: its leaders as counted, plus transfers in flight into it, minus those out of it. */
export function leaderScore(storeId: bigint, ctx: SchedulingContext): number {
  return ctx.leaderCount(storeId) + ctx.operators.pendingLeaderDelta(storeId);
}

/**
 * Balance-leader for a store that lists capabilities and reports its
 * regions' leaders: hands leaderships of regions `storeId` leads to the
 * follower store with the fewest leaders, while the difference is at least
 * two (one transfer then leaves the source at or above the target, so it
 * cannot ping-pong), at most `balanceLeaderBatch` per heartbeat and
 * `maxInFlight` in flight per store. Only healthy regions (no operator,
 * every peer live, no learner) and live voter targets; `scanLimit` regions
 * tried per call, round-robin over the store's leaders (`cursor`).
 */
export function planInformedLeaderTransfers(
  storeId: bigint,
  ctx: SchedulingContext,
  maxInFlight: number,
  cursor: Map<bigint, number>,
  plan: (stats: RegionStats, p: OperatorPlan) => boolean,
): number {
  const led = ctx.index.leaderRegions(storeId);
  if (led === undefined || led.size === 0 || !ctx.isUp(storeId) || !ctx.canExecute(storeId, "leader-transfer")) return 0;
  let planned = 0;
  let pos = cursor.get(storeId) ?? 0;
  const tries = Math.min(ctx.policy.scanLimit, led.size);
  for (let i = 0; i < tries; i++) {
    if (planned >= ctx.policy.balanceLeaderBatch || ctx.operators.transfersInFlight(storeId) >= maxInFlight) break;
    const stats = ctx.index.get(led.at(pos++)!);
    if (stats === undefined || stats.leaderStoreId !== storeId || ctx.operators.has(stats.region.id)) continue;
    if (stats.duplicatePeers || !stats.peerStatusKnown || stats.learners.size > 0) continue;
    if (!stats.region.peers.every((p) => ctx.isPeerLive(stats, p.storeId, p.peerId))) continue;
    const source = leaderScore(storeId, ctx);
    let best: { storeId: bigint; peerId: bigint } | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const p of stats.region.peers) {
      if (p.storeId === storeId || ctx.operators.transfersInFlight(p.storeId) >= maxInFlight) continue;
      const sc = leaderScore(p.storeId, ctx);
      if (sc < bestScore || (sc === bestScore && best !== undefined && p.storeId < best.storeId)) {
        best = p;
        bestScore = sc;
      }
    }
    if (best === undefined || source - bestScore < 2) continue;
    const from = stats.region.peers.find((p) => p.peerId === stats.leaderPeerId)!;
    const ok = plan(stats, {
      kind: "balance-leader",
      priority: "normal",
      steps: [{ type: "transfer-leader", fromStoreId: storeId, fromPeerId: from.peerId, toStoreId: best.storeId, toPeerId: best.peerId }],
    });
    if (ok) planned++;
  }
  cursor.set(storeId, pos);
  return planned;
}
