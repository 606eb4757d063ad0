import { type AllocatorState, Checkpointer, type CheckpointStore } from "../alloc/checkpoint.js";
import { IdAllocator, type Run } from "../alloc/id-allocator.js";
import { TsoAllocator } from "../alloc/tso-allocator.js";
import { type HeartbeatOutcome, RegionCatalog, type RegionLog } from "../region/catalog.js";
import type { Region } from "../region/region.js";
import { type LeaderTransfer, planLeaderTransfer } from "../schedule/leader-transfer.js";
import { type StoreStats, StoreRegistry } from "../store/store-registry.js";

/** What PD restores at start-up: the region catalog and the allocator ceilings. */
export interface ClusterSnapshot {
  readonly regions: readonly Region[];
  readonly allocator: AllocatorState;
}

/** The durability a cluster needs; pd-storage's `Store` provides it. */
export interface ClusterPersistence extends RegionLog, CheckpointStore {}

/** Options of {@link createCluster}. */
export interface ClusterOptions {
  readonly persistence: ClusterPersistence;
  /** State restored from storage; empty when absent. */
  readonly snapshot?: ClusterSnapshot;
  /** `--id-start`: lowest id to hand out. Default 1. */
  readonly idStart?: bigint;
  /** `--ts-start`: lowest timestamp to hand out. Default 1. */
  readonly tsStart?: bigint;
  /** Wall clock in ms. Default `Date.now`. */
  readonly nowMs?: () => number;
  /** Physical time the TSO ceiling runs ahead, in ms. Default 3000. */
  readonly tsoWindowMs?: number;
  /** Ids reserved per ceiling write. Default 1000. */
  readonly idWindow?: bigint;
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

  constructor(options: ClusterOptions) {
    const nowMs = options.nowMs ?? Date.now;
    const restored = options.snapshot?.allocator ?? { idCurrent: 0n, tsCurrent: 0n };
    this.regions = new RegionCatalog({ log: options.persistence, nowMs });
    this.regions.restore(options.snapshot?.regions ?? []);
    this.stores = new StoreRegistry(nowMs);
    this.checkpoint = new Checkpointer(options.persistence, restored, options.onBackgroundError);
    this.ids = new IdAllocator({
      checkpoint: this.checkpoint,
      ...(options.idStart !== undefined && { start: options.idStart }),
      ...(options.idWindow !== undefined && { window: options.idWindow }),
    });
    this.tso = new TsoAllocator({
      checkpoint: this.checkpoint,
      nowMs,
      ...(options.tsStart !== undefined && { start: options.tsStart }),
      ...(options.tsoWindowMs !== undefined && { windowMs: options.tsoWindowMs }),
    });
  }

  /**
   * Records a store heartbeat and returns the scheduling hints for that store
   * (at most one leader transfer).
   *
   * @throws PdError `INVALID_ARGUMENT` for store id 0.
   */
  storeHeartbeat(stats: StoreStats): LeaderTransfer[] {
    this.stores.heartbeat(stats);
    const op = planLeaderTransfer(this.stores.list(), this.regions.regions(), stats.storeId);
    return op === undefined ? [] : [op];
  }

  /** See {@link RegionCatalog.heartbeat}. */
  regionHeartbeat(region: Region): Promise<HeartbeatOutcome> {
    return this.regions.heartbeat(region);
  }

  /** See {@link RegionCatalog.remove}. */
  removeRegion(regionId: bigint): Promise<boolean> {
    return this.regions.remove(regionId);
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

/** Creates a {@link Cluster}. */
export function createCluster(options: ClusterOptions): Cluster {
  return new Cluster(options);
}
