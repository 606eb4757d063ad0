import { PdError } from "../errors.js";

/** What a store reports in its heartbeat. */
export interface StoreStats {
  readonly storeId: bigint;
  readonly regionNum: bigint;
  readonly leaderNum: bigint;
  readonly capacity: bigint;
  readonly available: bigint;
}

/** A store as PD knows it: its last reported stats and when they arrived. */
export interface StoreInfo extends StoreStats {
  /** Wall-clock ms of the last heartbeat. */
  readonly lastHeartbeatMs: number;
}

/**
 * The stores that have sent heartbeats since start-up. Store state is soft:
 * it is rebuilt from heartbeats after a restart, never persisted.
 */
export class StoreRegistry {
  readonly #stores = new Map<bigint, StoreInfo>();
  readonly #nowMs: () => number;

  constructor(nowMs: () => number = Date.now) {
    this.#nowMs = nowMs;
  }

  /**
   * Records a heartbeat.
   *
   * @throws PdError `INVALID_ARGUMENT` for store id 0.
   */
  heartbeat(stats: StoreStats): StoreInfo {
    if (stats.storeId === 0n) throw new PdError("INVALID_ARGUMENT", "store id must be non-zero");
    const info: StoreInfo = {
      storeId: stats.storeId,
      regionNum: stats.regionNum,
      leaderNum: stats.leaderNum,
      capacity: stats.capacity,
      available: stats.available,
      lastHeartbeatMs: this.#nowMs(),
    };
    this.#stores.set(stats.storeId, info);
    return info;
  }

  /** The store with this id, if it has sent a heartbeat. */
  get(storeId: bigint): StoreInfo | undefined {
    return this.#stores.get(storeId);
  }

  /** Every known store, by ascending id. */
  list(): StoreInfo[] {
    return [...this.#stores.values()].sort((a, b) => (a.storeId < b.storeId ? -1 : a.storeId > b.storeId ? 1 : 0));
  }

  /** Number of known stores. */
  get size(): number {
    return this.#stores.size;
  }
}
