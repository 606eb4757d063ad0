import type { ExecutableOperationKind, SchedulingConfig } from "@nokv/pd-model";
import type { KnownLiveness } from "../store/liveness.js";
import type { OperatorController } from "./operator-controller.js";
import type { OperatorStep } from "./operator-step.js";
import type { RegionStats, RegionStatsIndex } from "./region-stats.js";
import type { PeerLiveness } from "./replica-safety.js";
import type { StoreLimiter } from "./store-limit.js";

/** Tunables of the checkers and schedulers (not persisted: start-up settings). */
export interface SchedulePolicy {
  /** Regions the replica checker looks at per store heartbeat, from its queue. Default 64. */
  readonly checkBatch: number;
  /** Regions the patrol classifies per store heartbeat, in key order. Default 64. */
  readonly patrolBatch: number;
  /** Balance-region operators planned per store heartbeat at most. Default 4. */
  readonly balanceRegionBatch: number;
  /** Balance-leader operators planned per store heartbeat at most. Default 4. */
  readonly balanceLeaderBatch: number;
  /** Regions a scheduler tries per source store and heartbeat. Default 64. */
  readonly scanLimit: number;
  /** Source stores balance-region tries per heartbeat, highest score first. Default 8. */
  readonly balanceSourcesPerPass: number;
  /** Above this used ratio a store is low on space: no peer is added to it. Default 0.8 (TiKV's low-space-ratio). */
  readonly lowSpaceRatio: number;
  /** Above this used ratio a store's region score grows with its fullness. Default 0.7 (TiKV's high-space-ratio). */
  readonly highSpaceRatio: number;
  /**
   * Slack of balance-region, in average region weights: a peer of weight w
   * moves only when the source's score exceeds the target's by at least 2w
   * plus this, so that the move cannot turn the difference around (no
   * ping-pong) and small differences are left alone. Default 1.
   */
  readonly tolerantRegions: number;
  /**
   * Regions indexed per task when a new cluster model indexes the catalog it
   * starts from (a restart, a new term). A larger catalog is indexed in
   * background tasks of this many regions, so that a new leader serves at
   * once whatever the catalog's size. Default 20 000 (about 40 ms).
   */
  readonly restoreBatch: number;
}

/** The defaults of {@link SchedulePolicy}. */
export const DEFAULT_SCHEDULE_POLICY: SchedulePolicy = Object.freeze({
  checkBatch: 64,
  patrolBatch: 64,
  balanceRegionBatch: 4,
  balanceLeaderBatch: 4,
  scanLimit: 64,
  balanceSourcesPerPass: 8,
  lowSpaceRatio: 0.8,
  highSpaceRatio: 0.7,
  tolerantRegions: 1,
  restoreBatch: 20_000,
});

/**
 * Checks a policy: batch sizes and limits positive integers, the space
 * ratios in (0, 1] with the high ratio at most the low one, the tolerance
 * a finite number >= 0.
 *
 * @throws RangeError naming the bad value.
 */
export function checkSchedulePolicy(p: SchedulePolicy): SchedulePolicy {
  for (const key of ["checkBatch", "patrolBatch", "balanceRegionBatch", "balanceLeaderBatch", "scanLimit", "balanceSourcesPerPass", "restoreBatch"] as const) {
    if (!(Number.isInteger(p[key]) && p[key] > 0)) throw new RangeError(`schedule policy: ${key} must be a positive integer, got ${p[key]}`);
  }
  for (const key of ["lowSpaceRatio", "highSpaceRatio"] as const) {
    if (!(p[key] > 0 && p[key] <= 1)) throw new RangeError(`schedule policy: ${key} must be in (0, 1], got ${p[key]}`);
  }
  if (p.highSpaceRatio > p.lowSpaceRatio) {
    throw new RangeError(`schedule policy: highSpaceRatio ${p.highSpaceRatio} must not exceed lowSpaceRatio ${p.lowSpaceRatio}`);
  }
  if (!(Number.isFinite(p.tolerantRegions) && p.tolerantRegions >= 0)) {
    throw new RangeError(`schedule policy: tolerantRegions must be a finite number >= 0, got ${p.tolerantRegions}`);
  }
  return p;
}

/** What the checkers and schedulers read and act through. Implemented by {@link Scheduling}. */
export interface SchedulingContext {
  readonly config: SchedulingConfig;
  readonly policy: SchedulePolicy;
  readonly index: RegionStatsIndex;
  readonly operators: OperatorController;
  readonly limiter: StoreLimiter;
  /** Every store PD knows of: heard from, or holding a peer of a known region. Ascending ids. */
  storeIds(): readonly bigint[];
  /** A store's liveness; a store never heard from since this PD leads counts from when it started leading. */
  storeState(storeId: bigint): KnownLiveness;
  isUp(storeId: bigint): boolean;
  /** Whether the store listed `kind` in its capabilities. */
  canExecute(storeId: bigint, kind: ExecutableOperationKind): boolean;
  /** Whether new peers may be placed on the store: up, it lists add-learner or add-peer, and it is not low on space. */
  canHost(storeId: bigint): boolean;
  /** Bytes available on the store, less what peers being added to it will take. */
  effectiveAvailable(storeId: bigint): bigint;
  /** The store's used ratio (0..1), or undefined when it reported no capacity. */
  usedRatio(storeId: bigint): number | undefined;
  /** The store's leader count as the scores use it (before operator influence). */
  leaderCount(storeId: bigint): number;
  isPeerLive: PeerLiveness;
  /** Whether a peer is lost: its store is down, or its leader has not heard from it for the down threshold. */
  isPeerDead(stats: RegionStats, storeId: bigint, peerId: bigint): boolean;
  /** A new peer id from PD's allocator; undefined when none can be had without waiting for a write. */
  allocPeerId(): bigint | undefined;
  /** How many times balance-region has moved one of the region's peers since this PD leads (soft state). */
  balanceMovesOf(regionId: bigint): number;
}

/**
 * Whether PD can act on the region at all: its peers are one per store, its
 * leader reported itself and the peers' state, the leader's store is up and
 * lists every membership kind the plan needs. Regions of NoKV's Go stores
 * never are (they report neither), so nothing but leader transfers is ever
 * planned for them.
 */
export function isActionable(stats: RegionStats, ctx: SchedulingContext): boolean {
  return (
    !stats.duplicatePeers &&
    stats.peerStatusKnown &&
    stats.leaderStoreId !== undefined &&
    ctx.isUp(stats.leaderStoreId) &&
    ctx.canExecute(stats.leaderStoreId, "remove-peer")
  );
}

/**
 * Whether each step can be carried out by the store that will lead the
 * region when it comes (the leader now, then the target of each leader
 * transfer).
 */
export function leadersCanExecute(stats: RegionStats, steps: readonly OperatorStep[], ctx: SchedulingContext): boolean {
  let leader = stats.leaderStoreId;
  if (leader === undefined) return false;
  for (const step of steps) {
    const kind: ExecutableOperationKind = step.type === "transfer-leader" ? "leader-transfer" : step.type;
    if (!ctx.canExecute(leader, kind)) return false;
    if (step.type === "transfer-leader") leader = step.toStoreId;
  }
  return true;
}

/**
 * The store-limit tokens the steps need: one add-peer token of the store a
 * peer is added to, one remove-peer token of the store a peer is removed
 * from — none when that store is down (it does no work).
 */
export function tokensNeeded(steps: readonly OperatorStep[], ctx: SchedulingContext): Array<readonly [bigint, "add-peer" | "remove-peer"]> {
  const out: Array<readonly [bigint, "add-peer" | "remove-peer"]> = [];
  for (const s of steps) {
    if (s.type === "add-learner" || s.type === "add-peer") out.push([s.storeId, "add-peer"]);
    else if (s.type === "remove-peer" && ctx.storeState(s.storeId) !== "down") out.push([s.storeId, "remove-peer"]);
  }
  return out;
}

/** Takes the tokens the steps need, all or none; false (and a counted hit) when one is spent. */
export function takeTokens(steps: readonly OperatorStep[], ctx: SchedulingContext): boolean {
  const need = tokensNeeded(steps, ctx);
  for (const [store, type] of need) {
    if (!ctx.limiter.available(store, type)) {
      ctx.limiter.hit(type);
      return false;
    }
  }
  for (const [store, type] of need) ctx.limiter.take(store, type);
  return true;
}
