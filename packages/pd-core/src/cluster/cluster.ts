import { type AllocatorState, Checkpointer, type CheckpointStore } from "../alloc/checkpoint.js";
import { IdAllocator, type Run } from "../alloc/id-allocator.js";
import { TsoAllocator } from "../alloc/tso-allocator.js";
import { type HeartbeatOutcome, RegionCatalog, type RegionLog } from "../region/catalog.js";
import { PdError } from "../errors.js";
import {
  applySchedulingPatch,
  DEFAULT_SCHEDULING_CONFIG,
  largestIdIn,
  type Region,
  type RegionHeartbeatExtras,
  resolveSchedulerName,
  type SchedulerInfo,
  type SchedulerOperation,
  type SchedulingConfig,
  type SchedulingConfigPatch,
  schedulingConfigProblem,
  type StoreHeartbeat,
  type StoreLiveness,
  type StoreStatus,
} from "@nokv/pd-model";
import { validateRegion } from "../region/region.js";
import { Scheduling } from "../schedule/scheduling.js";
import { type LivenessThresholds, storeLiveness } from "../store/liveness.js";
import { StoreRegistry } from "../store/store-registry.js";
import { type ClusterConfig, type ClusterConfigOptions, resolveClusterConfig } from "./cluster-config.js";

/** What PD restores at start-up: the region catalog, the allocator ceilings and the scheduling configuration. */
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
  /** The scheduling configuration last made durable; the defaults when absent. */
  readonly schedulingConfig?: SchedulingConfig;
}

/**
 * Where the scheduling configuration (max-replicas, store limits, paused
 * schedulers) is made durable, so that it survives a restart and a leader
 * change. `saveSchedulingConfig` resolves only once the whole record is
 * durable; a crash leaves the old or the new record, never a torn one.
 */
export interface SchedulingConfigStore {
  saveSchedulingConfig(config: SchedulingConfig): Promise<void>;
}

/**
 * The durability a cluster needs; pd-storage's `Store` provides it. Without
 * `saveSchedulingConfig`, configuration changes live in memory only.
 */
export interface ClusterPersistence extends RegionLog, CheckpointStore, Partial<SchedulingConfigStore> {}

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
  /**
   * What `scheduling.cost()` measures with, in ms (observation only, never a
   * decision input). Default `performance.now`.
   */
  readonly costClock?: () => number;
  /**
   * Runs a later batch of indexing a large restored catalog for scheduling
   * (see `Scheduling.restore`). Default `setImmediate`.
   */
  readonly defer?: (task: () => void) => void;
}

/**
 * The PD cluster model: region catalog, store registry, id and timestamp
 * allocators and scheduling, wired to a persistence layer. Knows nothing of
 * gRPC or files.
 */
export class Cluster {
  readonly regions: RegionCatalog;
  readonly stores: StoreRegistry;
  readonly ids: IdAllocator;
  readonly tso: TsoAllocator;
  readonly checkpoint: Checkpointer;
  /** Operators, checkers and schedulers: what this PD (as the leader) plans and hands to stores. */
  readonly scheduling: Scheduling;
  readonly liveness: LivenessThresholds;
  /** The configuration this model runs with, defaults filled in. */
  readonly config: ClusterConfig;
  readonly #monoMs: () => number;
  readonly #persistence: ClusterPersistence;
  #configChain: Promise<unknown> = Promise.resolve();

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
    this.#persistence = options.persistence;
    this.liveness = config.liveness;
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
    const scheduling = options.snapshot?.schedulingConfig ?? DEFAULT_SCHEDULING_CONFIG;
    const problem = schedulingConfigProblem(scheduling);
    if (problem !== undefined) throw new PdError("STORAGE", `restored scheduling config: ${problem}`);
    // A new model (a restart, a new term) starts with no operators: only a
    // leader schedules, and it rebuilds what it knows of regions from heartbeats.
    this.scheduling = new Scheduling({
      stores: this.stores,
      regions: this.regions,
      liveness: this.liveness,
      limits: config.operators,
      policy: config.schedulePolicy,
      config: scheduling,
      monoMs,
      nowMs,
      allocPeerId: () => this.#allocPeerId(),
      ...(options.costClock !== undefined && { costClock: options.costClock }),
      ...(options.defer !== undefined && { defer: options.defer }),
    });
    this.scheduling.restore();
  }

  /**
   * Records a store heartbeat and returns the operations for that store.
   *
   * A store without capabilities (a NoKV Go store) gets exactly what PD gave
   * before operators existed: at most one leader transfer per heartbeat,
   * moving a leader from the most- to the least-loaded store that is up,
   * remembered until the leader counts show it done, it turns stale or times
   * out, at most `maxInFlightPerStore` per store. A store with capabilities
   * gets the current steps of the operators of the regions it leads, among
   * the kinds it listed (see {@link Scheduling}).
   *
   * @throws PdError `INVALID_ARGUMENT` for store id 0.
   */
  storeHeartbeat(hb: StoreHeartbeat): SchedulerOperation[] {
    this.stores.heartbeat(hb);
    return this.scheduling.onStoreHeartbeat(hb);
  }

  /** The scheduling configuration in force. */
  get schedulingConfig(): SchedulingConfig {
    return this.scheduling.config;
  }

  /** The schedulers and checkers, and whether each is paused. */
  schedulers(): SchedulerInfo[] {
    return this.scheduling.schedulers();
  }

  /**
   * Changes the scheduling configuration: validates the result, makes it
   * durable (when the persistence can), then applies it. Changes are applied
   * one at a time, in call order.
   *
   * @throws PdError `INVALID_ARGUMENT` naming what is wrong (nothing changes),
   *   `STORAGE` when it could not be made durable (nothing changes).
   */
  updateSchedulingConfig(patch: SchedulingConfigPatch): Promise<SchedulingConfig> {
    const run = this.#configChain.then(async () => {
      const next = applySchedulingPatch(this.scheduling.config, patch);
      if ("problem" in next) throw new PdError("INVALID_ARGUMENT", `scheduling config: ${next.problem}`);
      if (this.#persistence.saveSchedulingConfig !== undefined) {
        try {
          await this.#persistence.saveSchedulingConfig(next.config);
        } catch (cause) {
          if (cause instanceof PdError) throw cause;
          throw new PdError("STORAGE", `scheduling config: write failed: ${(cause as Error)?.message ?? cause}`, { cause });
        }
      }
      this.scheduling.applyConfig(next.config);
      return next.config;
    });
    this.#configChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Pauses or resumes a scheduler or checker by name (full or short form), durably.
   *
   * @throws PdError `INVALID_ARGUMENT` for an unknown name; see {@link updateSchedulingConfig}.
   */
  async setSchedulerPaused(name: string, paused: boolean): Promise<SchedulerInfo> {
    const resolved = resolveSchedulerName(name);
    if (resolved === undefined) throw new PdError("INVALID_ARGUMENT", `unknown scheduler ${JSON.stringify(name)}`);
    await this.updateSchedulingConfig({ paused: new Map([[resolved, paused]]) });
    return { name: resolved, paused };
  }

  /** A peer id for a new peer, when one can be had now (without waiting for a ceiling write). */
  #allocPeerId(): bigint | undefined {
    try {
      const run = this.ids.alloc(1n);
      if (run instanceof Promise) {
        // The id is spent either way; the next plan gets one once the ceiling is durable.
        run.catch(() => undefined);
        return undefined;
      }
      return run.first;
    } catch {
      return undefined;
    }
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
      ...(s.usedSize !== undefined && { usedSize: s.usedSize }),
    }));
  }

  /**
   * See {@link RegionCatalog.heartbeat}. A region or peer id at or above the
   * next id to hand out (ids bootstrapped outside PD) first moves the id
   * allocator past it, durably, so that PD never hands out an id in use and
   * the id checkpoint always covers the catalog. Once accepted, what the
   * heartbeat says beside the region (`extras`: its leader, size, peers'
   * state) feeds scheduling.
   */
  regionHeartbeat(region: Region, extras?: RegionHeartbeatExtras): Promise<HeartbeatOutcome> {
    const top = largestIdIn(region);
    if (top < this.ids.next) return this.regions.heartbeat(region).then((o) => this.#scheduled(region.id, extras, o));
    try {
      // A malformed heartbeat must not move the allocator.
      validateRegion(region);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.ids
      .skipPast(top)!
      .then(() => this.regions.heartbeat(region))
      .then((o) => this.#scheduled(region.id, extras, o));
  }

  #scheduled(regionId: bigint, extras: RegionHeartbeatExtras | undefined, outcome: HeartbeatOutcome): HeartbeatOutcome {
    for (const id of outcome.removedRegionIds) this.scheduling.onRegionRemoved(id);
    const stored = this.regions.getRegion(regionId);
    if (stored !== undefined) this.scheduling.onRegionHeartbeat(stored, extras);
    return outcome;
  }

  /** See {@link RegionCatalog.remove}. Also forgets the region's scheduling state. */
  removeRegion(regionId: bigint): Promise<boolean> {
    return this.regions.remove(regionId).then((removed) => {
      this.scheduling.onRegionRemoved(regionId);
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
