import {
  type ExecutableOperationKind,
  type OperatorInfo,
  type Region,
  type RegionHeartbeatExtras,
  SCHEDULER_NAMES,
  type SchedulerInfo,
  type SchedulerName,
  type SchedulerOperation,
  type SchedulingConfig,
  type StoreHeartbeat,
  storeLimitOf,
  type StoreStats,
} from "@nokv/pd-model";
import type { RegionCatalog } from "../region/catalog.js";
import { type KnownLiveness, type LivenessThresholds, storeLiveness } from "../store/liveness.js";
import type { StoreRegistry } from "../store/store-registry.js";
import { planInformedLeaderTransfers } from "./balance-leader.js";
import { planBalanceRegion } from "./balance-region.js";
import { planLeaderTransfer } from "./leader-transfer.js";
import type { Operator, OperatorPlan } from "./operator.js";
import { type ControllerView, OperatorController } from "./operator-controller.js";
import type { StepTimeouts } from "./operator-step.js";
import { MIB, type RegionStats, RegionStatsIndex } from "./region-stats.js";
import { checkReplicas, replicaHealth } from "./replica-checker.js";
import { DEFAULT_SCHEDULE_POLICY, type SchedulePolicy, type SchedulingContext } from "./scheduling-context.js";
import { StoreLimiter } from "./store-limit.js";

/** Bounds of the operators PD keeps in flight and how long their steps may take. */
export interface SchedulingLimits extends StepTimeouts {
  /**
   * Most leader transfers (balance-leader operators) in flight that involve
   * one store, as source or target. Default 4 (TiKV's `leader-schedule-limit`).
   */
  readonly maxInFlightPerStore: number;
  /** A step not seen to take effect is sent again after this long. Default 30 s. */
  readonly resendIntervalMs: number;
  /** Ended operators kept for inspection. Default 1024. */
  readonly historySize: number;
}

/** The defaults of {@link SchedulingLimits}: TiKV's step timeouts, today's transfer timeout and limit. */
export const DEFAULT_SCHEDULING_LIMITS: SchedulingLimits = Object.freeze({
  transferTimeoutMs: 30_000,
  maxInFlightPerStore: 4,
  addPeerTimeoutMs: 10 * 60_000,
  addPeerTimeoutPerMiBMs: 6_000,
  fastStepTimeoutMs: 60_000,
  resendIntervalMs: 30_000,
  historySize: 1024,
});

/**
 * Checks limits: every duration positive and finite, the per-store limit
 * and the history size positive integers.
 *
 * @throws RangeError naming the bad value.
 */
export function checkSchedulingLimits(l: SchedulingLimits): SchedulingLimits {
  for (const key of ["transferTimeoutMs", "addPeerTimeoutMs", "addPeerTimeoutPerMiBMs", "fastStepTimeoutMs", "resendIntervalMs"] as const) {
    if (!(Number.isFinite(l[key]) && l[key] > 0)) throw new RangeError(`operators: ${key} must be a positive number, got ${l[key]}`);
  }
  for (const key of ["maxInFlightPerStore", "historySize"] as const) {
    if (!(Number.isInteger(l[key]) && l[key] > 0)) throw new RangeError(`operators: ${key} must be a positive integer, got ${l[key]}`);
  }
  return l;
}

/** Options of {@link Scheduling}. */
export interface SchedulingOptions {
  readonly stores: StoreRegistry;
  readonly regions: RegionCatalog;
  readonly liveness: LivenessThresholds;
  readonly limits: SchedulingLimits;
  readonly policy: SchedulePolicy;
  readonly config: SchedulingConfig;
  readonly monoMs: () => number;
  readonly nowMs: () => number;
  /** A peer id from PD's allocator, or undefined when one cannot be had without waiting. */
  readonly allocPeerId: () => bigint | undefined;
  /**
   * The clock {@link Scheduling.cost} measures with, in ms; observation only,
   * never a decision input. Default `performance.now` (elapsed time); a
   * simulator sharing a busy machine passes its process's CPU time.
   */
  readonly costClock?: () => number;
  /**
   * Runs a task of the background restore later (see {@link Scheduling.restore}).
   * Default `setImmediate`: other work (requests) runs between two batches.
   */
  readonly defer?: (task: () => void) => void;
}

/** Cost of the scheduling work done on store heartbeats, measured with the cost clock. */
export interface SchedulingCost {
  readonly storeHeartbeats: number;
  /** Total and worst milliseconds spent scheduling in one store heartbeat (planning and dispatch). */
  readonly totalMs: number;
  readonly maxMs: number;
}

const CHECKER: SchedulerName = "replica-checker";
const BALANCE_REGION: SchedulerName = "balance-region-scheduler";
const BALANCE_LEADER: SchedulerName = "balance-leader-scheduler";

/**
 * PD's scheduling, driven by heartbeats: the replica checker (repair
 * first), balance-region and balance-leader, planning operators that the
 * {@link OperatorController} hands to stores on their heartbeats.
 *
 * Pure and deterministic given its inputs and clocks. Only the leader has
 * one (a {@link Cluster} exists per term), so only the leader schedules, and
 * a new leader starts with no operators and rebuilds what it knows of
 * regions from their heartbeats.
 *
 * Cost per store heartbeat does not grow with the number of regions: the
 * index is updated per region heartbeat; on a store heartbeat the checker
 * takes at most `checkBatch` regions from its queue (regions that a
 * heartbeat, a store going down or coming back, or the patrol found in need
 * of repair), the patrol classifies `patrolBatch` regions in key order, the
 * schedulers try at most `scanLimit` regions per store; every store is
 * looked at once (liveness changes, scores).
 *
 * A new model indexes the catalog it starts from in batches
 * ({@link Scheduling.restore}); until that is done it balances nothing.
 *
 * NoKV's Go stores list no capabilities and report no leaders: for them
 * nothing but leader transfers is planned, by PD's original planner, with
 * its original rules ({@link OperatorController}'s legacy transfers).
 */
export class Scheduling implements SchedulingContext {
  readonly index = new RegionStatsIndex();
  readonly operators: OperatorController;
  readonly limiter: StoreLimiter;
  readonly policy: SchedulePolicy;
  readonly limits: SchedulingLimits;
  readonly #o: SchedulingOptions;
  #config: SchedulingConfig;
  readonly #startMonoMs: number;
  readonly #caps = new Map<bigint, ReadonlySet<ExecutableOperationKind> | undefined>();
  readonly #lastState = new Map<bigint, KnownLiveness>();
  readonly #queue = new Set<bigint>();
  readonly #underReplicated = new Set<bigint>();
  readonly #regionCursor = new Map<bigint, number>();
  readonly #balanceMoves = new Map<bigint, number>();
  readonly #leaderCursor = new Map<bigint, number>();
  #patrolKey: Uint8Array = new Uint8Array();
  #storeIds: bigint[] | undefined;
  #storeIdSet: ReadonlySet<bigint> = new Set();
  #cost = { storeHeartbeats: 0, totalMs: 0, maxMs: 0 };
  readonly #view: ControllerView;
  /** Where the background restore resumes (key order); undefined once the catalog is indexed. */
  #restoreKey: Uint8Array | undefined;
  #restoreDone: Promise<void> = Promise.resolve();

  constructor(options: SchedulingOptions) {
    this.#o = options;
    this.#config = options.config;
    this.policy = options.policy;
    this.limits = checkSchedulingLimits(options.limits);
    this.#startMonoMs = options.monoMs();
    this.limiter = new StoreLimiter((storeId, type) => {
      const l = storeLimitOf(this.#config, storeId);
      return type === "add-peer" ? l.addPeerPerMin : l.removePeerPerMin;
    }, options.monoMs);
    this.operators = new OperatorController({
      timeouts: this.limits,
      resendIntervalMs: this.limits.resendIntervalMs,
      historySize: this.limits.historySize,
      monoMs: options.monoMs,
      nowMs: options.nowMs,
      onEnd: (op) => this.#onOperatorEnd(op),
    });
    this.#view = {
      stats: (id) => this.index.get(id),
      region: (id) => this.#o.regions.getRegion(id),
      isUp: (id) => this.#registryUp(id),
      isPeerLive: this.isPeerLive,
    };
  }

  // --- SchedulingContext ---------------------------------------------------

  get config(): SchedulingConfig {
    return this.#config;
  }

  storeIds(): readonly bigint[] {
    if (this.#storeIds === undefined) {
      const ids = new Set<bigint>(this.#o.stores.list().map((s) => s.storeId));
      for (const id of this.index.storeIds()) ids.add(id);
      this.#storeIds = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      this.#storeIdSet = ids;
    }
    return this.#storeIds;
  }

  storeState(storeId: bigint): KnownLiveness {
    const s = this.#o.stores.get(storeId);
    return storeLiveness(s?.lastHeartbeatMonoMs ?? this.#startMonoMs, this.#o.monoMs(), this.#o.liveness);
  }

  isUp(storeId: bigint): boolean {
    return this.#o.stores.get(storeId) !== undefined && this.storeState(storeId) === "up";
  }

  canExecute(storeId: bigint, kind: ExecutableOperationKind): boolean {
    return this.#caps.get(storeId)?.has(kind) === true;
  }

  canHost(storeId: bigint): boolean {
    if (!this.isUp(storeId)) return false;
    if (!this.canExecute(storeId, "add-learner") && !this.canExecute(storeId, "add-peer")) return false;
    const used = this.usedRatio(storeId);
    return used === undefined || used < this.policy.lowSpaceRatio;
  }

  effectiveAvailable(storeId: bigint): bigint {
    const s = this.#o.stores.get(storeId);
    const incoming = this.operators.pendingWeightDelta(storeId);
    const avail = (s?.available ?? 0n) - (incoming > 0 ? BigInt(Math.ceil(incoming)) * MIB : 0n);
    return avail < 0n ? 0n : avail;
  }

  usedRatio(storeId: bigint): number | undefined {
    const s = this.#o.stores.get(storeId);
    if (s === undefined || s.capacity === 0n) return undefined;
    const used = s.usedSize ?? (s.capacity > s.available ? s.capacity - s.available : 0n);
    return Number(used) / Number(s.capacity);
  }

  leaderCount(storeId: bigint): number {
    if (this.#caps.get(storeId) !== undefined) return this.index.leaderCount(storeId);
    return Number(this.#o.stores.get(storeId)?.leaderNum ?? 0n);
  }

  readonly isPeerLive = (stats: RegionStats, storeId: bigint, peerId: bigint): boolean =>
    this.isUp(storeId) && !stats.pending.has(peerId) && !stats.down.has(peerId);

  isPeerDead(stats: RegionStats, storeId: bigint, peerId: bigint): boolean {
    if (this.storeState(storeId) === "down") return true;
    const downSec = stats.down.get(peerId);
    return downSec !== undefined && Number(downSec) * 1000 >= this.#o.liveness.downAfterMs;
  }

  allocPeerId(): bigint | undefined {
    return this.#o.allocPeerId();
  }

  balanceMovesOf(regionId: bigint): number {
    return this.#balanceMoves.get(regionId) ?? 0;
  }

  // --- inputs ---------------------------------------------------------------

  /**
   * Indexes the regions the catalog holds when this model starts (restored
   * from storage, or a warm follower's copy): their peers are known, their
   * leaders and sizes not until they heartbeat. Up to `policy.restoreBatch`
   * regions are indexed at once; a larger catalog is indexed in batches of
   * that many in key order, each a task of its own (`defer`), so that a new
   * leader at a million regions serves at once instead of after seconds of
   * indexing. A region that a heartbeat indexed or that was removed
   * meanwhile is left as that made it. Until the catalog is indexed
   * ({@link restoring}) balance-region and balance-leader plan nothing and
   * the patrol waits (their scores would be partial); repair of regions
   * whose heartbeats report a problem goes on.
   */
  restore(): void {
    this.#restoreKey = new Uint8Array();
    this.#restoreBatch();
    if (this.#restoreKey === undefined) return;
    const defer = this.#o.defer ?? ((task: () => void) => void setImmediate(task));
    this.#restoreDone = new Promise<void>((resolve) => {
      const step = (): void => {
        this.#restoreBatch();
        if (this.#restoreKey === undefined) resolve();
        else defer(step);
      };
      defer(step);
    });
  }

  /** True while the catalog this model started from is still being indexed (see {@link restore}). */
  get restoring(): boolean {
    return this.#restoreKey !== undefined;
  }

  /** Resolves once the catalog this model started from is indexed. */
  whenRestored(): Promise<void> {
    return this.#restoreDone;
  }

  #restoreBatch(): void {
    const from = this.#restoreKey;
    if (from === undefined) return;
    const page = this.#o.regions.page(from, this.policy.restoreBatch);
    for (const r of page.regions) if (this.index.get(r.id) === undefined) this.index.put(r, undefined);
    this.#restoreKey = page.nextStartKey;
    this.#storeIds = undefined;
  }

  /**
   * A store heartbeat (already recorded in the registry): advances and
   * times out operators, plans (leader transfers for this store; repair and
   * balance for the cluster) and returns the operations for this store.
   * A store without capabilities gets what PD's original planner gives it,
   * and nothing else.
   */
  onStoreHeartbeat(hb: StoreHeartbeat): SchedulerOperation[] {
    const clock = this.#o.costClock ?? (() => performance.now());
    const t0 = clock();
    const storeId = hb.storeId;
    const caps = hb.capabilities === undefined ? undefined : new Set(hb.capabilities);
    const before = this.#caps.get(storeId);
    const changed = !this.#caps.has(storeId) || !sameKinds(before, caps);
    if (changed) this.#storeIds = undefined;
    this.#caps.set(storeId, caps);
    // What the store can execute decides which of its regions the checker can act on: look again, once.
    if (changed) this.#classifyLedBy(storeId);
    this.operators.observeLeaderCount(storeId, hb.leaderNum);
    this.operators.sweep(this.#view);
    const out: SchedulerOperation[] = [];
    if (caps === undefined) {
      const legacy = this.#legacyBalanceLeader(storeId);
      if (legacy !== undefined) out.push(legacy);
    }
    this.#schedule(storeId, caps);
    if (caps !== undefined) out.push(...this.operators.dispatch(storeId, caps, this.#view));
    const ms = clock() - t0;
    this.#cost.storeHeartbeats++;
    this.#cost.totalMs += ms;
    if (ms > this.#cost.maxMs) this.#cost.maxMs = ms;
    return out;
  }

  /** An accepted region heartbeat, once the catalog holds `region`. */
  onRegionHeartbeat(region: Region, extras: RegionHeartbeatExtras | undefined): void {
    const stats = this.index.put(region, extras);
    if (this.#storeIds !== undefined && region.peers.some((p) => !this.#storeIdSet.has(p.storeId))) this.#storeIds = undefined;
    this.operators.onRegionHeartbeat(stats);
    this.#classify(stats);
  }

  /** A region left the catalog (removed, or replaced by a split or merge result). */
  onRegionRemoved(regionId: bigint): void {
    this.operators.forgetRegion(regionId);
    this.index.remove(regionId);
    this.#queue.delete(regionId);
    this.#underReplicated.delete(regionId);
    this.#balanceMoves.delete(regionId);
  }

  /** Applies a configuration made durable by the caller. A changed `max-replicas` re-classifies every region once. */
  applyConfig(config: SchedulingConfig): void {
    const reclassify = config.maxReplicas !== this.#config.maxReplicas;
    this.#config = config;
    if (!reclassify) return;
    this.#o.regions.forEach((r) => {
      const s = this.index.get(r.id);
      if (s !== undefined) this.#classify(s);
    });
  }

  // --- inspection -----------------------------------------------------------

  /** The schedulers and checkers, and whether each is paused. */
  schedulers(): SchedulerInfo[] {
    return SCHEDULER_NAMES.map((name) => ({ name, paused: this.#config.pausedSchedulers.includes(name) }));
  }

  /**
   * The store that leads the region as far as PD knows: what the region's
   * last heartbeat named (stores that report leaders), else the target of a
   * leader transfer seen complete while the epoch held (NoKV's Go stores);
   * undefined when PD does not know.
   */
  leaderStoreOf(region: Region): bigint | undefined {
    const stats = this.index.get(region.id);
    const e = stats?.region.epoch;
    if (stats?.leaderStoreId !== undefined && e!.version === region.epoch.version && e!.confVersion === region.epoch.confVersion) {
      return stats.leaderStoreId;
    }
    return this.operators.knownLeaderStore(region);
  }

  /** Operators in flight, oldest first. */
  listOperators(): OperatorInfo[] {
    const now = this.#o.monoMs();
    return this.operators.list().map((op) => op.info(now));
  }

  /** Regions with fewer healthy voters than `max-replicas`, as last classified. */
  get underReplicatedRegions(): number {
    return this.#underReplicated.size;
  }

  /** Regions waiting in the replica checker's queue. */
  get pendingChecks(): number {
    return this.#queue.size;
  }

  /** Cost of scheduling on store heartbeats since start-up. */
  cost(): SchedulingCost {
    return { ...this.#cost };
  }

  // --- internals ----------------------------------------------------------

  #paused(name: SchedulerName): boolean {
    return this.#config.pausedSchedulers.includes(name);
  }

  #registryUp(storeId: bigint): boolean {
    const s = this.#o.stores.get(storeId);
    return s !== undefined && storeLiveness(s.lastHeartbeatMonoMs, this.#o.monoMs(), this.#o.liveness) === "up";
  }

  /** PD's original leader-transfer planning for a store without capabilities, on operators. */
  #legacyBalanceLeader(storeId: bigint): SchedulerOperation | undefined {
    if (this.#paused(BALANCE_LEADER)) return undefined;
    const ops = this.operators;
    const max = this.limits.maxInFlightPerStore;
    if (ops.transfersInFlight(storeId) >= max) return undefined;
    const candidates: StoreStats[] = [];
    for (const s of this.#o.stores.list()) {
      if (!this.#registryUp(s.storeId) || ops.transfersInFlight(s.storeId) >= max) continue;
      const delta = BigInt(ops.pendingLeaderDelta(s.storeId));
      if (delta === 0n) candidates.push(s);
      else {
        const leaderNum = s.leaderNum + delta;
        candidates.push({ ...s, leaderNum: leaderNum < 0n ? 0n : leaderNum });
      }
    }
    const op = planLeaderTransfer(candidates, this.#o.regions.regions(), storeId, {
      skipRegion: (id) => ops.has(id),
      knownLeaderStore: (r) => ops.knownLeaderStore(r),
    });
    if (op === undefined) return undefined;
    const region = this.#o.regions.getRegion(op.regionId)!;
    const target = region.peers.find((p) => p.peerId === op.targetPeerId)!;
    ops.add(
      region,
      {
        kind: "balance-leader",
        priority: "normal",
        steps: [{ type: "transfer-leader", fromStoreId: storeId, fromPeerId: op.sourcePeerId, toStoreId: target.storeId, toPeerId: op.targetPeerId }],
      },
      { legacy: true, executorStoreId: storeId },
    );
    return { kind: "leader-transfer", regionId: op.regionId, sourcePeerId: op.sourcePeerId, targetPeerId: op.targetPeerId };
  }

  /** One scheduling pass: store changes, repair, patrol, then balance. */
  #schedule(storeId: bigint, caps: ReadonlySet<ExecutableOperationKind> | undefined): void {
    this.#noteStoreChanges();
    const create = (stats: RegionStats, plan: OperatorPlan): boolean =>
      this.operators.add(stats, plan, { executorStoreId: stats.leaderStoreId }) !== undefined;
    const restoring = this.restoring;
    if (!restoring) this.#patrol();
    if (!this.#paused(CHECKER)) this.#runChecker(create);
    // Scores from a partial index would be wrong: no balance until the catalog is indexed.
    if (restoring) return;
    // Repair before balance: no balance while repairs are in flight or waiting.
    const repairing = this.#queue.size > 0 || this.operators.list().some((op) => op.priority === "high");
    if (!repairing && !this.#paused(BALANCE_REGION)) planBalanceRegion(this, this.#regionCursor, create);
    if (caps !== undefined && !this.#paused(BALANCE_LEADER)) {
      planInformedLeaderTransfers(storeId, this, this.limits.maxInFlightPerStore, this.#leaderCursor, create);
    }
  }

  /** Re-classifies the regions of every store whose liveness crossed the down threshold (once per change). */
  #noteStoreChanges(): void {
    for (const id of this.storeIds()) {
      const now = this.storeState(id);
      const before = this.#lastState.get(id);
      this.#lastState.set(id, now);
      if (before === undefined || (before === "down") === (now === "down")) continue;
      const regions = this.index.peerRegions(id);
      if (regions === undefined) continue;
      for (let i = 0; i < regions.size; i++) {
        const s = this.index.get(regions.at(i)!);
        if (s !== undefined) this.#classify(s);
      }
    }
  }

  #classifyLedBy(storeId: bigint): void {
    const led = this.index.leaderRegions(storeId);
    if (led === undefined) return;
    for (let i = 0; i < led.size; i++) {
      const s = this.index.get(led.at(i)!);
      if (s !== undefined) this.#classify(s);
    }
  }

  /** Updates the under-replicated set and queues the region for the checker when it needs repair. */
  #classify(stats: RegionStats): void {
    const id = stats.region.id;
    if (stats.duplicatePeers) {
      this.#underReplicated.delete(id);
      this.#queue.delete(id);
      return;
    }
    const h = replicaHealth(stats, this);
    if (h.underReplicated) this.#underReplicated.add(id);
    else this.#underReplicated.delete(id);
    if (h.needsRepair && !this.operators.has(id) && checkableNow(stats, this)) this.#queue.add(id);
    else this.#queue.delete(id);
  }

  #runChecker(create: (stats: RegionStats, plan: OperatorPlan) => boolean): void {
    let n = 0;
    for (const id of this.#queue) {
      if (n++ >= this.policy.checkBatch) break;
      const stats = this.index.get(id);
      if (stats === undefined || this.operators.has(id)) {
        this.#queue.delete(id);
        continue;
      }
      const out = checkReplicas(stats, this);
      if (out !== undefined && "plan" in out) {
        create(stats, out.plan);
        this.#queue.delete(id);
      } else if (out !== undefined && (out.deferred === "store-limit" || out.deferred === "no-peer-id")) {
        // Targets are out of tokens: the rest of the queue would fare no better now.
        break;
      } else {
        // Healthy, or nothing to do until something changes (a heartbeat or the patrol brings it back).
        this.#queue.delete(id);
      }
    }
  }

  #patrol(): void {
    const batch = this.#o.regions.scan(this.#patrolKey, this.policy.patrolBatch);
    for (const r of batch) {
      const s = this.index.get(r.id);
      if (s !== undefined) this.#classify(s);
    }
    const last = batch.at(-1);
    this.#patrolKey = last === undefined || last.endKey.length === 0 || batch.length < this.policy.patrolBatch ? new Uint8Array() : last.endKey;
  }

  #onOperatorEnd(op: Operator): void {
    if (op.kind === "balance-region" && op.state === "success") this.#balanceMoves.set(op.regionId, this.balanceMovesOf(op.regionId) + 1);
    const s = this.index.get(op.regionId);
    if (s !== undefined && !op.legacy) this.#classify(s);
  }
}

function sameKinds(a: ReadonlySet<ExecutableOperationKind> | undefined, b: ReadonlySet<ExecutableOperationKind> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const k of a) if (!b.has(k)) return false;
  return true;
}

/** Whether the checker could act on the region now (leader known and able); others wait for a heartbeat. */
function checkableNow(stats: RegionStats, ctx: SchedulingContext): boolean {
  return stats.peerStatusKnown && stats.leaderStoreId !== undefined && ctx.canExecute(stats.leaderStoreId, "remove-peer");
}

/** Re-export for the cluster's option defaults. */
export { DEFAULT_SCHEDULE_POLICY };
