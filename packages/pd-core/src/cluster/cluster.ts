import { type AllocatorState, Checkpointer, type CheckpointStore } from "../alloc/checkpoint.js";
import { IdAllocator, type Run } from "../alloc/id-allocator.js";
import { TsoAllocator } from "../alloc/tso-allocator.js";
import { type HeartbeatOutcome, RegionCatalog, type RegionLog } from "../region/catalog.js";
import { PdError } from "../errors.js";
import { largestIdIn, type Region, type StoreLiveness, type StoreStats, type StoreStatus } from "@nokv/pd-model";
import { validateRegion } from "../region/region.js";
import { type LeaderTransfer, planLeaderTransfer } from "../schedule/leader-transfer.js";
import { OperatorTracker } from "../schedule/operator-tracker.js";
import { type LivenessThresholds, storeLiveness } from "../store/liveness.js";
import { StoreRegistry } from "../store/store-registry.js";
import { type ClusterConfig, type ClusterConfigOptions, resolveClusterConfig } from "./cluster-config.js";

/** What PD restores at start-up: the region catalog and the allocator ceilings. */
export interface ClusterSnapshot {
  readonly regions: readonly Region[];
  readonly allocator: AllocatorState;
  /**
   * A catalog that already holds the durable regions (a warm follower's,
   * kept current by replaying another member's writes): the cluster serves
   * it instead of building one from `regions` (then ignored), and writes
   * through the cluster's persistence from now on. It must not be writing.
   */
  readonly catalog?: RegionCatalog;
}

/** The durability a cluster needs; pd-storage's `Store` provides it. */
export interface ClusterPersistence extends RegionLog, CheckpointStore {}

/**
 * Options of {@link createCluster}: the configuration (any subset, see
 * {@link ClusterConfigOptions}; defaults in `DEFAULT_CLUSTER_CONFIG`) plus
 * what the model runs on.
 */
export interface ClusterOptions extends ClusterConfigOptions {
  readonly persistence: ClusterPersistence;
  /** State restored from storage; empty when absent. */
  readonly snapshot?: ClusterSnapshot;
  /** Wall clock in ms: the TSO's physical time and reported heartbeat times. Default `Date.now`. */
  readonly nowMs?: () => number;
  /**
   * Monotonic clock in ms: every elapsed-time decision (store liveness,
   * transfer timeouts), which a wall-clock step must not move. Default
   * `performance.now`.
   */
  readonly monotonicMs?: () => number;
  /** Receives failures of background ceiling refills (a caller that needs the write retries it). */
  readonly onBackgroundError?: (err: unknown) => void;
}

/**
 * The PD cluster model: region catalog, store registry, id and timestamp
 * allocators and the leader-transfer planner, wired to a persistence layer.
 * Knows nothing of gRPC or files.
 */
export class Cluster {
  readonly regions: RegionCatalog;
  readonly stores: StoreRegistry;
  readonly ids: IdAllocator;
  readonly tso: TsoAllocator;
  readonly checkpoint: Checkpointer;
  /** Leader transfers issued and not yet seen finish. */
  readonly operators: OperatorTracker;
  readonly liveness: LivenessThresholds;
  /** The configuration this model runs with, defaults filled in. */
  readonly config: ClusterConfig;
  readonly #monoMs: () => number;

  /**
   * @throws RangeError for a bad configuration value (see
   *   {@link resolveClusterConfig}); PdError `STORAGE` when the snapshot is
   *   unusable (overlapping regions, an id checkpoint below an id in use).
   */
  constructor(options: ClusterOptions) {
    const config = resolveClusterConfig(options);
    this.config = config;
    const nowMs = options.nowMs ?? Date.now;
    const monoMs = options.monotonicMs ?? (() => performance.now());
    this.#monoMs = monoMs;
    this.liveness = config.liveness;
    this.operators = new OperatorTracker(config.operators, monoMs);
    const restored = options.snapshot?.allocator ?? { idCurrent: 0n, tsCurrent: 0n };
    const warm = options.snapshot?.catalog;
    if (warm !== undefined) {
      warm.useLog(options.persistence);
      this.regions = warm;
    } else {
      this.regions = new RegionCatalog({ log: options.persistence, nowMs });
      this.regions.restore(options.snapshot?.regions ?? []);
    }
    this.stores = new StoreRegistry(nowMs, monoMs);
    this.checkpoint = new Checkpointer(options.persistence, restored, options.onBackgroundError);
    this.ids = new IdAllocator({
      checkpoint: this.checkpoint,
      start: config.idStart,
      window: config.idWindow,
      maxCount: config.maxIdCount,
    });
    this.tso = new TsoAllocator({
      checkpoint: this.checkpoint,
      nowMs,
      start: config.tsStart,
      windowMs: config.tsoWindowMs,
      maxCount: config.maxTsoCount,
    });
    checkIdsAboveCatalog(this.regions.regions(), this.ids.next);
  }

  /**
   * Records a store heartbeat and returns the scheduling hints for that store
   * (at most one leader transfer per heartbeat).
   *
   * Only stores that are up take part, as source or target. A transfer once
   * issued is remembered by {@link Cluster.operators} until it finishes,
   * turns stale or times out: its region is not planned again meanwhile, the
   * planner counts it as already done when comparing leader counts, and no
   * store takes part in more than `maxInFlightPerStore` at once.
   *
   * @throws PdError `INVALID_ARGUMENT` for store id 0.
   */
  storeHeartbeat(stats: StoreStats): LeaderTransfer[] {
    this.stores.heartbeat(stats);
    const ops = this.operators;
    ops.observeStoreHeartbeat(stats.storeId, stats.leaderNum);
    const now = this.#monoMs();
    const isUp = (storeId: bigint): boolean => {
      const s = this.stores.get(storeId);
      return s !== undefined && storeLiveness(s.lastHeartbeatMonoMs, now, this.liveness) === "up";
    };
    ops.prune((id) => this.regions.getRegion(id), isUp);
    const max = ops.limits.maxInFlightPerStore;
    if (ops.inFlightCount(stats.storeId) >= max) return [];
    const candidates: StoreStats[] = [];
    for (const s of this.stores.list()) {
      if (!isUp(s.storeId) || ops.inFlightCount(s.storeId) >= max) continue;
      const delta = ops.pendingLeaderDelta(s.storeId);
      if (delta === 0n) candidates.push(s);
      else {
        const leaderNum = s.leaderNum + delta;
        candidates.push({ ...s, leaderNum: leaderNum < 0n ? 0n : leaderNum });
      }
    }
    const op = planLeaderTransfer(candidates, this.regions.regions(), stats.storeId, {
      skipRegion: (id) => ops.has(id),
      knownLeaderStore: (r) => ops.knownLeaderStore(r),
    });
    if (op === undefined) return [];
    const region = this.regions.getRegion(op.regionId)!;
    const target = region.peers.find((p) => p.peerId === op.targetPeerId)!;
    ops.issue(op, region, stats.storeId, target.storeId);
    return [op];
  }

  /** The liveness of a known store as of now, or undefined for a store that never sent a heartbeat. */
  storeLiveness(storeId: bigint): StoreLiveness | undefined {
    const s = this.stores.get(storeId);
    return s === undefined ? undefined : storeLiveness(s.lastHeartbeatMonoMs, this.#monoMs(), this.liveness);
  }

  /** Every known store with its liveness as of now, by ascending id. */
  storeStatuses(): StoreStatus[] {
    const now = this.#monoMs();
    return this.stores.list().map((s) => ({
      storeId: s.storeId,
      regionNum: s.regionNum,
      leaderNum: s.leaderNum,
      capacity: s.capacity,
      available: s.available,
      lastHeartbeatMs: BigInt(Math.max(0, Math.trunc(s.lastHeartbeatMs))),
      liveness: storeLiveness(s.lastHeartbeatMonoMs, now, this.liveness),
    }));
  }

  /**
   * See {@link RegionCatalog.heartbeat}. A region or peer id at or above the
   * next id to hand out (ids bootstrapped outside PD) first moves the id
   * allocator past it, durably, so that PD never hands out an id in use and
   * the id checkpoint always covers the catalog.
   */
  regionHeartbeat(region: Region): Promise<HeartbeatOutcome> {
    const top = largestIdIn(region);
    if (top < this.ids.next) return this.regions.heartbeat(region);
    try {
      // A malformed heartbeat must not move the allocator.
      validateRegion(region);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.ids.skipPast(top)!.then(() => this.regions.heartbeat(region));
  }

  /** See {@link RegionCatalog.remove}. Also forgets the region's scheduling state. */
  removeRegion(regionId: bigint): Promise<boolean> {
    return this.regions.remove(regionId).then((removed) => {
      this.operators.forgetRegion(regionId);
      return removed;
    });
  }

  /** See {@link RegionCatalog.getRegionByKey}. */
  getRegionByKey(key: Uint8Array): Region | undefined {
    return this.regions.getRegionByKey(key);
  }

  /** See {@link IdAllocator.alloc}. */
  allocId(count: bigint): Run | Promise<Run> {
    return this.ids.alloc(count);
  }

  /** See {@link TsoAllocator.alloc}. */
  allocTimestamps(count: bigint): Run | Promise<Run> {
    return this.tso.alloc(count);
  }

  /** Resolves once queued catalog writes have settled. */
  flush(): Promise<void> {
    return this.regions.flush();
  }
}

/**
 * The start-up check of the id checkpoint against the catalog: an id in use
 * at or above the next id to hand out means the checkpoint is stale or
 * damaged (every id in the catalog is kept below it while PD runs).
 *
 * @throws PdError `STORAGE` naming the region and the id, and what to do.
 */
function checkIdsAboveCatalog(regions: Iterable<Region>, next: bigint): void {
  for (const r of regions) {
    const top = largestIdIn(r);
    if (top >= next) {
      throw new PdError(
        "STORAGE",
        `id allocator would resume at ${next}, but region ${r.id} in the catalog uses id ${top}: ` +
          `the allocator checkpoint is stale or damaged, and ids could be handed out twice; ` +
          `restore the checkpoint, or start with --id-start above every id ever handed out (at least ${top + 1n})`,
      );
    }
  }
}

/** Creates a {@link Cluster}. */
export function createCluster(options: ClusterOptions): Cluster {
  return new Cluster(options);
}
