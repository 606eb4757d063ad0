import type { Region, RegionEpoch } from "@nokv/pd-model";
import { hasDuplicatePeers } from "../region/region.js";
import type { LeaderTransfer } from "../schedule/leader-transfer.js";

// PD's leader-transfer bookkeeping as it was before operators (commit
// cf8d4f7), kept verbatim and out of the build: the reference that
// legacy-equivalence.test.ts drives beside today's scheduling to prove that
// stores without capabilities see exactly what they saw then.

/** Bounds of the leader-transfer operators PD keeps in flight. */
export interface OperatorLimits {
  /**
   * How long an issued transfer counts as in flight without evidence that it
   * finished; then it expires and the planner may issue it again. Default
   * 30 s (three store-heartbeat rounds at NoKV's usual 10 s).
   */
  readonly transferTimeoutMs: number;
  /**
   * Most transfers in flight that involve one store, as source or target.
   * Default 4 (TiKV's `leader-schedule-limit`).
   */
  readonly maxInFlightPerStore: number;
}

/** The defaults of {@link OperatorLimits}. */
export const DEFAULT_OPERATOR_LIMITS: OperatorLimits = Object.freeze({
  transferTimeoutMs: 30_000,
  maxInFlightPerStore: 4,
});

/**
 * Checks limits: a positive finite timeout, a positive integer per-store limit.
 *
 * @throws RangeError naming the bad value.
 */
export function checkOperatorLimits(l: OperatorLimits): OperatorLimits {
  if (!(Number.isFinite(l.transferTimeoutMs) && l.transferTimeoutMs > 0)) {
    throw new RangeError(`operators: transferTimeoutMs must be a positive number, got ${l.transferTimeoutMs}`);
  }
  if (!(Number.isInteger(l.maxInFlightPerStore) && l.maxInFlightPerStore > 0)) {
    throw new RangeError(`operators: maxInFlightPerStore must be a positive integer, got ${l.maxInFlightPerStore}`);
  }
  return l;
}

/** A leader transfer PD has handed to a store and not yet seen finish. */
export interface InFlightTransfer {
  readonly op: LeaderTransfer;
  readonly sourceStoreId: bigint;
  readonly targetStoreId: bigint;
  /** The region's epoch when the hint was issued. */
  readonly epoch: RegionEpoch;
  /** Wall-clock ms of issue. */
  readonly issuedAtMs: number;
}

/** How in-flight transfers ended, since start-up. */
export interface OperatorCounters {
  readonly issued: number;
  /** Finished: the leader counts moved the right way. */
  readonly completed: number;
  /** Timed out without evidence. */
  readonly expired: number;
  /** Dropped: region gone, its epoch or peers changed, or a store no longer up. */
  readonly cancelled: number;
}

/**
 * Remembers the leader transfers PD has issued until they finish, so that a
 * hint is not re-issued on every heartbeat and at most
 * {@link OperatorLimits.maxInFlightPerStore} involve one store.
 *
 * A region heartbeat does not say who leads (`RegionMeta` has no leader
 * field), so completion is inferred from what PD does see — the leader counts
 * of store heartbeats: when the source store reports `d` fewer leaders than
 * in its previous heartbeat, its `d` oldest outgoing transfers are done; when
 * the target reports `d` more, its `d` oldest incoming ones are. A transfer
 * is dropped (cancelled) when its region disappears, changes epoch, loses
 * the source or target peer (TiKV's "stale operator") or reports duplicate
 * peers, or when either store is no longer up; it expires after {@link OperatorLimits.transferTimeoutMs}.
 * Either way the planner may then plan the region again.
 *
 * State is soft (never persisted): after a restart at worst one hint is
 * repeated, which stores tolerate (a transfer to the current leader is a no-op).
 */
export class OperatorTracker {
  readonly limits: OperatorLimits;
  readonly #nowMs: () => number;
  /** In issue order: Map iteration order is insertion order, so oldest first. */
  readonly #byRegion = new Map<bigint, InFlightTransfer>();
  readonly #lastLeaderNum = new Map<bigint, bigint>();
  /** Where completed transfers moved a leader, with the region's epoch then. */
  readonly #ledBy = new Map<bigint, { readonly storeId: bigint; readonly epoch: RegionEpoch }>();
  readonly #counters = { issued: 0, completed: 0, expired: 0, cancelled: 0 };

  constructor(limits: OperatorLimits = DEFAULT_OPERATOR_LIMITS, nowMs: () => number = Date.now) {
    this.limits = checkOperatorLimits(limits);
    this.#nowMs = nowMs;
  }

  /** Records an issued transfer of `region` (replacing one in flight for it, if any). */
  issue(op: LeaderTransfer, region: Region, sourceStoreId: bigint, targetStoreId: bigint): void {
    this.#byRegion.delete(op.regionId);
    this.#byRegion.set(op.regionId, {
      op,
      sourceStoreId,
      targetStoreId,
      epoch: region.epoch,
      issuedAtMs: this.#nowMs(),
    });
    this.#counters.issued++;
  }

  /**
   * Feeds a store heartbeat's leader count: a drop completes the store's
   * oldest outgoing transfers, a rise its oldest incoming ones (one per leader).
   */
  observeStoreHeartbeat(storeId: bigint, leaderNum: bigint): void {
    const prev = this.#lastLeaderNum.get(storeId);
    this.#lastLeaderNum.set(storeId, leaderNum);
    if (prev === undefined || prev === leaderNum) return;
    const outgoing = leaderNum < prev;
    let left = outgoing ? prev - leaderNum : leaderNum - prev;
    for (const [regionId, t] of this.#byRegion) {
      if (left === 0n) break;
      if ((outgoing ? t.sourceStoreId : t.targetStoreId) !== storeId) continue;
      this.#byRegion.delete(regionId);
      this.#ledBy.set(regionId, { storeId: t.targetStoreId, epoch: t.epoch });
      this.#counters.completed++;
      left--;
    }
  }

  /**
   * Drops transfers that can no longer finish or took too long: expired
   * after the timeout; cancelled when `getRegion` no longer has the region
   * with the epoch and both peers it was issued for, when the region now has
   * duplicate peers (PD plans nothing onto such a region), or `isUp` says a
   * store of it is not up.
   */
  prune(getRegion: (regionId: bigint) => Region | undefined, isUp: (storeId: bigint) => boolean): void {
    const now = this.#nowMs();
    for (const [regionId, t] of this.#byRegion) {
      if (now - t.issuedAtMs >= this.limits.transferTimeoutMs) {
        this.#byRegion.delete(regionId);
        this.#counters.expired++;
        continue;
      }
      const r = getRegion(regionId);
      const stale =
        r === undefined ||
        r.epoch.version !== t.epoch.version ||
        r.epoch.confVersion !== t.epoch.confVersion ||
        !r.peers.some((p) => p.peerId === t.op.sourcePeerId && p.storeId === t.sourceStoreId) ||
        !r.peers.some((p) => p.peerId === t.op.targetPeerId && p.storeId === t.targetStoreId) ||
        hasDuplicatePeers(r);
      if (stale || !isUp(t.sourceStoreId) || !isUp(t.targetStoreId)) {
        this.#byRegion.delete(regionId);
        this.#counters.cancelled++;
      }
    }
  }

  /**
   * The store a completed transfer moved the region's leadership to, while
   * the region keeps the epoch it had then; undefined when PD does not know.
   * (Elections PD does not see can move it again: a hint, not a fact.)
   */
  knownLeaderStore(region: Region): bigint | undefined {
    const led = this.#ledBy.get(region.id);
    if (led === undefined) return undefined;
    if (led.epoch.version !== region.epoch.version || led.epoch.confVersion !== region.epoch.confVersion) {
      this.#ledBy.delete(region.id);
      return undefined;
    }
    return led.storeId;
  }

  /** Forgets what is known of a removed region. */
  forgetRegion(regionId: bigint): void {
    this.#byRegion.delete(regionId);
    this.#ledBy.delete(regionId);
  }

  /** Whether a transfer of this region is in flight. */
  has(regionId: bigint): boolean {
    return this.#byRegion.has(regionId);
  }

  /** Transfers in flight that involve `storeId` as source or target. */
  inFlightCount(storeId: bigint): number {
    let n = 0;
    for (const t of this.#byRegion.values()) if (t.sourceStoreId === storeId || t.targetStoreId === storeId) n++;
    return n;
  }

  /**
   * The change in-flight transfers will make to the store's leader count:
   * incoming minus outgoing. The planner adds it to the reported count, so it
   * does not keep moving leaders off a store that is already giving some away.
   */
  pendingLeaderDelta(storeId: bigint): bigint {
    let d = 0n;
    for (const t of this.#byRegion.values()) {
      if (t.targetStoreId === storeId) d++;
      if (t.sourceStoreId === storeId) d--;
    }
    return d;
  }

  /** The transfers in flight, oldest first. */
  list(): InFlightTransfer[] {
    return [...this.#byRegion.values()];
  }

  /** Number of transfers in flight. */
  get size(): number {
    return this.#byRegion.size;
  }

  /** Counters since start-up. */
  counters(): OperatorCounters {
    return { ...this.#counters };
  }
}
